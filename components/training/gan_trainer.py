"""Adversarial training for image generators: seeded, checkpointed every epoch, resumable to the same weights."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from components import checkpoints
from components.config import CGANPipelineConfig, DCGANPipelineConfig
from components.errors import check_finite
from components.models.cgan import CGANDiscriminator, CGANGenerator
from components.models.dcgan import DCGANDiscriminator, DCGANGenerator, init_weights
from components.progress import Progress

GRID_SAMPLES = 64  # the fixed latents behind the per-epoch sample grid


def pick_device(requested: str = "auto") -> torch.device:
    if requested == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("train.device is 'cuda' but no CUDA device is visible; use 'auto' or 'cpu'")
    return torch.device("cuda" if requested != "cpu" and torch.cuda.is_available() else "cpu")


def to_tensor(images_uint8: np.ndarray) -> torch.Tensor:
    """uint8 (N, 28, 28) → float (N, 1, 28, 28) in [-1, 1]."""
    return torch.from_numpy(images_uint8).float().div(127.5).sub(1.0).unsqueeze(1)


@dataclass
class TrainResult:
    checkpoint: Path
    epochs_done: int
    steps: int
    seconds: float
    history: list[dict] = field(default_factory=list)
    """One row per log point: step, epoch, d_loss, g_loss, d_real, d_fake, img_per_s."""


def build_gan(
    cfg: DCGANPipelineConfig | CGANPipelineConfig, classes: list[str] | None = None
) -> tuple[nn.Module, nn.Module]:
    """(generator, discriminator) of the config's family: the DCGAN, or its class-conditional twin."""
    if cfg.family == "cgan":
        return CGANGenerator(cfg.model, classes), CGANDiscriminator(cfg.model)
    return DCGANGenerator(cfg.model), DCGANDiscriminator(cfg.model)


