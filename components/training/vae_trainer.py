"""VAE training: maximise the ELBO with Adam; seeded, checkpointed every epoch, resumable to the same weights."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from components import checkpoints
from components.config import VAEPipelineConfig
from components.errors import check_finite
from components.models.vae import VAE
from components.progress import Progress
from components.training.gan_trainer import TrainResult, pick_device, to_tensor

GRID_SAMPLES = 64  # the fixed prior latents behind the per-epoch sample grid


def load_vae(checkpoint: str | Path, device: str | torch.device = "cpu") -> VAE:
    """Rebuild the whole VAE (encoder + decoder) from a checkpoint alone: the checkpoint embeds its config."""
    state = checkpoints.load(checkpoint, device)
    if state.get("family") != "vae":
        raise ValueError(f"{checkpoint} is a {state.get('family')!r} checkpoint, not a VAE's")
    cfg = VAEPipelineConfig.model_validate(state["config"])
    vae = VAE(cfg.model).to(device)
    vae.load_state_dict(state["vae"])
    return vae.eval()


class VAETrainer:
    """Minimises the negative ELBO per image (nats): reconstruction term + KL, one reparameterised z per image."""

    def __init__(
        self,
        cfg: VAEPipelineConfig,
        images_uint8: np.ndarray,
        checkpoint_dir: Path,
        on_log: Callable[[dict], None] | None = None,
        on_epoch: Callable[[int, np.ndarray], None] | None = None,
    ):
        self.cfg, self.checkpoint_dir = cfg, Path(checkpoint_dir)
        self.on_log, self.on_epoch = on_log or (lambda row: None), on_epoch or (lambda epoch, grid: None)
        self.device = pick_device(cfg.train.device)
        torch.set_num_threads(cfg.train.num_threads)
        torch.manual_seed(cfg.seed)
        if len(images_uint8) == 0:
            raise ValueError("no training images: the train split (or train.train_subset) is empty")
        self.data = to_tensor(images_uint8[: cfg.train.train_subset]).to(self.device)
        self.vae = VAE(cfg.model).to(self.device)
        self.opt = torch.optim.Adam(self.vae.parameters(), lr=cfg.train.lr)
        self.noise = torch.Generator(device=self.device).manual_seed(cfg.seed + 1)
        self.fixed_z = self.vae.decoder.example_inputs(GRID_SAMPLES, seed=cfg.seed)[0].to(self.device)
        self.epoch, self.step, self.history = 0, 0, []

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoint_dir / "last.pt"

    def _state(self) -> dict:
        return {
            "config": self.cfg.model_dump(mode="json"),
            "family": "vae",
            "epoch": self.epoch,
            "step": self.step,
            "vae": self.vae.state_dict(),
            "opt": self.opt.state_dict(),
            "noise_rng": self.noise.get_state(),
            "history": self.history,
        }

    def _restore(self, path: Path) -> None:
        state = checkpoints.load(path, self.device)
        if state["config"] != self.cfg.model_dump(mode="json"):
            raise ValueError(f"{path} was written by a different config; delete it or run without --resume")
        self.vae.load_state_dict(state["vae"])
        self.opt.load_state_dict(state["opt"])
        self.noise.set_state(state["noise_rng"])
        self.epoch, self.step, self.history = state["epoch"], state["step"], state["history"]

    def _sample_grid(self) -> np.ndarray:
        self.vae.eval()
        with torch.no_grad():
            out = self.vae.decoder(self.fixed_z).cpu().numpy()
        self.vae.train()
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
        started = time.perf_counter()
        self.vae.train()
        while self.step < total:
            epoch = self.step // steps_per_epoch
            # Each epoch's order depends on (seed, epoch) only, so a resumed run sees the same batches.
            order = torch.randperm(n, generator=torch.Generator().manual_seed(self.cfg.seed * 10_007 + epoch))
            tick, seen = time.perf_counter(), 0
            sums = {"loss": 0.0, "recon": 0.0, "kl": 0.0}
            count = 0
            for b in range(self.step % steps_per_epoch, steps_per_epoch):
                if self.step >= total:
                    break
                x = self.data[order[b * bs : (b + 1) * bs].to(self.device)]
                recon, kl = self.vae.terms(x, self.noise)
                loss = (recon + kl).mean()  # negative ELBO per image, nats
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
                self.opt.step()

                self.step += 1
                seen += bs
                stats = {"loss": loss.item(), "recon": recon.mean().item(), "kl": kl.mean().item()}
                check_finite(self.step, **stats)  # a NaN/inf loss stops the run: nothing is saved or registered
                for key, value in stats.items():
                    sums[key] += value
                count += 1
                if self.step % t.log_every == 0 or self.step == total:
                    # The mean over the steps since the last log point: a smoother curve than one batch.
                    row = {
                        "step": self.step,
                        "epoch": epoch,
                        **{key: value / count for key, value in sums.items()},
                        "img_per_s": seen / max(time.perf_counter() - tick, 1e-9),
                    }
                    sums = dict.fromkeys(sums, 0.0)
                    count = 0
                    self.history.append(row)
                    self.on_log(row)
                progress.update(1, **stats)
            self.epoch = self.step // steps_per_epoch  # completed epochs
            self.on_epoch(epoch + 1, self._sample_grid())
            checkpoints.save(self.last_checkpoint, self._state())
        return TrainResult(self.last_checkpoint, self.epoch, self.step, time.perf_counter() - started, self.history)
