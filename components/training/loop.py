"""The resumable training loop every trainer shares: the image trainers (GAN, conditional GAN, VAE, CycleGAN, faces)
over epochs, the language-model trainers (GPT pretraining and fine-tuning, the GPT classifier) over random batches.

The loop owns what must be the same everywhere: step counting across epochs, resume from the last checkpoint to the
same weights as an uninterrupted run, NaN/inf checks, logging cadence, progress with ETA, atomic checkpoints and the
weight snapshots kept per epoch. A trainer says what one step does, where its epochs end and what its state is.
An "epoch" is a pass over the training images for the image trainers, and the stretch of steps between two weight
snapshots for the language-model trainers, which draw a random batch every step.
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
from components.training.distributed import average_gradients, average_stats, rank_and_world
from components.training.result import TrainResult

Stats = dict[str, float]
"""Losses of one step: checked for NaN/inf, shown in the progress line, logged."""


class Trainer(ABC):
    """The loop skeleton. A subclass sets the attributes below in its __init__ and says what one step does."""

    family: ClassVar[str]
    """Written into every checkpoint: loaders check it."""
    smooth_logs: ClassVar[bool] = False
    """Log the mean of the stats since the last log point (a smoother curve) instead of the last step's."""

    config: dict
    """The whole pipeline config (JSON form): written into every checkpoint; a resume from another config fails."""
    checkpoint_dir: Path
    """Where the weight snapshots (epoch_NNN.pt) go."""
    log_every: int
    on_log: Callable[[dict], None]
    progress_name: str = "train"
    rate_key: str = "img_per_s"
    """The logged throughput's name; its unit is what units_per_step() counts."""

    epoch: int = 0
    step: int = 0
    rank: int = 0
    world: int = 1
    """This process and the number of processes of a data-parallel run (components/training/distributed.py)."""

    # ---- what a trainer says -----------------------------------------------------------------------------------

    @abstractmethod
    def epoch_ends(self) -> list[int]:
        """The step count at the end of each epoch, increasing; the last one is the run's total."""

    def is_whole(self, start: int, end: int) -> bool:
        """Whether the epoch [start, end) is complete (a step cap can cut the last one short: no snapshot of it)."""
        return True

    def start_epoch(self, epoch: int) -> None:  # noqa: B027 (an optional hook)
        """Called before the steps of each epoch, a resumed one included (e.g. draw the epoch's data order)."""

    @abstractmethod
    def train_step(self, index: int, total: int) -> tuple[Stats, Callable[[], Stats]]:
        """One optimiser step, number `index` of its epoch: (its losses, what else to log if this step is logged)."""

    @abstractmethod
    def units_per_step(self) -> int:
        """What the throughput counts (images, tokens) in one step."""

    @abstractmethod
    def optimizers(self) -> list[torch.optim.Optimizer]:
        """Every optimiser the steps use: in a data-parallel run, gradients are averaged before each one steps."""

    def local(self, batch: torch.Tensor) -> torch.Tensor:
        """This process's share of a global batch (rows along dim 0): the whole batch in a 1-process run. Draw
        indices and noise for the global batch, then take `local(...)`: every world size sees the same batch."""
        if self.world == 1:
            return batch
        share = len(batch) // self.world
        return batch[self.rank * share : (self.rank + 1) * share]

    @abstractmethod
    def state(self) -> dict:
        """Networks, optimisers and RNG states: what resuming needs besides the loop's own counters."""

    @abstractmethod
    def restore(self, state: dict) -> None: ...

    def snapshot(self) -> dict | None:
        """The weights kept at the end of a whole epoch as epoch_NNN.pt; None keeps none."""
        return None

    def end_epoch(self, epoch: int) -> None:  # noqa: B027 (an optional hook)
        """Called after the steps of epoch `epoch` (0-based), before its checkpoint (e.g. the epoch's picture)."""

    def log_fields(self, epoch: int) -> dict:
        """Fields every logged row carries besides the step, the stats and the throughput."""
        return {"epoch": epoch}

    def begin(self) -> None:  # noqa: B027 (an optional hook)
        """Called once before the first step (e.g. networks to train mode). Optimiser step pre-hooks registered
        here run after the gradients are averaged over the processes (e.g. gradient clipping)."""

    def finish(self) -> None:  # noqa: B027 (an optional hook)
        """Called once after the last step (e.g. networks to eval mode)."""

    # ---- the loop ----------------------------------------------------------------------------------------------

    @property
    def last_checkpoint(self) -> Path:
        """What a resume starts from: rewritten atomically at the end of every epoch."""
        return self.checkpoint_dir / "last.pt"

    def _header(self) -> dict:
        return {"config": self.config, "family": self.family, "epoch": self.epoch}

    def _restore(self, path: Path) -> None:
        state = checkpoints.load(path, self.device)
        if state.get("config") != self.config:
            raise ValueError(f"{path} was written by a different config; delete it or run without --resume")
        self.restore(state)
        self.epoch, self.step, self.history = state["epoch"], state["step"], state["history"]

    def fit(self, resume: bool = False) -> TrainResult:
        self.rank, self.world = rank_and_world()
        if self.world > 1:
            for optimizer in self.optimizers():
                average_gradients(optimizer, self.world)
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        self.last_checkpoint.parent.mkdir(parents=True, exist_ok=True)
        self.history = []
        if resume and self.last_checkpoint.is_file():
            self._restore(self.last_checkpoint)
        ends = self.epoch_ends()
        total = ends[-1]
        lead = self.rank == 0  # logs, pictures, progress and checkpoints: rank 0 alone
        progress = Progress(self.progress_name, total)
        progress.done = self.step
        started = time.perf_counter()
        self.begin()
        for epoch, end in enumerate(ends):
            start = ends[epoch - 1] if epoch else 0
            if self.step >= end:
                continue
            self.start_epoch(epoch)
            tick, seen, sums, count = time.perf_counter(), 0, {}, 0
            for index in range(self.step - start, end - start):
                stats, extras = self.train_step(index, total)
                self.step += 1
                seen += self.units_per_step()
                if self.world > 1:  # the whole batch's losses; every process then stops at the same NaN
                    stats = average_stats(stats, self.world)
                check_finite(self.step, **stats)  # a NaN/inf loss stops the run: nothing is saved or registered
                sums = {key: sums.get(key, 0.0) + value for key, value in stats.items()}
                count += 1
                if self.step % self.log_every == 0 or self.step == total:
                    shown = {key: value / count for key, value in sums.items()} if self.smooth_logs else stats
                    more = extras()
                    if self.world > 1:  # every process logs at the same steps: the whole batch's values
                        more = average_stats(more, self.world) if more else more
                    row = {"step": self.step, **self.log_fields(epoch), **shown, **more}
                    row[self.rate_key] = seen * self.world / max(time.perf_counter() - tick, 1e-9)
                    sums, count = {}, 0
                    self.history.append(row)
                    if lead:
                        self.on_log(row)
                if lead:
                    progress.update(1, **stats)
            whole = self.is_whole(start, end)
            self.epoch = epoch + 1 if whole else epoch  # completed epochs
            if lead:
                self.end_epoch(epoch)
            checkpoints.save(
                self.last_checkpoint, {**self._header(), "step": self.step, "history": self.history, **self.state()}
            )
            snapshot = self.snapshot() if whole else None
            if snapshot is not None:
                checkpoints.save(self.checkpoint_dir / f"epoch_{self.epoch:03d}.pt", {**self._header(), **snapshot})
        self.finish()
        return TrainResult(self.last_checkpoint, self.epoch, self.step, time.perf_counter() - started, self.history)