def load_generator(checkpoint: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the generator from a checkpoint alone: the checkpoint embeds its config (and class names)."""
    state = checkpoints.load(checkpoint, device)
    config_class = CGANPipelineConfig if state.get("family") == "cgan" else DCGANPipelineConfig
    generator = build_gan(config_class.model_validate(state["config"]), state.get("classes"))[0].to(device)
    generator.load_state_dict(state["generator"])
    return generator.eval()


class GANTrainer:
    """DCGAN / cGAN training with the non-saturating loss (Goodfellow et al. 2014, as in the DCGAN paper).

    A conditional config (family cgan) needs `labels`: G and D then see each real batch's labels, and the
    fake batch is generated for the same labels.
    """

    def __init__(
        self,
        cfg: DCGANPipelineConfig | CGANPipelineConfig,
        images_uint8: np.ndarray,
        checkpoint_dir: Path,
        on_log: Callable[[dict], None] | None = None,
        on_epoch: Callable[[int, np.ndarray], None] | None = None,
        labels: np.ndarray | None = None,
        classes: list[str] | None = None,
    ):
        self.conditional = cfg.family == "cgan"
        if self.conditional and labels is None:
            raise ValueError("a conditional GAN trains on labelled images: pass labels")
        self.classes = classes
        self.cfg, self.checkpoint_dir = cfg, Path(checkpoint_dir)
        self.on_log, self.on_epoch = on_log or (lambda row: None), on_epoch or (lambda epoch, grid: None)
        self.device = pick_device(cfg.train.device)
        torch.set_num_threads(cfg.train.num_threads)
        torch.manual_seed(cfg.seed)
        self.data = to_tensor(images_uint8[: cfg.train.train_subset]).to(self.device)
        if self.conditional:
            self.labels = torch.from_numpy(labels[: cfg.train.train_subset].astype(np.int64)).to(self.device)
        G, D = build_gan(cfg, classes)
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
        self.epoch, self.step, self.history = 0, 0, []

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoint_dir / "last.pt"

    def _state(self) -> dict:
        return {
            "config": self.cfg.model_dump(mode="json"),
            "family": self.cfg.family,
            "epoch": self.epoch,
            "step": self.step,
            "generator": self.G.state_dict(),
            "discriminator": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "noise_rng": self.noise.get_state(),
            "history": self.history,
            "classes": self.classes,
        }

    def _restore(self, path: Path) -> None:
        state = checkpoints.load(path, self.device)
        if state["config"] != self.cfg.model_dump(mode="json"):
            raise ValueError(f"{path} was written by a different config; delete it or run without --resume")
        self.G.load_state_dict(state["generator"])
        self.D.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.noise.set_state(state["noise_rng"])
        self.epoch, self.step, self.history = state["epoch"], state["step"], state["history"]

    def _generate(self, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return self.G(z, y) if self.conditional else self.G(z)

    def _discriminate(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return self.D(x, y) if self.conditional else self.D(x)

    def _sample_grid(self) -> np.ndarray:
        self.G.eval()
        with torch.no_grad():
            out = self._generate(self.fixed_z, self.fixed_y if self.conditional else None).cpu().numpy()
        self.G.train()
        return out

    def fit(self, resume: bool = False) -> TrainResult:
        t = self.cfg.train
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        if resume and self.last_checkpoint.is_file():
            self._restore(self.last_checkpoint)
        n, bs = len(self.data), min(t.batch_size, len(self.data))
        steps_per_epoch = n // bs
        total = min(t.epochs * steps_per_epoch, t.max_steps or 1 << 62)
        progress = Progress("train", total)
        progress.done = self.step
        bce = nn.BCEWithLogitsLoss()
        started = time.perf_counter()
        while self.step < total:
            epoch = self.step // steps_per_epoch
            # Each epoch's order depends on (seed, epoch) only, so a resumed run sees the same batches.
            order = torch.randperm(n, generator=torch.Generator().manual_seed(self.cfg.seed * 10_007 + epoch))
            tick, seen = time.perf_counter(), 0
            for b in range(self.step % steps_per_epoch, steps_per_epoch):
                if self.step >= total:
                    break
                idx = order[b * bs : (b + 1) * bs].to(self.device)
                real = self.data[idx]
                y = self.labels[idx] if self.conditional else None
                z = torch.randn(bs, self.G.latent_dim, generator=self.noise, device=self.device)
                fake = self._generate(z, y)
                ones, zeros = torch.ones(bs, device=self.device), torch.zeros(bs, device=self.device)

                # (1) Update D: maximise log D(x) + log(1 - D(G(z)))
                self.opt_d.zero_grad(set_to_none=True)
                d_real, d_fake = self._discriminate(real, y), self._discriminate(fake.detach(), y)
                d_loss = bce(d_real, ones) + bce(d_fake, zeros)
                d_loss.backward()
                self.opt_d.step()

                # (2) Update G: maximise log D(G(z)) (the non-saturating form)
                self.opt_g.zero_grad(set_to_none=True)
                g_loss = bce(self._discriminate(fake, y), ones)
                g_loss.backward()
                self.opt_g.step()

                self.step += 1
                seen += bs
                stats = {"d_loss": d_loss.item(), "g_loss": g_loss.item()}
                check_finite(self.step, **stats)  # a NaN/inf loss stops the run: nothing is saved or registered
                if self.step % t.log_every == 0 or self.step == total:
                    row = {
                        "step": self.step,
                        "epoch": epoch,
                        **stats,
                        "d_real": torch.sigmoid(d_real).mean().item(),
                        "d_fake": torch.sigmoid(d_fake).mean().item(),
                        "img_per_s": seen / max(time.perf_counter() - tick, 1e-9),
                    }
                    self.history.append(row)
                    self.on_log(row)
                progress.update(1, **stats)
            self.epoch = self.step // steps_per_epoch  # completed epochs
            self.on_epoch(epoch + 1, self._sample_grid())
            checkpoints.save(self.last_checkpoint, self._state())
            if self.step % steps_per_epoch == 0:
                # A small generator-only snapshot per epoch: checkpoints of rising quality for the detector.
                snapshot = {
                    "config": self.cfg.model_dump(mode="json"),
                    "family": self.cfg.family,
                    "epoch": self.epoch,
                    "generator": self.G.state_dict(),
                    "classes": self.classes,
                }
                checkpoints.save(self.checkpoint_dir / f"epoch_{self.epoch:03d}.pt", snapshot)
        return TrainResult(self.last_checkpoint, self.epoch, self.step, time.perf_counter() - started, self.history)
