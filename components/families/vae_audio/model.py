"""A VAE over log-magnitude spectrograms of 2-second speech clips (components/audio.py's features).

Why spectrograms, not the waveform: a clip is 16,256 samples but only 128 × 128 spectrogram values, whose local
structure (harmonics, formants, onsets) convolutions capture well; a waveform VAE of this size produces noise.
The price is phase: it is recovered by Griffin-Lim (components/audio.py), an established inversion that needs no
training — audible artefacts ("phasiness"), but intelligible, and torch-free at serving time.

Likelihood (declared): each log-magnitude value x_ft of the (128 bins × 128 frames) spectrogram is Gaussian,
    p(x | z) = Π_ft N(x_ft; μ_ft(z), σ_f²),
μ from the decoder, one learnt log-σ per frequency bin (clamped ≥ LOG_SCALE_MIN). The negative ELBO is in nats of
this density over the log-magnitudes (a continuous density: comparable between models of the same features, not
with waveform likelihoods), reported per second of audio (÷ audio.CLIP_SAMPLES / audio.SAMPLE_RATE).

Networks see x normalised as (x − CENTRE) / SPREAD (≈ [-1, 1] for silence … loud speech); the graphs take and
return raw log-magnitudes, so the consumer needs no constants:
    decoder  z (B, latent_dim) → spectrogram (B, 128, 128)            model.onnx
    encoder  spectrogram (B, 128, 128) → posterior (B, 2·latent_dim)  encoder.onnx: [mean | log-variance]
"""

from __future__ import annotations

import math

import torch
from pydantic import Field
from torch import nn

from components import audio
from components.config import Section

CENTRE, SPREAD = -2.0, 5.0  # log-magnitudes: silence −6.9, loud speech ≈ +4
LOG_SCALE_MIN = -5.0
INITIAL_LOG_SCALE = math.log(0.2)
SIDE = audio.BINS  # == audio.FRAMES == 128
LAYERS = 4  # stride-2 convolutions: 128 → 8


class AudioVAEConfig(Section):
    latent_dim: int = Field(32, gt=0)
    features: int = Field(32, gt=0)
    """Channels of the first convolution; doubled at each of the next layers (capped at 4×)."""


def _widths(f: int) -> list[int]:
    return [f, 2 * f, 4 * f, 4 * f]


def seeded_spectrograms(batch: int, seed: int) -> torch.Tensor:
    """Seeded log-magnitudes in the range of real ones: the encoder's export and parity inputs."""
    u = torch.rand(batch, SIDE, SIDE, generator=torch.Generator().manual_seed(seed))
    return CENTRE + SPREAD * (2 * u - 1)


