"""Supervised training of small image classifiers: the evaluator and the real/fake detector share it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np
import torch
from torch import nn

from components.errors import check_finite
from components.models.tensors import pick_device
from components.progress import Progress

M = TypeVar("M", bound=nn.Module)


def build_seeded(build: Callable[[], M], seed: int) -> M:
    """build() on torch's global RNG seeded with `seed`, inside torch.random.fork_rng: the initial weights depend
    on `seed` only (never on what the process drew before), and the process's RNG state is left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def fit_classifier(
    model: nn.Module | Callable[[], nn.Module],
    x: torch.Tensor,
    y: torch.Tensor,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int = 0,
    label: str = "classifier",
    on_epoch: Callable[[dict], None] | None = None,
    lr_field: str | None = None,
    device: str | torch.device = "auto",
) -> nn.Module:
    """Cross-entropy + Adam over shuffled mini-batches; x (N, 1, H, W) in [-1, 1], y (N,) class indices.

    `model` is a module or a function that builds one; a builder is called by build_seeded(model, seed), so that
    the initial weights depend on `seed` alone (pass one for every evaluation network). Training (batch order,
    dropout) runs on torch's global RNG seeded with `seed` inside torch.random.fork_rng: the result neither
    depends on nor changes the process's RNG state. Returns the trained model, in eval mode.

    A NaN or infinite loss raises TrainingDiverged naming the step; its hint names `lr_field` (the config field of
    `lr`, e.g. train.lr) when given. The model trains on `device` ("auto": a GPU when one is visible) and stays there;
    x and y may stay on the CPU (each batch is moved).
    """
    hint = f"lower {lr_field or f'the {label} learning rate'} or check the data"
    if not isinstance(model, nn.Module):
        model = build_seeded(model, seed)
    device = pick_device(device) if isinstance(device, str) else device
    model.to(device)
    order_rng = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    steps = (len(x) + batch_size - 1) // batch_size
    progress = Progress(label, epochs * steps)
    cuda_ids = (
        [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []
    )
    with torch.random.fork_rng(devices=cuda_ids):
        torch.manual_seed(seed)
        model.train()
        for epoch in range(epochs):
            order = torch.randperm(len(x), generator=order_rng)
            losses = []
            for start in range(0, len(x), batch_size):
                idx = order[start : start + batch_size]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(x[idx].to(device)), y[idx].to(device))
                loss.backward()
                opt.step()
                losses.append(loss.item())
                check_finite(epoch * steps + start // batch_size + 1, hint, **{f"{label} loss": losses[-1]})
                progress.update(1, loss=losses[-1])
            if on_epoch is not None:
                on_epoch({"step": epoch + 1, "loss": float(np.mean(losses))})
    return model.eval()


@torch.no_grad()
def predict(fn, x: torch.Tensor, batch_size: int = 1024, device: torch.device | None = None) -> np.ndarray:
    """Apply fn (a model or one of its methods) batch by batch; returns float64 numpy. Each batch goes to `device`:
    by default where fn's model is (fn a module or a bound method of one), else the CPU."""
    device = device or _device_of(fn)
    return np.concatenate(
        [fn(x[i : i + batch_size].to(device)).double().cpu().numpy() for i in range(0, len(x), batch_size)]
    )


def _device_of(fn) -> torch.device:
    owner = fn if isinstance(fn, nn.Module) else getattr(fn, "__self__", None)
    weight = next(owner.parameters(), None) if isinstance(owner, nn.Module) else None
    return weight.device if weight is not None else torch.device("cpu")
