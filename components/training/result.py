"""What every trainer returns: where the final checkpoint is and what the run did."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class TrainResult:
    checkpoint: Path
    epochs_done: int
    steps: int
    seconds: float
    history: list[dict] = field(default_factory=list)
    """One row per log point: step, epoch and the trainer's losses (d_loss, g_loss, … ; elbo, …)."""
