"""Variational auto-encoder for 28×28 grey images (Kingma & Welling 2014), with a discretised logistic likelihood.

Likelihood. Pixels are 8-bit grey levels v ∈ {0, …, 255}, fed to the networks as x = v / 127.5 − 1 ∈ [-1, 1]
(the same scaling as every GenForge generator). Each pixel of p(x | z) is a *discretised logistic* over the 256
levels (Salimans et al. 2017, PixelCNN++): location μ ∈ [-1, 1] and log-scale log s per pixel, both output by the
decoder; level v gets the logistic mass of the bin [x − 1/255, x + 1/255], the two edge levels (0 and 255) take
the tails. This is a proper probability over the 256^784 possible images, so −log p is in nats of *discrete*
data and bits per dimension are directly comparable with any other 8-bit model (PixelCNN, flows with
dequantisation, other VAEs) — unlike a Bernoulli on grey levels, which is not a normalised likelihood for
non-binary pixels, or a Gaussian density on [-1, 1], whose value depends on the scaling.

    bits/dim = −ELBO(x) / (784 · ln 2)   with   ELBO = E_q[log p(x | z)] − KL(q(z | x) ‖ N(0, I))

an upper bound on −log₂ p(x) / 784 for the 8-bit image x.

Sampling interface shared by every GenForge generator: `VAEDecoder.forward(z)`, z (B, latent_dim) ~ N(0, I) →
images (B, 1, 28, 28) in [-1, 1]: the location μ of each pixel's logistic (tanh-bounded). μ is that
distribution's median and mode; for the scales learnt here (a few grey levels) it is also its mean except at the
saturated edges, where the bin at 0 / 255 absorbs the tail. `VAEEncoder.forward(x)` → the posterior
(B, 2·latent_dim): the mean of q(z | x) concatenated with its log-variance.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from components.config import VAEConfig

PIXELS = 28 * 28
LOG_SCALE_MIN = -7.0  # as PixelCNN++: keeps the logistic from collapsing onto one grey level
HALF_BIN = 1.0 / 255.0  # half the width of one grey level in [-1, 1] units


def seeded_images(batch: int, seed: int) -> torch.Tensor:
    """Seeded uniform images in [-1, 1]: the encoder's export and parity inputs."""
    return torch.rand(batch, 1, 28, 28, generator=torch.Generator().manual_seed(seed)) * 2 - 1


