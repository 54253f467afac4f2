"""Memorisation of the training set: feature-space authenticity, pixel-space exact and near duplicates, and a panel.

Authenticity follows Alaa et al. 2022 ("How faithful is your synthetic data?", ICML): a generated sample g that is
closer to its nearest training sample x* than x* is to any other training sample lies inside x*'s own
nearest-neighbour ball and is counted as a copy of x*. Nearest neighbours are searched block by block with the matmul
form of L2, and the best few candidates re-ranked by direct float64 distance, so an exact copy is at distance 0, not
at a rounding error.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import torch

from components.images import grid

_BLOCK = 2**25  # distance entries per block: 128 MB of float32
_CANDIDATES = 4  # float32 finalists per query, re-ranked by exact float64 distance
# Mean |Δ| in grey levels: catches ±1–2 levels of noise or re-quantisation of a training image, while 9,995 of the
# 10,000 real Fashion-MNIST test images are further than this from every training image (1 % quantile: 5.5).
NEAR_THRESHOLD = 2.0


def _nearest(queries: np.ndarray, base: np.ndarray, skip: np.ndarray | None = None) -> np.ndarray:
    """Index in `base` of each query's L2-nearest row; `skip[i]` (a base index) is excluded for query i.

    The search is a float32 matmul (twice float64's speed) on data centred on the base mean, so ||a||² + ||b||² − 2ab
    does not cancel catastrophically; its few best candidates are then re-ranked by exact float64 distance, so
    rounding can only matter when more than `_CANDIDATES` rows tie within float32 precision.
    """
    centre = base.mean(axis=0, dtype=np.float64).astype(np.float32)
    search = torch.from_numpy(base.astype(np.float32) - centre)
    base_sq = (search * search).sum(dim=1)
    rows = max(1, _BLOCK // max(len(base), 1))
    k = min(_CANDIDATES, len(base) - (skip is not None))
    index = np.empty(len(queries), dtype=np.int64)
    for start in range(0, len(queries), rows):
        chunk = queries[start : start + rows]
        # ||q||² is constant along a row, so the ranking only needs ||b||² − 2 q·b; in place, no second block.
        score = (torch.from_numpy(chunk.astype(np.float32) - centre) @ search.T).mul_(-2.0).add_(base_sq)
        if skip is not None:
            score[torch.arange(len(chunk)), torch.from_numpy(skip[start : start + rows])] = math.inf
        candidates = torch.topk(score, k, dim=1, largest=False).indices.numpy()
        exact = ((chunk[:, None, :].astype(np.float64) - base[candidates].astype(np.float64)) ** 2).sum(axis=2)
        index[start : start + len(chunk)] = np.take_along_axis(candidates, exact.argmin(axis=1)[:, None], 1)[:, 0]
    return index


def authenticity(
    train_features: np.ndarray, fake_features: np.ndarray, reference_size: int = 2000, seed: int = 0
) -> dict:
    """Fraction of generated samples that are memorised copies of a training sample (Alaa et al. 2022).

    Args:
        train_features: (N, d) features of the training set the generator was fitted on.
        fake_features: (M, d) features of generated samples.
        reference_size: training samples (a seeded random subset) whose nearest-other-training distance gives
            `median_train_nn_distance`, the scale a generated sample's `distance` is read against.
    Returns: memorised_fraction; per generated sample memorised (bool), distance ‖g − x*‖, nearest_train (x*'s
        index) and train_nn_distance (x* to its nearest other training sample); median_distance,
        median_train_nn_distance; closest_pairs, (M, 2) rows of (generated index, training index) closest first.
    """
    train = np.asarray(train_features, dtype=np.float64)
    fake = np.asarray(fake_features, dtype=np.float64)
    nearest = _nearest(fake, train)
    distance = np.linalg.norm(fake - train[nearest], axis=1)

    reference = np.random.default_rng(seed).choice(len(train), min(reference_size, len(train)), replace=False)
    anchors = np.union1d(nearest, reference)  # only these training samples need their own nearest neighbour
    other = _nearest(train[anchors], train, skip=anchors)
    anchor_nn = np.linalg.norm(train[anchors] - train[other], axis=1)
    train_nn = anchor_nn[np.searchsorted(anchors, nearest)]

    memorised = distance < train_nn
    return {
        "memorised_fraction": float(memorised.mean()),
        "memorised": memorised,
        "distance": distance,
        "nearest_train": nearest,
        "train_nn_distance": train_nn,
        "median_distance": float(np.median(distance)),
        "median_train_nn_distance": float(np.median(anchor_nn[np.searchsorted(anchors, reference)])),
        "closest_pairs": _pairs(distance, nearest),
    }


def _pairs(distance: np.ndarray, nearest: np.ndarray) -> np.ndarray:
    order = np.argsort(distance, kind="stable")
    return np.stack([order, nearest[order]], axis=1)


def _digest(image: np.ndarray) -> bytes:
    return hashlib.blake2b(image.tobytes(), digest_size=16).digest()


def duplicates(
    train_images_uint8: np.ndarray, fake_images_uint8: np.ndarray, near_threshold: float = NEAR_THRESHOLD
) -> dict:
    """Exact (byte-identical) and near duplicates of training images among generated images.

    A generated image is a near duplicate when its L2-nearest training image differs from it by at most
    `near_threshold` grey levels in mean absolute difference; exact duplicates count as near ones too.
    Returns exact_count, exact_fraction, near_count, near_fraction, near_threshold; per generated image
    exact_match (a byte-identical training image's index, or -1), nearest_train and mean_abs_diff; closest_pairs,
    (M, 2) rows of (generated index, training index) by increasing mean_abs_diff.
    """
    train = np.ascontiguousarray(train_images_uint8, dtype=np.uint8)
    fake = np.ascontiguousarray(fake_images_uint8, dtype=np.uint8)
    if train.shape[1:] != fake.shape[1:]:
        raise ValueError(f"image shapes differ: training {train.shape[1:]}, generated {fake.shape[1:]}")
    index = {}
    for i, image in enumerate(train):
        index.setdefault(_digest(image), i)
    exact_match = np.array([index.get(_digest(image), -1) for image in fake], dtype=np.int64)

    flat_train, flat_fake = train.reshape(len(train), -1), fake.reshape(len(fake), -1)
    nearest = _nearest(flat_fake, flat_train)
    mad = np.abs(flat_fake.astype(np.int16) - flat_train[nearest].astype(np.int16)).mean(axis=1, dtype=np.float64)

    exact, near = exact_match >= 0, (mad <= near_threshold) | (exact_match >= 0)
    return {
        "exact_count": int(exact.sum()),
        "exact_fraction": float(exact.mean()),
        "near_count": int(near.sum()),
        "near_fraction": float(near.mean()),
        "near_threshold": float(near_threshold),
        "exact_match": exact_match,
        "nearest_train": nearest,
        "mean_abs_diff": mad,
        "closest_pairs": _pairs(mad, nearest),
    }


def closest_pairs_panel(fake_uint8: np.ndarray, train_uint8: np.ndarray, pairs: np.ndarray, n: int = 16) -> np.ndarray:
    """The first n (generated index, training index) pairs as one uint8 picture: generated left, training right.

    The two images of a pair are 1 pixel apart and pairs 6 pixels apart, so pairs read as units in the grid.
    """
    pairs = np.asarray(pairs, dtype=np.int64)[:n]
    if len(pairs) == 0:
        raise ValueError("no pairs to draw")
    tiles = np.stack([grid(np.stack([fake_uint8[g], train_uint8[t]]), ncol=2, pad=1) for g, t in pairs])
    return grid(tiles, ncol=math.ceil(math.sqrt(len(tiles))), pad=6)
