"""Image repair (inpainting) with a VAE, and the two baselines it is measured against — numpy only.

The one implementation behind both the evaluation (torch modules wrapped as callables) and `genforge repair`
(onnxruntime sessions): it sees the model only through `encode(x) → posterior mean` and `decode(z) → x`, batched
numpy functions on images (N, 1, H, W) in [-1, 1] and latents (N, d), so it needs no gradients and runs on ONNX.

Masks are boolean arrays, True inside the hole (the unknown pixels). A box is (x0, y0, x1, y1) in pixels, x the
column and y the row, half-open: the hole is columns x0 … x1−1 and rows y0 … y1−1.

VAE repair — iterative projection onto the decoder's range with the visible pixels clamped (the "pseudo-Gibbs"
imputation of Rezende et al. 2014, §5, with the posterior mean instead of a sample, so it is deterministic):

    x⁰ = the image, hole filled with the mean of its visible pixels
    repeat `steps` times:  z = encode(xᵗ);  x̂ = decode(z);  xᵗ⁺¹ = visible pixels of the image, x̂ in the hole

Each round the encoder sees a more plausible hole, so z moves towards a latent whose decoding agrees with the
visible pixels. Of all the rounds, the one whose decoding x̂ matches the *visible* pixels best (in L2) is returned:
the known pixels are the only evidence there is, and choosing by them cannot peek at the hole.

Baselines (error inside the hole only, pixel intensities scaled to [0, 1]):
  * mean fill — the hole takes the mean grey of that image's visible pixels (per image, not a data-set mean);
  * nearest patch — the training image closest to this one in L2 over the visible pixels lends its hole pixels.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Encode = Callable[[np.ndarray], np.ndarray]  # images (N, 1, H, W) in [-1, 1] → posterior means (N, d)
Decode = Callable[[np.ndarray], np.ndarray]  # latents (N, d) → images (N, 1, H, W) in [-1, 1]


class MaskError(ValueError):
    """A mask box that does not describe a non-empty rectangle inside the image."""


def parse_box(text: str, size: tuple[int, int] = (28, 28)) -> tuple[int, int, int, int]:
    """'x0,y0,x1,y1' → a validated box inside an image of `size` (height, width)."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        box = tuple(int(p) for p in parts)
    except ValueError:
        raise MaskError(f"mask {text!r} must be four integers x0,y0,x1,y1 (e.g. 8,8,20,20)") from None
    if len(box) != 4:
        raise MaskError(f"mask {text!r} must be four integers x0,y0,x1,y1 (e.g. 8,8,20,20), got {len(box)}")
    check_box(box, size)
    return box  # type: ignore[return-value]


def check_box(box: tuple[int, int, int, int], size: tuple[int, int] = (28, 28)) -> None:
    x0, y0, x1, y1 = box
    height, width = size
    if x1 <= x0 or y1 <= y0:
        raise MaskError(f"mask {x0},{y0},{x1},{y1} is empty: it needs x1 > x0 and y1 > y0 (corners x0,y0,x1,y1)")
    if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
        raise MaskError(
            f"mask {x0},{y0},{x1},{y1} lies outside the {width}×{height} image: "
            f"it needs 0 ≤ x0 < x1 ≤ {width} and 0 ≤ y0 < y1 ≤ {height}"
        )
    if (x1 - x0) * (y1 - y0) == width * height:
        raise MaskError(f"mask {x0},{y0},{x1},{y1} covers the whole image: nothing is left to repair from")


def box_mask(box: tuple[int, int, int, int], size: tuple[int, int] = (28, 28)) -> np.ndarray:
    """Boolean (H, W) mask, True in the half-open box [x0, x1) × [y0, y1) (a zero-area box masks nothing)."""
    x0, y0, x1, y1 = box
    mask = np.zeros(size, dtype=bool)
    mask[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)] = True
    return mask


def random_boxes(n: int, side: int, size: tuple[int, int] = (28, 28), seed: int = 0) -> np.ndarray:
    """n seeded square holes of `side` pixels lying wholly inside the image: (n, 4) boxes x0, y0, x1, y1."""
    rng = np.random.default_rng(seed)
    x0 = rng.integers(0, size[1] - side + 1, n)
    y0 = rng.integers(0, size[0] - side + 1, n)
    return np.stack([x0, y0, x0 + side, y0 + side], axis=1)


