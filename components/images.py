"""Image grids and PNG I/O with numpy + PIL only: the serving path (generate) imports this and never torch."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Generator output in [-1, 1], (B, C, H, W) → uint8 (B, H, W, C)."""
    images = np.asarray(images, dtype=np.float32)
    return np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)


def grid(images_uint8: np.ndarray, ncol: int | None = None, pad: int = 2) -> np.ndarray:
    """(B, H, W[, C]) uint8 → one (rows·H, cols·W[, C]) uint8 image with `pad` pixels between tiles."""
    batch = images_uint8 if images_uint8.ndim == 4 else images_uint8[..., None]
    b, h, w, c = batch.shape
    ncol = ncol or math.ceil(math.sqrt(b))
    nrow = math.ceil(b / ncol)
    canvas = np.zeros((nrow * (h + pad) + pad, ncol * (w + pad) + pad, c), dtype=np.uint8)
    for i, tile in enumerate(batch):
        r, col = divmod(i, ncol)
        canvas[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + col * (w + pad) : pad + col * (w + pad) + w] = tile
    return canvas[..., 0] if c == 1 else canvas


def save_png(image: np.ndarray, path: str | Path, scale: int = 1) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    picture = Image.fromarray(image)
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    picture.save(path)
    return path
