"""A small real-vs-generated image detector (the classifier of the two-sample test)."""

from __future__ import annotations

import torch
from torch import nn


class DetectorCNN(nn.Module):
    def __init__(self, channels: int = 1, width: int = 32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, width, 3, 2, 1),
            nn.LeakyReLU(0.2),  # (B, w, 14, 14)
            nn.Conv2d(width, 2 * width, 3, 2, 1),
            nn.BatchNorm2d(2 * width),
            nn.LeakyReLU(0.2),  # (B, 2w, 7, 7)
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(2 * width, 2),  # logits: (real, generated)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
