"""Images as network inputs, and the device to run on: shared by every trainer and evaluator."""

from __future__ import annotations

import numpy as np
import torch


def pick_device(requested: str = "auto") -> torch.device:
    if requested == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("train.device is 'cuda' but no CUDA device is visible; use 'auto' or 'cpu'")
    return torch.device("cuda" if requested != "cpu" and torch.cuda.is_available() else "cpu")


def to_tensor(images_uint8: np.ndarray) -> torch.Tensor:
    """uint8 (N, 28, 28) → float (N, 1, 28, 28) in [-1, 1]."""
    return torch.from_numpy(images_uint8).float().div(127.5).sub(1.0).unsqueeze(1)


def to_tensor_rgb(images_uint8: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) → float (N, 3, H, W) in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images_uint8)).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
