"""The domain evaluator: a small Fashion-MNIST classifier whose penultimate layer is the feature space of FID/KID.

Features are the 128-d *pre-activation* of the hidden layer: a ReLU there leaves dead units, a rank-deficient
covariance and a less informative FID (seen with the anchor evaluator: 40 of 128 units always zero). A batch norm
without affine parameters standardises them with the training set's running statistics, so their scale is fixed
(unit variance per unit) and KID's polynomial kernel (xᵀy/d + 1)³ stays in its intended range.
"""

from __future__ import annotations

import torch
from torch import nn

EVALUATOR_VERSION = "cnn128bn-s2-v4"  # bump when the architecture or its training changes: caches key on it
# v4: seeded initial weights (v3 took them from the process RNG, so two processes trained different evaluators)


class EvaluatorCNN(nn.Module):
    num_features = 128  # torchmetrics' FID/KID read this attribute

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.body = nn.Sequential(
            # Strided convolutions rather than conv + max-pool: ~4× fewer multiply-adds, so the evaluator
            # trains in about a minute on 2 cores.
            nn.Conv2d(1, 32, 3, stride=2, padding=1),  # (B, 32, 14, 14)
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1),  # (B, 64, 7, 7)
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, self.num_features),
            nn.BatchNorm1d(self.num_features, affine=False),  # (B, 128): the feature space
        )
        self.head = nn.Sequential(nn.ReLU(), nn.Dropout(0.2), nn.Linear(self.num_features, num_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 1, 28, 28) in [-1, 1] → (B, 128)."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))  # (B, classes) logits
