"""Fréchet distance (FID) and kernel distance (KID) on feature vectors, with bootstrap confidence intervals.

FID (Heusel et al. 2017): ||mu1 - mu2||² + Tr(S1 + S2 - 2 (S1 S2)^½), float64 statistics.
KID (Binkowski et al. 2018): unbiased MMD² with the kernel k(x, y) = (xᵀy / d + 1)³, averaged over subsets.
"""

from __future__ import annotations

import numpy as np


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f = np.asarray(features, dtype=np.float64)
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(s)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(
    mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray, s1_sqrt: np.ndarray | None = None
) -> float:
    """Tr((S1 S2)^½) is computed as Σ √λ of the symmetric S1^½ S2 S1^½ (same eigenvalues, no complex sqrtm)."""
    root = _psd_sqrt(s1) if s1_sqrt is None else s1_sqrt
    eigenvalues = np.linalg.eigvalsh(root @ s2 @ root)
    trace_sqrt = np.sqrt(np.clip(eigenvalues, 0, None)).sum()
    diff = mu1 - mu2
    return float(max(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * trace_sqrt, 0.0))


def fid(real: np.ndarray, fake: np.ndarray) -> float:
    return frechet_distance(*gaussian_stats(real), *gaussian_stats(fake))


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]
    kxx, kyy, kxy = (x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3
    m, n = len(x), len(y)
    return float(
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2 * kxy.mean()
    )


def kid(
    real: np.ndarray, fake: np.ndarray, subset_size: int = 1000, subsets: int = 50, seed: int = 0
) -> tuple[float, float]:
    """Mean and standard deviation of the unbiased MMD² over random subsets (without replacement in each)."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    size = min(subset_size, len(real), len(fake))
    rng = np.random.default_rng(seed)
    values = [
        _mmd2_unbiased(
            real[rng.choice(len(real), size, replace=False)], fake[rng.choice(len(fake), size, replace=False)]
        )
        for _ in range(subsets)
    ]
    return float(np.mean(values)), float(np.std(values))


def bootstrap_fid(
    real: np.ndarray, fake: np.ndarray, rounds: int = 200, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Bootstrap interval of FID over the generated samples (the real reference split is fixed).

    Resampling with replacement duplicates samples, which inflates FID by roughly the bootstrap's own bias;
    the percentile interval is therefore re-centred on the estimate (shifted by mean(boot) - FID), so it
    describes the spread of the estimate at this N and always contains it.
    """
    fake = np.asarray(fake, np.float64)
    mu_r, s_r = gaussian_stats(real)
    root = _psd_sqrt(s_r)
    estimate = frechet_distance(mu_r, s_r, *gaussian_stats(fake), s1_sqrt=root)
    rng = np.random.default_rng(seed)
    values = np.array(
        [
            frechet_distance(mu_r, s_r, *gaussian_stats(fake[rng.integers(0, len(fake), len(fake))]), s1_sqrt=root)
            for _ in range(rounds)
        ]
    )
    shift = values.mean() - estimate
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail]) - shift
    return float(max(low, 0.0)), float(high)


def kid_interval(mean: float, std: float, n_samples: int, subset_size: int, z: float = 1.96) -> tuple[float, float]:
    """Normal interval for KID's subset mean, counting only N / subset_size subsets as independent.

    The subsets overlap, so dividing by sqrt(subsets) would claim more certainty than the samples hold.
    """
    independent = max(1, n_samples // max(subset_size, 1))
    half = z * std / np.sqrt(independent)
    return mean - half, mean + half
