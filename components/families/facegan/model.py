"""A DCGAN at 64×64 for grey faces (Radford et al. 2016, the paper's 64×64 layout at a CPU-sized width).

The same sampling interface as every GenForge generator: forward(z) with z (B, latent_dim) → images (B, 1, 64, 64)
in [-1, 1]; the discriminator returns one logit per image.
"""

from __future__ import annotations

import torch
from pydantic import Field
from torch import nn

from components.config import Section
from components.models.latent import LatentImageGenerator


class FaceGANConfig(Section):
    latent_dim: int = Field(100, gt=0)
    g_features: int = Field(32, gt=0)
    """Generator width f: 8f channels at 4×4, halving at each doubling of the side (the paper: 64)."""
    d_features: int = Field(32, gt=0)
    """Discriminator width: f channels after the first conv, doubling at each halving (the paper: 64)."""


def _up(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)]


def _down(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2, True)]


class FaceGenerator(LatentImageGenerator):
    image_shape = (1, 64, 64)

    def __init__(self, cfg: FaceGANConfig):
        super().__init__()
        self.latent_dim, f = cfg.latent_dim, cfg.g_features
        self.net = nn.Sequential(
            nn.ConvTranspose2d(cfg.latent_dim, 8 * f, 4, 1, 0, bias=False),  # (B, 8f, 4, 4)
            nn.BatchNorm2d(8 * f),
            nn.ReLU(True),
            *_up(8 * f, 4 * f),  # 8×8
            *_up(4 * f, 2 * f),  # 16×16
            *_up(2 * f, f),  # 32×32
            nn.ConvTranspose2d(f, 1, 4, 2, 1, bias=False),  # (B, 1, 64, 64)
            nn.Tanh(),
        )


class FaceDiscriminator(nn.Module):
    def __init__(self, cfg: FaceGANConfig):
        super().__init__()
        f = cfg.d_features
        self.net = nn.Sequential(
            nn.Conv2d(1, f, 4, 2, 1, bias=False),  # 32×32 (no batch norm on the input layer, as in the paper)
            nn.LeakyReLU(0.2, True),
            *_down(f, 2 * f),  # 16×16
            *_down(2 * f, 4 * f),  # 8×8
            *_down(4 * f, 8 * f),  # 4×4
            nn.Conv2d(8 * f, 1, 4, 1, 0, bias=False),  # (B, 1, 1, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()
