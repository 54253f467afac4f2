"""Training of the speech VAE on the shared loop: the negative ELBO per clip with Adam, seeded, checkpointed every
epoch, resumable to the same weights, data-parallel under train.distributed like every epoch trainer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from components import checkpoints
from components.families.vae_audio.model import CENTRE, SPREAD, AudioVAE, AudioVAEConfig
from components.training.loop import EpochTrainer

FAMILY = "vae-audio"
PICTURE_SAMPLES = 16  # fixed prior latents behind the per-epoch spectrogram picture


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


class AudioVAETrainer(EpochTrainer):
    """Minimises the negative ELBO per clip (nats): Gaussian reconstruction term + KL, one z per clip."""

    family = FAMILY
    smooth_logs = True

    def __init__(
        self,
        cfg,
        spectrograms: np.ndarray,
        checkpoint_dir: Path,
        on_log: Callable[[dict], None] | None = None,
        on_epoch: Callable[[int, np.ndarray], None] | None = None,
    ):
        super().__init__(cfg, checkpoint_dir, on_log, on_epoch)
        if len(spectrograms) == 0:
            raise ValueError("no training clips: the train split (or train.train_subset) is empty")
        self.data = torch.from_numpy(np.ascontiguousarray(spectrograms[: cfg.train.train_subset])).to(self.device)
        self.vae = AudioVAE(cfg.model).to(self.device)
        self.opt = torch.optim.Adam(self.vae.parameters(), lr=cfg.train.lr)
        self.noise = torch.Generator(device=self.device).manual_seed(cfg.seed + 1)
        self.fixed_z = self.vae.decoder.example_inputs(PICTURE_SAMPLES, seed=cfg.seed)[0].to(self.device)

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.opt]

    def state(self) -> dict:
        return {"vae": self.vae.state_dict(), "opt": self.opt.state_dict(), "noise_rng": self.noise.get_state()}

    def restore(self, state: dict) -> None:
        self.vae.load_state_dict(state["vae"])
        self.opt.load_state_dict(state["opt"])
        self.noise.set_state(state["noise_rng"])

    def begin(self) -> None:
        self.vae.train()

    def samples(self) -> np.ndarray:
        self.vae.eval()
        with torch.no_grad():
            out = as_picture(self.vae.decoder(self.fixed_z))
        self.vae.train()
        return out

    def train_step(self, index: int, total: int):
        x = self.data[self.batch_indices(index)]
        eps = self.local(
            torch.randn(self.batch_size, self.vae.decoder.latent_dim, generator=self.noise, device=self.device)
        )
        recon, kl = self.vae.terms(x, eps=eps)
        loss = (recon + kl).mean()  # negative ELBO per clip, nats
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return {"loss": loss.item(), "recon": recon.mean().item(), "kl": kl.mean().item()}, dict
