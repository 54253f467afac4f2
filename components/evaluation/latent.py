"""How much a VAE's latent space is used."""

from __future__ import annotations

import numpy as np


def active_units(posterior_means: np.ndarray, threshold: float = 0.01) -> int:
    """Latent dimensions whose posterior mean varies over the data (Burda et al. 2016: Cov_x E_q[z] > 0.01); a
    collapsed posterior (the decoder ignores z) has none."""
    return int((np.asarray(posterior_means).var(axis=0) > threshold).sum())
