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


class DetectorProbability(nn.Module):
    """The exported detector: image (B, 1, S, S) in [-1, 1] → probability that it is generated (B,); S is the side of
    the images it was trained on (28 for Fashion-MNIST, 64 for the faces)."""

    input_names = ("image",)
    output_name = "p_generated"
    onnx_metadata: dict[str, str] = {}  # noqa: RUF012 (read-only: what the consumer reads from the graph)

    def __init__(self, cnn: DetectorCNN, size: int = 28):
        super().__init__()
        self.cnn, self.size = cnn, size

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        logits = self.cnn(image)
        return torch.sigmoid(logits[:, 1] - logits[:, 0])

    def example_inputs(self, batch: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
        return (torch.rand(batch, 1, self.size, self.size, generator=torch.Generator().manual_seed(seed)) * 2 - 1,)

    def onnx_io(self) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
        return {"image": (-1, 1, self.size, self.size)}, {"p_generated": (-1,)}
