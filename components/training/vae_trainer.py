"""VAE training: maximise the ELBO with Adam; seeded, checkpointed every epoch, resumable to the same weights."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from components import checkpoints
from components.config import PipelineConfig, VAEConfig
from components.models.tensors import to_tensor
from components.models.vae import VAE
from components.training.loop import EpochTrainer

GRID_SAMPLES = 64  # the fixed prior latents behind the per-epoch sample grid


def load_vae(checkpoint: str | Path, device: str | torch.device = "cpu") -> VAE:
    """Rebuild the whole VAE (encoder + decoder) from a checkpoint alone: the checkpoint embeds its config."""
    state = checkpoints.load_family(checkpoint, "vae", device)
    vae = VAE(VAEConfig.model_validate(state["config"]["model"])).to(device)
    vae.load_state_dict(state["vae"])
    return vae.eval()


class VAETrainer(EpochTrainer):
    """Minimises the negative ELBO per image (nats): reconstruction term + KL, one reparameterised z per image.
    Another VAE (the speech VAE) subclasses it with its own `to_data`, `build` and `samples`."""

    family = "vae"
    smooth_logs = True

    def __init__(
        self,
        cfg: PipelineConfig,
        images_uint8: np.ndarray,
        checkpoint_dir: Path,
        on_log: Callable[[dict], None] | None = None,
        on_epoch: Callable[[int, np.ndarray], None] | None = None,
    ):
        super().__init__(cfg, checkpoint_dir, on_log, on_epoch)
        if len(images_uint8) == 0:
            raise ValueError(f"no training {self.units}: the train split (or train.train_subset) is empty")
        self.data = self.to_data(images_uint8[: cfg.train.train_subset]).to(self.device)
        self.vae = self.build(cfg.model).to(self.device)
        self.opt = torch.optim.Adam(self.vae.parameters(), lr=cfg.train.lr)
        self.noise = torch.Generator(device=self.device).manual_seed(cfg.seed + 1)
        self.fixed_z = self.vae.decoder.example_inputs(self.picture_samples, seed=cfg.seed)[0].to(self.device)

    units = "images"
    """What a row of the training data is (for the error message of an empty split)."""
    picture_samples = GRID_SAMPLES
    """Fixed prior latents behind the per-epoch picture."""

    def to_data(self, rows: np.ndarray) -> torch.Tensor:
        """The training rows as the tensor the VAE reads: uint8 images → (N, 1, 28, 28) in [-1, 1]."""
        return to_tensor(rows)

    def build(self, model_cfg) -> torch.nn.Module:
        """The VAE to train (encoder + decoder, with `terms` and `decoder.latent_dim`)."""
        return VAE(model_cfg)

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
            out = self.vae.decoder(self.fixed_z).cpu().numpy()
        self.vae.train()
        return out

    def train_step(self, index: int, total: int):
        x = self.data[self.batch_indices(index)]
        eps = self.local(
            torch.randn(self.batch_size, self.vae.decoder.latent_dim, generator=self.noise, device=self.device)
        )
        recon, kl = self.vae.terms(x, eps=eps)
        loss = (recon + kl).mean()  # negative ELBO per image, nats
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return {"loss": loss.item(), "recon": recon.mean().item(), "kl": kl.mean().item()}, dict
