"""CycleGAN for 64×64 colour images (Zhu et al. 2017): a ResNet generator per direction, PatchGAN discriminators.

Sampling interface shared by every GenForge generator: forward(image) with image (B, 3, 64, 64) in [-1, 1] →
images (B, 3, 64, 64) in [-1, 1]. The exported graph is G_AB (Google → Twitter); G_BA is the family's second graph.
The discriminators return a map of patch logits (the LSGAN loss is applied by the trainer).
"""

from __future__ import annotations

import torch
from torch import nn

from components.config import CycleGANConfig

SIZE = 64


def _norm(channels: int) -> nn.Module:
    # Instance norm without affine parameters or running stats, as in the paper: it normalises each image alone,
    # so training and inference behave the same and the ONNX graph matches torch at any batch size.
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            _norm(channels),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            _norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """c7s1-k, d2k, d4k, R4k × res_blocks, u2k, uk, c7s1-3 + tanh (Johnson et al. 2016, as CycleGAN uses it).

    At 64×64 the residual blocks work on 16×16 maps with 4k channels.
    """

    input_names = ("image",)
    output_name = "images"
    onnx_metadata: dict[str, str] = {}  # noqa: RUF012 (read-only: what the consumer reads from the graph)

    def __init__(self, cfg: CycleGANConfig):
        super().__init__()
        k = cfg.g_features
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(3, k, 7), _norm(k), nn.ReLU(True)]
        for mult in (1, 2):  # (B, 2k, 32, 32), (B, 4k, 16, 16)
            layers += [nn.Conv2d(k * mult, k * mult * 2, 3, 2, 1), _norm(k * mult * 2), nn.ReLU(True)]
        layers += [ResidualBlock(4 * k) for _ in range(cfg.res_blocks)]
        for mult in (4, 2):  # (B, 2k, 32, 32), (B, k, 64, 64)
            layers += [
                nn.ConvTranspose2d(k * mult, k * mult // 2, 3, 2, 1, output_padding=1),
                _norm(k * mult // 2),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(k, 3, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image)

    def example_inputs(self, batch: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
        """Seeded images in [-1, 1]: what export and parity checks feed the generator."""
        return (torch.rand(batch, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(seed)) * 2 - 1,)

    def onnx_io(self) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
        """Input and output shapes of the exported graph, -1 for the dynamic batch axis."""
        return {"image": (-1, 3, SIZE, SIZE)}, {"images": (-1, 3, SIZE, SIZE)}


class PatchDiscriminator(nn.Module):
    """The 70×70 PatchGAN (C64-C128-C256-C512, 4×4 convs) sized for 64×64: one stride-2 layer fewer, C-2C at
    stride 2, 4C at stride 1, then a 1-channel conv → (B, 1, 14, 14) logits with a 34×34-pixel receptive field each.
    The full 70×70 stack would see the whole 64×64 image from every output (no longer a patch judge); 34/64 of the
    width is about what 70/256 is on the paper's images at the scale of one emoji feature (an eye, a mouth)."""

    def __init__(self, cfg: CycleGANConfig):
        super().__init__()
        f = cfg.d_features
        self.net = nn.Sequential(
            nn.Conv2d(3, f, 4, 2, 1),  # (B, f, 32, 32), no norm on the first layer
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(f, 2 * f, 4, 2, 1),  # (B, 2f, 16, 16)
            _norm(2 * f),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(2 * f, 4 * f, 4, 1, 1),  # (B, 4f, 15, 15)
            _norm(4 * f),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(4 * f, 1, 4, 1, 1),  # (B, 1, 14, 14)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def init_weights(module: nn.Module) -> None:
    """The CycleGAN reference init: conv weights N(0, 0.02), zero biases."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
