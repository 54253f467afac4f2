"""Adversarial training for image generators: seeded, checkpointed every epoch, resumable to the same weights."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from components import checkpoints
from components.config import CGANConfig, DCGANConfig, PipelineConfig
from components.models.cgan import CGANDiscriminator, CGANGenerator
from components.models.dcgan import DCGANDiscriminator, DCGANGenerator, init_weights
from components.models.tensors import to_tensor
from components.training.loop import EpochTrainer

GRID_SAMPLES = 64  # the fixed latents behind the per-epoch sample grid


def build_gan(model: DCGANConfig | CGANConfig, classes: list[str] | None = None) -> tuple[nn.Module, nn.Module]:
    """(generator, discriminator) of a `model` section: the DCGAN, or its class-conditional twin."""
    if isinstance(model, CGANConfig):
        return CGANGenerator(model, classes), CGANDiscriminator(model)
    return DCGANGenerator(model), DCGANDiscriminator(model)


def load_generator(checkpoint: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the generator from a checkpoint alone: the checkpoint embeds its config (and class names)."""
    state = checkpoints.load(checkpoint, device)
    section = CGANConfig if state.get("family") == "cgan" else DCGANConfig
    generator = build_gan(section.model_validate(state["config"]["model"]), state.get("classes"))[0].to(device)
    generator.load_state_dict(state["generator"])
    return generator.eval()


class GANTrainer(EpochTrainer):
    """DCGAN / cGAN training with the non-saturating loss (Goodfellow et al. 2014, as in the DCGAN paper).

    A conditional config (family cgan) needs `labels`: G and D then see each real batch's labels, and the
    fake batch is generated for the same labels.
    """

    def __init__(
        self,
        cfg: PipelineConfig,
        images_uint8: np.ndarray,
        checkpoint_dir: Path,
        on_log: Callable[[dict], None] | None = None,
        on_epoch: Callable[[int, np.ndarray], None] | None = None,
        labels: np.ndarray | None = None,
        classes: list[str] | None = None,
    ):
        self.conditional = isinstance(cfg.model, CGANConfig)
        if self.conditional and labels is None:
            raise ValueError("a conditional GAN trains on labelled images: pass labels")
        self.family = "cgan" if self.conditional else "dcgan"
        self.classes = classes
        super().__init__(cfg, checkpoint_dir, on_log, on_epoch)
        self.data = to_tensor(images_uint8[: cfg.train.train_subset]).to(self.device)
        if self.conditional:
            self.labels = torch.from_numpy(labels[: cfg.train.train_subset].astype(np.int64)).to(self.device)
        G, D = build_gan(cfg.model, classes)
        self.G, self.D = G.to(self.device), D.to(self.device)
        self.G.apply(init_weights)
        self.D.apply(init_weights)
        t = cfg.train
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=t.lr, betas=(t.beta1, t.beta2))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=t.lr, betas=(t.beta1, t.beta2))
        self.noise = torch.Generator(device=self.device).manual_seed(cfg.seed + 1)
        if self.conditional:  # a 10 × 10 grid: row c holds class c
            k = cfg.model.num_classes
            self.fixed_z = self.G.example_inputs(k * k, seed=cfg.seed)[0].to(self.device)
            self.fixed_y = (torch.arange(k * k) // k).to(self.device)
        else:
            self.fixed_z = self.G.example_inputs(GRID_SAMPLES, seed=cfg.seed)[0].to(self.device)
        self.bce = nn.BCEWithLogitsLoss()

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.opt_d, self.opt_g]

    def state(self) -> dict:
        return {
            "generator": self.G.state_dict(),
            "discriminator": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "noise_rng": self.noise.get_state(),
            "classes": self.classes,
        }

    def restore(self, state: dict) -> None:
        self.G.load_state_dict(state["generator"])
        self.D.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.noise.set_state(state["noise_rng"])

    def snapshot(self) -> dict:
        """A small generator-only snapshot per epoch: checkpoints of rising quality for the detector."""
        return {"generator": self.G.state_dict(), "classes": self.classes}

    def _generate(self, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return self.G(z, y) if self.conditional else self.G(z)

    def _discriminate(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return self.D(x, y) if self.conditional else self.D(x)

    def samples(self) -> np.ndarray:
        self.G.eval()
        with torch.no_grad():
            out = self._generate(self.fixed_z, self.fixed_y if self.conditional else None).cpu().numpy()
        self.G.train()
        return out

    def train_step(self, index: int, total: int):
        idx = self.batch_indices(index)
        real = self.data[idx]
        y = self.labels[idx] if self.conditional else None
        z = self.local(torch.randn(self.batch_size, self.G.latent_dim, generator=self.noise, device=self.device))
        fake = self._generate(z, y)
        ones, zeros = torch.ones(len(idx), device=self.device), torch.zeros(len(idx), device=self.device)

        # (1) Update D: maximise log D(x) + log(1 - D(G(z)))
        self.opt_d.zero_grad(set_to_none=True)
        d_real, d_fake = self._discriminate(real, y), self._discriminate(fake.detach(), y)
        d_loss = self.bce(d_real, ones) + self.bce(d_fake, zeros)
        d_loss.backward()
        self.opt_d.step()

        # (2) Update G: maximise log D(G(z)) (the non-saturating form)
        self.opt_g.zero_grad(set_to_none=True)
        g_loss = self.bce(self._discriminate(fake, y), ones)
        g_loss.backward()
        self.opt_g.step()

        def extras() -> dict[str, float]:
            return {"d_real": torch.sigmoid(d_real).mean().item(), "d_fake": torch.sigmoid(d_fake).mean().item()}

        return {"d_loss": d_loss.item(), "g_loss": g_loss.item()}, extras
