"""Classifier two-sample test (Lopez-Paz & Oquab 2017): can a detector tell real from generated images?

A held-out AUC of 0.5 means it cannot; the p-value tests the held-out accuracy against chance (one-sided binomial).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
from scipy import stats
from sklearn.metrics import roc_auc_score, roc_curve

from components.models.detector import DetectorCNN
from components.models.fitting import fit_classifier, predict


@dataclass
class C2STResult:
    auc: float
    accuracy: float
    p_value: float
    n_test: int
    fpr: np.ndarray
    tpr: np.ndarray


def c2st(
    real: torch.Tensor,
    fake: torch.Tensor,
    epochs: int = 3,
    seed: int = 0,
    test_fraction: float = 0.2,
    batch_size: int = 128,
    lr: float = 1e-3,
) -> C2STResult:
    """real, fake: (N, C, H, W) in [-1, 1]. Label 1 = generated.

    `seed` (the evaluation seed, cfg.evaluation.seed) fixes the split, the detector's initial weights and its
    training; the detector is built and trained on its own seeded RNG, so the same inputs give the same result
    whatever the process drew before (and the process's RNG state is left as it was)."""
    n = min(len(real), len(fake))
    x = torch.cat([real[:n], fake[:n]])
    y = torch.cat([torch.zeros(n, dtype=torch.long), torch.ones(n, dtype=torch.long)])
    order = torch.randperm(2 * n, generator=torch.Generator().manual_seed(seed))
    n_test = max(2, int(round(2 * n * test_fraction)))
    test_idx, train_idx = order[:n_test], order[n_test:]
    build = partial(DetectorCNN, channels=x.shape[1])  # built by fit_classifier, from `seed` alone
    model = fit_classifier(build, x[train_idx], y[train_idx], epochs, batch_size, lr, seed=seed, label="c2st")
    logits = predict(model, x[test_idx])
    return held_out_result(y[test_idx].numpy(), logits[:, 1] - logits[:, 0])  # log-odds of "generated"


def held_out_result(truth: np.ndarray, score: np.ndarray) -> C2STResult:
    """AUC, accuracy and its one-sided binomial p-value against chance, from held-out labels (1 = generated) and
    the detector's scores (> 0 means "generated"): shared by the image and the text C2ST."""
    n_test = len(truth)
    correct = int(((score > 0).astype(int) == truth).sum())
    fpr, tpr, _ = roc_curve(truth, score)
    return C2STResult(
        auc=float(roc_auc_score(truth, score)),
        accuracy=correct / n_test,
        p_value=float(stats.binomtest(correct, n_test, 0.5, alternative="greater").pvalue),
        n_test=n_test,
        fpr=fpr,
        tpr=tpr,
    )