def _masks(images: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Masks as bool with the images' shape (N, 1, H, W); (H, W) or (N, H, W) masks are broadcast."""
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim == 2:
        masks = masks[None]
    if masks.ndim == 3:
        masks = masks[:, None]
    return np.broadcast_to(masks, images.shape)


def _images(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[1] != 1:
        raise ValueError(f"images must be (N, 1, H, W) grey in [-1, 1], got shape {images.shape}")
    return images


def masked_mse(repaired: np.ndarray, truth: np.ndarray, masks: np.ndarray) -> float:
    """Mean squared error over the hole pixels only, intensities in [0, 1] units (images given in [-1, 1]);
    0 when there is no hole."""
    truth = _images(truth)
    masks = _masks(truth, masks)
    if not masks.any():
        return 0.0
    diff = (np.asarray(repaired, dtype=np.float64) - truth)[masks] / 2.0
    return float(np.mean(diff**2))


def mean_fill(images: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """The hole takes the mean of the image's own visible pixels."""
    images = _images(images)
    masks = _masks(images, masks)
    visible = ~masks
    count = visible.reshape(len(images), -1).sum(axis=1)
    if (count == 0).any():
        raise MaskError("a mask covers the whole image: there are no visible pixels to fill from")
    means = (images * visible).reshape(len(images), -1).sum(axis=1) / count
    return np.where(masks, means[:, None, None, None].astype(np.float32), images)


def nearest_patch(
    images: np.ndarray, masks: np.ndarray, train: np.ndarray, chunk: int = 10_000
) -> tuple[np.ndarray, np.ndarray]:
    """Fill each hole with the pixels of the training image nearest in L2 over that image's visible pixels.

    `train`: uint8 (M, H, W) or float (M, 1, H, W) in [-1, 1]. Returns (repaired images, index of the neighbour).
    ‖v⊙(a − t)‖² = v·a² − 2 (v⊙a)·t + v·t², so all distances are two matrix products, done per chunk of training
    images.
    """
    images = _images(images)
    masks = _masks(images, masks)
    n = len(images)
    visible = (~masks).reshape(n, -1).astype(np.float32)
    a = images.reshape(n, -1)
    best = np.full(n, np.inf)
    index = np.zeros(n, dtype=np.int64)
    for start in range(0, len(train), chunk):
        t = _as_float(train[start : start + chunk]).reshape(-1, a.shape[1])
        d = (visible * a * a).sum(1, keepdims=True) - 2 * (visible * a) @ t.T + visible @ (t * t).T
        j = d.argmin(axis=1)
        closer = d[np.arange(n), j] < best
        best[closer] = d[np.arange(n), j][closer]
        index[closer] = start + j[closer]
    neighbours = _as_float(train[index]).reshape(images.shape)
    return np.where(masks, neighbours, images), index


def masked_view(images: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """The hole drawn as a black/white checkerboard, so it reads as 'missing' on any background (for pictures)."""
    images = _images(images)
    checker = (np.indices(images.shape[-2:]).sum(axis=0) % 2 * 2 - 1).astype(np.float32)
    return np.where(_masks(images, masks), checker, images)


def _as_float(images: np.ndarray) -> np.ndarray:
    if images.dtype == np.uint8:
        return images.astype(np.float32) / 127.5 - 1.0
    return np.asarray(images, dtype=np.float32)


def vae_repair(
    images: np.ndarray, masks: np.ndarray, encode: Encode, decode: Decode, steps: int = 20, batch: int = 500
) -> np.ndarray:
    """Fill the holes by iterative projection through the VAE (see the module docstring); visible pixels are
    returned unchanged, so a hole-free image comes back exactly."""
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    images = _images(images)
    masks = _masks(images, masks)
    out = np.empty_like(images)
    for start in range(0, len(images), batch):
        x, m = images[start : start + batch], masks[start : start + batch]
        visible = ~m
        n_visible = np.maximum(visible.reshape(len(x), -1).sum(axis=1), 1)
        current = mean_fill(x, m)
        best, best_err = current.copy(), np.full(len(x), np.inf)
        for _ in range(steps):
            decoded = np.asarray(decode(np.asarray(encode(current), dtype=np.float32)), dtype=np.float32)
            current = np.where(m, decoded, x)
            err = (((decoded - x) * visible) ** 2).reshape(len(x), -1).sum(axis=1) / n_visible
            better = err < best_err
            best[better], best_err[better] = current[better], err[better]
        out[start : start + batch] = best
    return out
