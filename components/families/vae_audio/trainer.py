"""Training of the speech VAE on the shared loop: the negative ELBO per clip with Adam, seeded, checkpointed every
epoch, resumable to the same weights, data-parallel under train.distributed like every epoch trainer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from components import checkpoints
from components.families.vae_audio.model import CENTRE, SPREAD, AudioVAE, AudioVAEConfig
from components.training.vae_trainer import VAETrainer

FAMILY = "vae-audio"


def load_audio_vae(checkpoint: str | Path, device: str | torch.device = "cpu") -> AudioVAE:
    """The whole VAE (encoder + decoder) from a checkpoint alone: the checkpoint embeds its config."""
    state = checkpoints.load_family(checkpoint, FAMILY, device)
    vae = AudioVAE(AudioVAEConfig.model_validate(state["config"]["model"])).to(device)
    vae.load_state_dict(state["vae"])
    return vae.eval()


def as_picture(spectrograms: torch.Tensor | np.ndarray) -> np.ndarray:
    """Log-magnitudes (B, bins, frames) → (B, 1, bins, frames) in [-1, 1], low frequencies at the bottom: what the
    per-epoch grid and the evaluation's pictures draw."""
    x = torch.as_tensor(spectrograms, dtype=torch.float32)
    return ((x - CENTRE) / SPREAD).clamp(-1, 1).flip(-2).unsqueeze(1).cpu().numpy()


class AudioVAETrainer(VAETrainer):
    """The image VAE's trainer on spectrograms: minimises the negative ELBO per clip (nats), Gaussian reconstruction
    term + KL, one z per clip."""

    family = FAMILY
    units = "clips"
    picture_samples = 16  # 128×128 spectrograms: a 4×4 grid per epoch

    def to_data(self, rows: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(rows))

    def build(self, model_cfg) -> AudioVAE:
        return AudioVAE(model_cfg)

    def samples(self) -> np.ndarray:
        self.vae.eval()
        with torch.no_grad():
            out = as_picture(self.vae.decoder(self.fixed_z))
        self.vae.train()
        return out
