"""DCGAN for 28×28 grey images (Radford et al. 2016, sized as the textbook Fashion-MNIST variant).

Sampling interface shared by every GenForge generator: forward(z) with z (B, latent_dim) → images (B, 1, 28, 28)
in [-1, 1]. The discriminator returns one logit per image (the BCE loss is applied by the trainer).
"""

from __future__ import annotations

import torch
from torch import nn

from components.config import DCGANConfig
from components.models.latent import LatentImageGenerator


class DCGANGenerator(LatentImageGenerator):
    image_shape = (1, 28, 28)

    def __init__(self, cfg: DCGANConfig):
        super().__init__()
        self.latent_dim = cfg.latent_dim
        f = cfg.g_features
        self.net = nn.Sequential(
            nn.ConvTranspose2d(cfg.latent_dim, 2 * f, 7, 1, 0, bias=False),  # (B, 2f, 7, 7)
            nn.BatchNorm2d(2 * f),
            nn.ReLU(True),
            nn.ConvTranspose2d(2 * f, f, 4, 2, 1, bias=False),  # (B, f, 14, 14)
            nn.BatchNorm2d(f),
            nn.ReLU(True),
            nn.ConvTranspose2d(f, 1, 4, 2, 1, bias=False),  # (B, 1, 28, 28)
            nn.Tanh(),
        )


class DCGANDiscriminator(nn.Module):
    def __init__(self, cfg: DCGANConfig):
        super().__init__()
        f = cfg.d_features
        self.net = nn.Sequential(
            nn.Conv2d(1, f, 4, 2, 1, bias=False),  # (B, f, 14, 14)
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(f, 2 * f, 4, 2, 1, bias=False),  # (B, 2f, 7, 7)
            nn.BatchNorm2d(2 * f),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(2 * f, 1, 7, 1, 0, bias=False),  # (B, 1, 1, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()  # (B,) logits


def init_weights(module: nn.Module) -> None:
    """The DCGAN paper's init: conv weights N(0, 0.02), batch-norm scale N(1, 0.02) and zero shift."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
