"""Language-model training: nanoGPT's recipe on one token stream (bench/gpt_sotu_probe.py reached 1.445 nats/char on
SOTU held-out with it, against nanoGPT's 1.830).

AdamW (decay on matrices only), linear warm-up then cosine decay to min_lr, gradient clipping, random windows of
block_size + 1 tokens drawn with a seeded generator: the same config and data give the same weights on CPU.
"""

from __future__ import annotations

import math
import tempfile
from abc import abstractmethod
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from components.config import GPTTrainConfig
from components.text.likelihood import EncodedText, nats_per_char
from components.training.loop import Stats, Trainer


def lr_at(step: int, t: GPTTrainConfig) -> float:
    if step < t.warmup_steps:
        return t.lr * (step + 1) / t.warmup_steps
    progress = (step - t.warmup_steps) / max(1, t.max_steps - t.warmup_steps)
    return t.min_lr + 0.5 * (t.lr - t.min_lr) * (1 + math.cos(math.pi * min(1.0, progress)))


def optimizer(model: nn.Module, t: GPTTrainConfig) -> torch.optim.AdamW:
    decay = [p for p in model.parameters() if p.dim() >= 2]  # matrices and embeddings
    no_decay = [p for p in model.parameters() if p.dim() < 2]  # biases and LayerNorm gains
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": t.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=t.lr,
        betas=(t.beta1, t.beta2),
    )


class LMTrainer(Trainer):
    """nanoGPT's recipe on the shared loop: AdamW, warm-up + cosine, gradient clipping, one seeded random batch per
    step; an "epoch" is the stretch between two weight snapshots (t.snapshots of them, the last after the final step).
    A subclass says how a batch is drawn and scored (batch_loss)."""

    family = "gpt"
    smooth_logs = True  # the mean loss since the last log point

    def __init__(
        self,
        model: nn.Module,
        t: GPTTrainConfig,
        seed: int,
        config: dict,
        checkpoint_dir: Path,
        on_log: Callable[[dict], None] | None = None,
        snapshot: Callable[[int], dict] | None = None,
        prefix: str = "",
        device: torch.device | str = "cpu",
    ):
        self.model, self.t, self.prefix, self.device = model.to(device), t, prefix, torch.device(device)
        self.config, self.checkpoint_dir, self.log_every = config, Path(checkpoint_dir), t.log_every
        self.on_log, self._snapshot = on_log or (lambda row: None), snapshot
        self.progress_name = f"train ({prefix.rstrip('_')})" if prefix else "train"
        self.rate_key = f"{prefix}tokens_per_s"
        self.opt = optimizer(model, t)
        self.gen = torch.Generator().manual_seed(seed)
        self.epoch, self.step, self.history = 0, 0, []

    @property
    def last_checkpoint(self) -> Path:
        """Beside the snapshots, not among them: the family writes its own last.pt when training ends."""
        return self.checkpoint_dir / "resume" / f"{self.prefix}last.pt"

    @abstractmethod
    def batch_loss(self) -> torch.Tensor:
        """Draw one batch with self.gen and return its mean loss."""

    def epoch_ends(self) -> list[int]:
        return sorted({max(1, round(self.t.max_steps * k / self.t.snapshots)) for k in range(1, self.t.snapshots + 1)})

    def log_fields(self, epoch: int) -> dict:
        return {}

    def begin(self) -> None:
        self.model.train()

        # Clip as the optimiser steps: after the loop's gradient averaging of a data-parallel run (registered
        # before begin()), so every process clips the whole batch's gradient, as one process would.
        def clip(opt, args, kwargs) -> None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.t.grad_clip)

        self.opt.register_step_pre_hook(clip)

    def finish(self) -> None:
        self.model.eval()

    def train_step(self, index: int, total: int) -> tuple[Stats, Callable[[], Stats]]:
        lr = lr_at(self.step, self.t)
        for group in self.opt.param_groups:
            group["lr"] = lr
        loss = self.batch_loss()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()  # clips first (begin())
        return {f"{self.prefix}loss": loss.item()}, lambda: {f"{self.prefix}lr": lr}

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.opt]

    def state(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.opt.state_dict(),
            "generator_rng": self.gen.get_state(),
            "torch_rng": torch.get_rng_state(),
        }

    def restore(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        self.gen.set_state(state["generator_rng"])
        torch.set_rng_state(state["torch_rng"])

    def snapshot(self) -> dict | None:
        return None if self._snapshot is None else self._snapshot(self.step)


class NextTokenTrainer(LMTrainer):
    """A language model (tokens → logits) on random windows of block_size + 1 tokens of one token stream."""

    def __init__(self, model: nn.Module, ids: np.ndarray, *args, **kwargs):
        block = model.block_size
        if len(ids) < block + 2:
            raise ValueError(
                f"the training text is {len(ids)} tokens long; block_size {block} needs at least {block + 2}"
            )
        super().__init__(model, *args, **kwargs)
        self.data = torch.from_numpy(np.asarray(ids, dtype=np.int64))
        self.offsets = torch.arange(block + 1)

    def units_per_step(self) -> int:
        return self.t.batch_size // self.world * self.model.block_size

    def batch_loss(self) -> torch.Tensor:
        ix = self.local(torch.randint(len(self.data) - len(self.offsets), (self.t.batch_size,), generator=self.gen))
        chunk = self.data[ix[:, None] + self.offsets].to(self.device)  # (B, block + 1)
        return F.cross_entropy(self.model(chunk[:, :-1]).flatten(0, 1), chunk[:, 1:].flatten())


def fit_lm(
    model: nn.Module,
    ids: np.ndarray,
    t: GPTTrainConfig,
    seed: int,
    on_log: Callable[[dict], None] | None = None,
    prefix: str = "",
    device: torch.device | str = "cpu",
) -> list[dict]:
    """Train `model` for t.max_steps steps on windows of `ids` with no checkpoints kept (tests, benchmarks); returns
    the logged rows ({step, <prefix>loss, <prefix>lr, <prefix>tokens_per_s})."""
    with tempfile.TemporaryDirectory() as tmp:
        trainer = NextTokenTrainer(model, ids, t, seed, {}, Path(tmp), on_log, prefix=prefix, device=device)
        return trainer.fit().history


def torch_logits_fn(model: nn.Module) -> Callable[[np.ndarray], np.ndarray]:
    """numpy tokens (B, T) → numpy float32 logits (B, T, V) of a torch model, without gradients, on the device the
    model is on (a GPU in an evaluation with device: auto)."""
    device = next(model.parameters()).device

    @torch.no_grad()
    def fn(x: np.ndarray) -> np.ndarray:
        return model(torch.from_numpy(np.ascontiguousarray(x)).to(device)).float().cpu().numpy()

    return fn


def held_out_nats_per_char(model: nn.Module, text: EncodedText, batch_size: int = 64) -> float:
    """Total NLL of every held-out character / the number of characters: comparable across tokenizers."""
    model.eval()
    return nats_per_char(torch_logits_fn(model), text, model.block_size, batch_size)
