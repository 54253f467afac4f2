"""The sampling interface every unconditional image generator shares: z (B, latent_dim) ~ N(0, I) → images
(B, C, H, W) in [-1, 1]. Export, parity checks, evaluation and the consumer path read it from here."""

from __future__ import annotations

import torch
from torch import nn


class LatentImageGenerator(nn.Module):
    """Subclasses set `latent_dim`, `image_shape` (C, H, W) and `net` (a module taking (B, latent_dim, 1, 1))."""

    input_names = ("z",)
    output_name = "images"
    onnx_metadata: dict[str, str] = {}  # noqa: RUF012 (read-only: what the consumer reads from the graph)
    latent_dim: int
    image_shape: tuple[int, int, int]
    net: nn.Module

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])

    def example_inputs(self, batch: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
        """Seeded sampling inputs: what export, parity checks and evaluation feed the generator."""
        return (torch.randn(batch, self.latent_dim, generator=torch.Generator().manual_seed(seed)),)

    def onnx_io(self) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
        """Input and output shapes of the exported graph, -1 for the dynamic batch axis."""
        return {"z": (-1, self.latent_dim)}, {"images": (-1, *self.image_shape)}
