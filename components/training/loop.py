"""The resumable epoch loop every image trainer shares (GAN, conditional GAN, VAE, CycleGAN).

The loop owns what must be the same everywhere: seeded set-up, step counting across epochs, resume from last.pt
to the same weights as an uninterrupted run, NaN/inf checks, logging cadence, progress with ETA, the per-epoch
picture, atomic checkpoints and per-epoch weight snapshots. A trainer says only what one step does and what its
state is. (The language-model trainer, components/training/lm_trainer.py, samples random windows by step rather
than passing over epochs, and keeps its own short loop.)
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from components import checkpoints
from components.config import PipelineConfig
from components.errors import check_finite
from components.models.tensors import pick_device
from components.progress import Progress
from components.training.result import TrainResult

Stats = dict[str, float]
"""Losses of one step: checked for NaN/inf, shown in the progress line, logged."""


class EpochTrainer(ABC):
    family: ClassVar[str]
    """Written into every checkpoint: loaders check it."""
    smooth_logs: ClassVar[bool] = False
    """Log the mean of the stats since the last log point (a smoother curve) instead of the last step's."""
    images_per_step: ClassVar[int] = 1
    """Images one step consumes per batch element (a CycleGAN step reads one A and one B image)."""

    def __init__(
        self,
        cfg: PipelineConfig,
        checkpoint_dir: Path,
        on_log: Callable[[dict], None] | None = None,
        on_epoch: Callable[[int, np.ndarray], None] | None = None,
    ):
        self.cfg, self.checkpoint_dir = cfg, Path(checkpoint_dir)
        self.on_log, self.on_epoch = on_log or (lambda row: None), on_epoch or (lambda epoch, grid: None)
        self.device = pick_device(cfg.train.device)
        torch.set_num_threads(cfg.train.num_threads)
        torch.manual_seed(cfg.seed)  # before the subclass builds its networks: their initial weights
        self.epoch, self.step, self.history = 0, 0, []

    # ---- what a trainer says -----------------------------------------------------------------------------------

    data: torch.Tensor
    """The training images (a trainer over one set; a trainer over two, like the CycleGAN, overrides the three
    methods below)."""

    @property
    def batch_size(self) -> int:
        return min(self.cfg.train.batch_size, len(self.data))

    def steps_per_epoch(self) -> int:
        return len(self.data) // self.batch_size

    def start_epoch(self, epoch: int) -> None:
        """Draw the epoch's data order: a function of (seed, epoch) only, so a resumed run sees the same batches."""
        self.order = torch.randperm(
            len(self.data), generator=torch.Generator().manual_seed(self.cfg.seed * 10_007 + epoch)
        )

    @abstractmethod
    def train_step(self, index: int, total: int) -> tuple[Stats, Callable[[], Stats]]:
        """One optimiser step on batch `index` of the epoch: (its losses, what else to log if this step is logged)."""

    @abstractmethod
    def state(self) -> dict:
        """Networks, optimisers and RNG states: what resuming needs besides the loop's own counters."""

    @abstractmethod
    def restore(self, state: dict) -> None: ...

    @abstractmethod
    def samples(self) -> np.ndarray:
        """The per-epoch picture's images, (N, C, H, W) in [-1, 1]."""

    def snapshot(self) -> dict | None:
        """The weights kept per epoch as epoch_NNN.pt (a generator's, for the detector); None keeps none."""
        return None

    def begin(self) -> None:  # noqa: B027 (an optional hook)
        """Called once before the first step (e.g. networks to train mode)."""

    # ---- the loop ----------------------------------------------------------------------------------------------

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoint_dir / "last.pt"

    def _header(self) -> dict:
        return {"config": self.cfg.model_dump(mode="json"), "family": self.family, "epoch": self.epoch}

    def _restore(self, path: Path) -> None:
        state = checkpoints.load(path, self.device)
        if state.get("config") != self.cfg.model_dump(mode="json"):
            raise ValueError(f"{path} was written by a different config; delete it or run without --resume")
        self.restore(state)
        self.epoch, self.step, self.history = state["epoch"], state["step"], state["history"]

    def fit(self, resume: bool = False) -> TrainResult:
        t = self.cfg.train
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        if resume and self.last_checkpoint.is_file():
            self._restore(self.last_checkpoint)
        steps_per_epoch = self.steps_per_epoch()
        total = min(t.epochs * steps_per_epoch, t.max_steps or 1 << 62)
        progress = Progress("train", total)
        progress.done = self.step
        started = time.perf_counter()
        self.begin()
        while self.step < total:
            epoch = self.step // steps_per_epoch
            self.start_epoch(epoch)
            tick, seen, sums, count = time.perf_counter(), 0, {}, 0
            for index in range(self.step % steps_per_epoch, steps_per_epoch):
                if self.step >= total:
                    break
                stats, extras = self.train_step(index, total)
                self.step += 1
                seen += self.batch_size * self.images_per_step
                check_finite(self.step, **stats)  # a NaN/inf loss stops the run: nothing is saved or registered
                sums = {key: sums.get(key, 0.0) + value for key, value in stats.items()}
                count += 1
                if self.step % t.log_every == 0 or self.step == total:
                    shown = {key: value / count for key, value in sums.items()} if self.smooth_logs else stats
                    row = {"step": self.step, "epoch": epoch, **shown, **extras()}
                    row["img_per_s"] = seen / max(time.perf_counter() - tick, 1e-9)
                    sums, count = {}, 0
                    self.history.append(row)
                    self.on_log(row)
                progress.update(1, **stats)
            self.epoch = self.step // steps_per_epoch  # completed epochs
            self.on_epoch(epoch + 1, self.samples())
            checkpoints.save(
                self.last_checkpoint, {**self._header(), "step": self.step, "history": self.history, **self.state()}
            )
            snapshot = self.snapshot() if self.step % steps_per_epoch == 0 else None
            if snapshot is not None:
                checkpoints.save(self.checkpoint_dir / f"epoch_{self.epoch:03d}.pt", {**self._header(), **snapshot})
        return TrainResult(self.last_checkpoint, self.epoch, self.step, time.perf_counter() - started, self.history)
