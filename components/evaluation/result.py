"""What every family's evaluation returns: numbers for MLflow and the policy, pictures for people."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Evaluation:
    metrics: dict[str, float]
    ci: dict[str, tuple[float, float]]
    pictures: dict[str, np.ndarray] = field(default_factory=dict)
    """name → uint8 image, logged as <name>.png (e.g. samples, memorisation panel)."""
    roc: tuple[np.ndarray, np.ndarray, float, str] | None = None
    """(fpr, tpr, auc, title) of the evaluation's real-vs-generated detector, drawn as roc.png."""
    media: dict[str, bytes] = field(default_factory=dict)
    """relative path → bytes of a file people open rather than read (a WAV the MLflow UI plays), logged as is."""
    extras: dict = field(default_factory=dict)
