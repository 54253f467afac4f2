"""Language-model training: nanoGPT's recipe on one token stream (bench/gpt_sotu_probe.py reached 1.445 nats/char on
SOTU held-out with it, against nanoGPT's 1.830).

AdamW (decay on matrices only), linear warm-up then cosine decay to min_lr, gradient clipping, random windows of
block_size + 1 tokens drawn with a seeded generator: the same config and data give the same weights on CPU.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from components.config import GPTTrainConfig
from components.errors import check_finite
from components.progress import Progress
from components.text.likelihood import EncodedText, nats_per_char


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


def fit_lm(
    model: nn.Module,
    ids: np.ndarray,
    t: GPTTrainConfig,
    seed: int,
    on_log: Callable[[dict], None] | None = None,
    on_snapshot: Callable[[int, int], None] | None = None,
    prefix: str = "",
    device: torch.device | str = "cpu",
) -> list[dict]:
    """Train `model` (tokens → logits) for t.max_steps steps on windows of `ids`; returns the logged rows
    ({step, <prefix>loss, <prefix>lr, <prefix>tokens_per_s}). on_snapshot(k, step) is called after steps
    max_steps·k/snapshots for k = 1 … snapshots (the last one after the final step)."""
    block = model.block_size
    if len(ids) < block + 2:
        raise ValueError(f"the training text is {len(ids)} tokens long; block_size {block} needs at least {block + 2}")
    model.to(device).train()
    opt = optimizer(model, t)
    gen = torch.Generator().manual_seed(seed)
    data = torch.from_numpy(np.asarray(ids, dtype=np.int64))
    offsets = torch.arange(block + 1)
    marks = {max(1, round(t.max_steps * k / t.snapshots)): k for k in range(1, t.snapshots + 1)}
    history, started, window_loss, window_n = [], time.perf_counter(), 0.0, 0
    progress = Progress(f"train ({prefix.rstrip('_')})" if prefix else "train", t.max_steps)
    for step in range(t.max_steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, t)
        ix = torch.randint(len(data) - block - 1, (t.batch_size,), generator=gen)
        chunk = data[ix[:, None] + offsets].to(device)  # (B, block + 1)
        loss = F.cross_entropy(model(chunk[:, :-1]).flatten(0, 1), chunk[:, 1:].flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), t.grad_clip)
        opt.step()
        step_loss = loss.item()
        check_finite(step + 1, **{f"{prefix}loss": step_loss})  # NaN/inf: stop before anything is saved
        window_loss, window_n = window_loss + step_loss, window_n + 1
        done = step + 1
        progress.update(1, loss=step_loss)
        if done % t.log_every == 0 or done == t.max_steps:
            elapsed = time.perf_counter() - started
            row = {
                "step": done,
                f"{prefix}loss": window_loss / window_n,
                f"{prefix}lr": lr_at(step, t),
                f"{prefix}tokens_per_s": done * t.batch_size * block / max(elapsed, 1e-9),
            }
            window_loss, window_n = 0.0, 0
            history.append(row)
            if on_log:
                on_log(row)
        if on_snapshot and done in marks:
            on_snapshot(marks[done], done)
    model.eval()
    return history


def torch_logits_fn(model: nn.Module) -> Callable[[np.ndarray], np.ndarray]:
    """numpy tokens (B, T) → numpy float32 logits (B, T, V) of a torch model, without gradients."""

    @torch.no_grad()
    def fn(x: np.ndarray) -> np.ndarray:
        return model(torch.from_numpy(np.ascontiguousarray(x))).float().numpy()

    return fn


def held_out_nats_per_char(model: nn.Module, text: EncodedText, batch_size: int = 64) -> float:
    """Total NLL of every held-out character / the number of characters: comparable across tokenizers."""
    model.eval()
    return nats_per_char(torch_logits_fn(model), text, model.block_size, batch_size)