class EpochTrainer(Trainer):
    """A trainer that passes over a set of training images once per epoch, in an order drawn per epoch."""

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
        self.config, self.log_every = cfg.model_dump(mode="json"), cfg.train.log_every
        self.on_log, self.on_epoch = on_log or (lambda row: None), on_epoch or (lambda epoch, grid: None)
        self.device = pick_device(cfg.train.device)
        torch.set_num_threads(cfg.train.num_threads)
        torch.manual_seed(cfg.seed)  # before the subclass builds its networks: their initial weights
        self.epoch, self.step, self.history = 0, 0, []

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

    def epoch_ends(self) -> list[int]:
        per_epoch, t = self.steps_per_epoch(), self.cfg.train
        total = min(t.epochs * per_epoch, t.max_steps or 1 << 62)
        return [min(per_epoch * (e + 1), total) for e in range(-(-total // per_epoch))]

    def is_whole(self, start: int, end: int) -> bool:
        return end - start == self.steps_per_epoch()

    def units_per_step(self) -> int:
        return self.batch_size // self.world * self.images_per_step

    def batch_indices(self, index: int) -> torch.Tensor:
        """This process's share of batch `index` of the epoch's order."""
        return self.local(self.order[index * self.batch_size : (index + 1) * self.batch_size]).to(self.device)

    @abstractmethod
    def samples(self) -> np.ndarray:
        """The per-epoch picture's images, (N, C, H, W) in [-1, 1]."""

    def end_epoch(self, epoch: int) -> None:
        self.on_epoch(epoch + 1, self.samples())