class VAEEncoder(nn.Module):
    """x (B, 1, 28, 28) in [-1, 1] → posterior (B, 2·latent_dim) = [mean | log-variance] of q(z | x)."""

    input_names = ("images",)
    output_name = "posterior"
    onnx_metadata: dict[str, str] = {}  # noqa: RUF012 (read-only: what the consumer reads from the graph)

    def __init__(self, cfg: VAEConfig):
        super().__init__()
        self.latent_dim = cfg.latent_dim
        f = cfg.features
        self.net = nn.Sequential(
            nn.Conv2d(1, f, 4, 2, 1),  # (B, f, 14, 14)
            nn.LeakyReLU(0.2),
            nn.Conv2d(f, 2 * f, 4, 2, 1),  # (B, 2f, 7, 7)
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(2 * f * 49, 2 * cfg.latent_dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, logvar), each (B, latent_dim)."""
        mean, logvar = self(x).chunk(2, dim=1)
        return mean, logvar

    def example_inputs(self, batch: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
        return (seeded_images(batch, seed),)

    def onnx_io(self) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
        return {"images": (-1, 1, 28, 28)}, {"posterior": (-1, 2 * self.latent_dim)}


class VAEDecoder(nn.Module):
    """z (B, latent_dim) → images (B, 1, 28, 28) in [-1, 1] (the sampling graph); `params` adds the log-scales."""

    input_names = ("z",)
    output_name = "images"
    onnx_metadata: dict[str, str] = {}  # noqa: RUF012 (read-only: what the consumer reads from the graph)

    def __init__(self, cfg: VAEConfig):
        super().__init__()
        self.latent_dim = cfg.latent_dim
        f = cfg.features
        self.f = f
        self.fc = nn.Sequential(nn.Linear(cfg.latent_dim, 2 * f * 49), nn.LeakyReLU(0.2))
        self.net = nn.Sequential(
            nn.ConvTranspose2d(2 * f, f, 4, 2, 1),  # (B, f, 14, 14)
            nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(f, 2, 4, 2, 1),  # (B, 2, 28, 28): location, log-scale
        )

    def params(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-pixel (location μ in [-1, 1], log-scale ≥ LOG_SCALE_MIN), each (B, 1, 28, 28)."""
        out = self.net(self.fc(z).view(-1, 2 * self.f, 7, 7))
        return torch.tanh(out[:, :1]), out[:, 1:].clamp(min=LOG_SCALE_MIN)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.params(z)[0]

    def example_inputs(self, batch: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
        """Seeded N(0, I) latents: what export, parity checks and evaluation feed the decoder."""
        return (torch.randn(batch, self.latent_dim, generator=torch.Generator().manual_seed(seed)),)

    def onnx_io(self) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
        return {"z": (-1, self.latent_dim)}, {"images": (-1, 1, 28, 28)}


def discretised_logistic_log_prob(x: torch.Tensor, loc: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """log P(x) per pixel (nats) of 8-bit pixels x = v/127.5 − 1 under a logistic(loc, e^log_scale) discretised to
    the 256 grey levels; the edge levels take the tails (PixelCNN++, eq. 2)."""
    centred = x - loc
    inv_s = torch.exp(-log_scale)
    plus = inv_s * (centred + HALF_BIN)
    minus = inv_s * (centred - HALF_BIN)
    log_cdf_plus = plus - F.softplus(plus)  # log σ(plus): level 0 takes (-∞, −1 + 1/255]
    log_one_minus_cdf_minus = -F.softplus(minus)  # log(1 − σ(minus)): level 255 takes [1 − 1/255, ∞)
    # log(σ(plus) − σ(minus)) without cancellation, finite even far in a tail:
    # σ(a) − σ(b) = σ(a) · (1 − σ(b)) · (1 − e^(b − a))
    log_delta = log_cdf_plus + log_one_minus_cdf_minus + torch.log(-torch.expm1(minus - plus))
    upper = torch.where(x > 1 - HALF_BIN, log_one_minus_cdf_minus, log_delta)
    return torch.where(x < -1 + HALF_BIN, log_cdf_plus, upper)


class VAE(nn.Module):
    """Encoder + decoder; `loss` is the negative ELBO per image (nats) with the reparameterisation trick."""

    def __init__(self, cfg: VAEConfig):
        super().__init__()
        self.encoder = VAEEncoder(cfg)
        self.decoder = VAEDecoder(cfg)
        self.latent_dim = cfg.latent_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction from the posterior mean, in [-1, 1]."""
        return self.decoder(self.encoder.split(x)[0])

    def terms(
        self, x: torch.Tensor, noise: torch.Generator | None = None, samples: int = 1, eps: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(reconstruction term −E_q log p(x | z), KL(q ‖ p)), each (B,) in nats; E_q over `samples` draws of
        z = mean + σ·ε (the reparameterisation trick: gradients flow through mean and σ)."""
        mean, logvar = self.encoder.split(x)
        kl = 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)
        std = torch.exp(0.5 * logvar)
        recon = torch.zeros(len(x), device=x.device)
        for _ in range(samples):
            if samples > 1 or eps is None:  # `eps`, when given: the one draw (a data-parallel share of a batch's)
                eps = torch.randn(mean.shape, generator=noise, device=x.device)
            loc, log_scale = self.decoder.params(mean + std * eps)
            recon = recon - discretised_logistic_log_prob(x, loc, log_scale).flatten(1).sum(dim=1)
        return recon / samples, kl


def bits_per_dim(neg_elbo_nats: float) -> float:
    """Negative ELBO of one 28×28 image in nats → bits per pixel."""
    return neg_elbo_nats / (PIXELS * math.log(2))