class AudioEncoder(nn.Module):
    """spectrogram (B, 128, 128) → posterior (B, 2·latent_dim) = [mean | log-variance] of q(z | x)."""

    input_names = ("spectrogram",)
    output_name = "posterior"
    onnx_metadata: dict[str, str] = {}  # noqa: RUF012 (read-only)

    def __init__(self, cfg: AudioVAEConfig):
        super().__init__()
        self.latent_dim = cfg.latent_dim
        widths = _widths(cfg.features)
        layers: list[nn.Module] = []
        channels = 1
        for w in widths:  # 128 → 64 → 32 → 16 → 8
            layers += [nn.Conv2d(channels, w, 4, 2, 1), nn.LeakyReLU(0.2)]
            channels = w
        self.net = nn.Sequential(*layers, nn.Flatten(), nn.Linear(channels * 8 * 8, 2 * cfg.latent_dim))

    def forward(self, spectrogram: torch.Tensor) -> torch.Tensor:
        return self.net(((spectrogram - CENTRE) / SPREAD).unsqueeze(1))

    def split(self, spectrogram: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, logvar = self(spectrogram).chunk(2, dim=1)
        return mean, logvar

    def example_inputs(self, batch: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
        return (seeded_spectrograms(batch, seed),)

    def onnx_io(self) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
        return {"spectrogram": (-1, SIDE, SIDE)}, {"posterior": (-1, 2 * self.latent_dim)}


class AudioDecoder(nn.Module):
    """z (B, latent_dim) → log-magnitude spectrogram (B, 128, 128): the mean μ(z) (the sampling graph)."""

    input_names = ("z",)
    output_name = "spectrogram"

    def __init__(self, cfg: AudioVAEConfig):
        super().__init__()
        self.latent_dim = cfg.latent_dim
        widths = _widths(cfg.features)[::-1]
        self.top = widths[0]
        self.fc = nn.Sequential(nn.Linear(cfg.latent_dim, self.top * 8 * 8), nn.LeakyReLU(0.2))
        layers: list[nn.Module] = []
        for w_in, w_out in zip(widths, [*widths[1:], 1], strict=True):  # 8 → 16 → 32 → 64 → 128
            layers.append(nn.ConvTranspose2d(w_in, w_out, 4, 2, 1))
            if w_out != 1:
                layers.append(nn.LeakyReLU(0.2))
        self.net = nn.Sequential(*layers)
        # One log-σ per frequency bin, in normalised units; it starts at σ = 0.2 (1 nat of log-magnitude), near where
        # training takes it, rather than at 1 (5 nats): the decoder then has to fit detail from the first steps.
        self.log_scale = nn.Parameter(torch.full((SIDE, 1), INITIAL_LOG_SCALE))

    @property
    def onnx_metadata(self) -> dict[str, str]:
        """What a torch-free consumer needs to render the spectrogram as audio (components/audio.py's settings)."""
        return {
            "genforge.modality": "audio",
            "genforge.sample_rate": str(audio.SAMPLE_RATE),
            "genforge.n_fft": str(audio.N_FFT),
            "genforge.hop": str(audio.HOP),
            "genforge.log_offset": str(audio.LOG_OFFSET),
            "genforge.clip_samples": str(audio.CLIP_SAMPLES),
        }

    def normalised_mean(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.fc(z).view(-1, self.top, 8, 8)).squeeze(1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return CENTRE + SPREAD * self.normalised_mean(z)

    def example_inputs(self, batch: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
        return (torch.randn(batch, self.latent_dim, generator=torch.Generator().manual_seed(seed)),)

    def onnx_io(self) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
        return {"z": (-1, self.latent_dim)}, {"spectrogram": (-1, SIDE, SIDE)}


class AudioVAE(nn.Module):
    def __init__(self, cfg: AudioVAEConfig):
        super().__init__()
        self.encoder = AudioEncoder(cfg)
        self.decoder = AudioDecoder(cfg)

    def terms(
        self, x: torch.Tensor, noise: torch.Generator | None = None, samples: int = 1, eps: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(−E_q log p(x | z), KL(q ‖ N(0, I))), each (B,) in nats of the raw log-magnitudes; E_q over `samples`
        draws of z = mean + σ·ε."""
        mean, logvar = self.encoder.split(x)
        kl = 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)
        std = torch.exp(0.5 * logvar)
        target = (x - CENTRE) / SPREAD
        log_scale = self.decoder.log_scale.clamp(min=LOG_SCALE_MIN)  # (128, 1): per bin, normalised units
        recon = torch.zeros(len(x), device=x.device)
        for _ in range(samples):
            if samples > 1 or eps is None:
                eps = torch.randn(mean.shape, generator=noise, device=x.device)
            mu = self.decoder.normalised_mean(mean + std * eps)
            # Gaussian NLL in normalised units, + log SPREAD per value: the density of the raw log-magnitudes.
            nll = 0.5 * ((target - mu) * torch.exp(-log_scale)) ** 2 + log_scale + 0.5 * math.log(2 * math.pi)
            recon = recon + nll.flatten(1).sum(dim=1) + SIDE * SIDE * math.log(SPREAD)
        return recon / samples, kl


def nats_per_second(nats_per_clip: float) -> float:
    return nats_per_clip / (audio.CLIP_SAMPLES / audio.SAMPLE_RATE)
