"""Supervised training of small image classifiers: the evaluator and the real/fake detector share it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from components.progress import Progress


def fit_classifier(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int = 0,
    label: str = "classifier",
    on_epoch: Callable[[dict], None] | None = None,
) -> nn.Module:
    """Cross-entropy + Adam over shuffled mini-batches; x (N, 1, H, W) in [-1, 1], y (N,) class indices."""
    torch.manual_seed(seed)
    order_rng = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    steps = (len(x) + batch_size - 1) // batch_size
    progress = Progress(label, epochs * steps)
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(x), generator=order_rng)
        losses = []
        for start in range(0, len(x), batch_size):
            idx = order[start : start + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            losses.append(loss.item())
            progress.update(1, loss=loss.item())
        if on_epoch is not None:
            on_epoch({"step": epoch + 1, "loss": float(np.mean(losses))})
    return model.eval()


@torch.no_grad()
def predict(fn, x: torch.Tensor, batch_size: int = 1024) -> np.ndarray:
    """Apply fn (a model or one of its methods) batch by batch; returns float64 numpy."""
    return np.concatenate([fn(x[i : i + batch_size]).double().cpu().numpy() for i in range(0, len(x), batch_size)])
