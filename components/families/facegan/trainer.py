"""The face GAN's trainer: the shared epoch loop with a 64×64 DCGAN, the non-saturating loss and DiffAugment on
every image the discriminator sees (real and generated, in the D and the G update alike)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from components import checkpoints
from components.families.facegan.diffaugment import diff_augment
from components.families.facegan.model import FaceDiscriminator, FaceGANConfig, FaceGenerator
from components.models.dcgan import init_weights
from components.models.tensors import to_tensor
from components.training.loop import EpochTrainer

GRID_SAMPLES = 64


def load_generator(checkpoint: str | Path, device: str | torch.device = "cpu") -> FaceGenerator:
    state = checkpoints.load_family(checkpoint, "facegan", device)
    generator = FaceGenerator(FaceGANConfig.model_validate(state["config"]["model"])).to(device)
    generator.load_state_dict(state["generator"])
    return generator.eval()


class FaceGANTrainer(EpochTrainer):
    family = "facegan"

    def __init__(
        self,
        cfg,
        images_uint8: np.ndarray,
        checkpoint_dir: Path,
        on_log: Callable[[dict], None] | None = None,
        on_epoch: Callable[[int, np.ndarray], None] | None = None,
    ):
        super().__init__(cfg, checkpoint_dir, on_log, on_epoch)
        if len(images_uint8) == 0:
            raise ValueError("no training faces: the train split (or train.train_subset) is empty")
        t = cfg.train
        self.data = to_tensor(images_uint8[: t.train_subset]).to(self.device)
        self.G, self.D = FaceGenerator(cfg.model).to(self.device), FaceDiscriminator(cfg.model).to(self.device)
        self.G.apply(init_weights)
        self.D.apply(init_weights)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=t.lr, betas=(t.beta1, t.beta2))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=t.lr, betas=(t.beta1, t.beta2))
        self.noise = torch.Generator(device=self.device).manual_seed(cfg.seed + 1)
        self.augment_rng = torch.Generator(device=self.device).manual_seed(cfg.seed + 2)
        self.fixed_z = self.G.example_inputs(GRID_SAMPLES, seed=cfg.seed)[0].to(self.device)
        self.bce = nn.BCEWithLogitsLoss()
        total = min(t.epochs * self.steps_per_epoch(), t.max_steps or 1 << 62) // self.steps_per_epoch()
        # Evenly spaced snapshot epochs, the last one included.
        self.snapshot_epochs = {max(1, round(total * (k + 1) / t.snapshots)) for k in range(t.snapshots)}

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        return diff_augment(x, self.cfg.train.diffaugment, self.augment_rng)

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.opt_d, self.opt_g]

    def state(self) -> dict:
        return {
            "generator": self.G.state_dict(),
            "discriminator": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "noise_rng": self.noise.get_state(),
            "augment_rng": self.augment_rng.get_state(),
        }

    def restore(self, state: dict) -> None:
        self.G.load_state_dict(state["generator"])
        self.D.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.noise.set_state(state["noise_rng"])
        self.augment_rng.set_state(state["augment_rng"])

    def snapshot(self) -> dict | None:
        return {"generator": self.G.state_dict()} if self.epoch in self.snapshot_epochs else None

    def samples(self) -> np.ndarray:
        self.G.eval()
        with torch.no_grad():
            out = self.G(self.fixed_z).cpu().numpy()
        self.G.train()
        return out

    def train_step(self, index: int, total: int):
        real = self.data[self.batch_indices(index)]
        z = self.local(torch.randn(self.batch_size, self.G.latent_dim, generator=self.noise, device=self.device))
        fake = self.G(z)
        ones, zeros = torch.ones(len(real), device=self.device), torch.zeros(len(real), device=self.device)

        self.opt_d.zero_grad(set_to_none=True)
        d_real, d_fake = self.D(self._augment(real)), self.D(self._augment(fake.detach()))
        d_loss = self.bce(d_real, ones) + self.bce(d_fake, zeros)
        d_loss.backward()
        self.opt_d.step()

        self.opt_g.zero_grad(set_to_none=True)
        g_loss = self.bce(self.D(self._augment(fake)), ones)  # through the augmentation: it is differentiable
        g_loss.backward()
        self.opt_g.step()

        def extras() -> dict[str, float]:
            return {"d_real": torch.sigmoid(d_real).mean().item(), "d_fake": torch.sigmoid(d_fake).mean().item()}

        return {"d_loss": d_loss.item(), "g_loss": g_loss.item()}, extras
