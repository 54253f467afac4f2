import numpy as np
import pytest
import torch
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from components.evaluation import frechet


class Identity(torch.nn.Module):
    """Lets torchmetrics score precomputed feature vectors: the 'images' are the features."""

    num_features = 16

    def forward(self, x):
        return x


def _features(seed, n=600, d=16, shift=0.0, scale=1.0):
    rng = np.random.default_rng(seed)
    mixing = np.random.default_rng(99).normal(size=(d, d)) / np.sqrt(d)  # correlated dimensions
    return rng.normal(size=(n, d)) @ mixing * scale + shift


def test_identical_sets_give_zero():
    x = _features(0)
    assert frechet.fid(x, x) == pytest.approx(0.0, abs=1e-8)
    # KID's unbiased estimator is zero only in expectation: on one set against itself the diagonal terms it
    # leaves out make it slightly negative, an order of magnitude below a modest shift.
    same, shifted = frechet.kid(x, x), frechet.kid(x, _features(1, shift=0.3))
    assert abs(same) < 0.1 * shifted


def test_fid_matches_torchmetrics_to_1e6_relative():
    real, fake = _features(0), _features(1, shift=0.3, scale=1.2)
    metric = FrechetInceptionDistance(feature=Identity(), normalize=True)
    metric.update(torch.from_numpy(real).float(), real=True)
    metric.update(torch.from_numpy(fake).float(), real=False)
    ours = frechet.fid(real.astype(np.float32), fake.astype(np.float32))
    assert ours == pytest.approx(metric.compute().item(), rel=1e-6)


def test_kid_matches_torchmetrics_on_the_same_subsets():
    real, fake = _features(0, n=300), _features(1, n=300, shift=0.2)
    metric = KernelInceptionDistance(feature=Identity(), subsets=1, subset_size=300, normalize=True)
    metric.update(torch.from_numpy(real).float(), real=True)
    metric.update(torch.from_numpy(fake).float(), real=False)
    theirs = metric.compute()[0].item()
    # One subset holding every sample: torchmetrics then computes exactly our all-sample estimator.
    ours = frechet.kid(real.astype(np.float32).astype(np.float64), fake.astype(np.float32).astype(np.float64))
    assert ours == pytest.approx(theirs, rel=1e-4)


def test_fid_grows_with_the_shift_and_matches_the_closed_form():
    real = _features(0, n=4000)
    near, far = frechet.fid(real, _features(1, n=4000, shift=0.1)), frechet.fid(real, _features(2, n=4000, shift=1.0))
    assert near < far
    # Same covariance, mean shifted by 1 in each of 16 dims: FID → ||Δμ||² = 16 (plus small-sample noise).
    assert far == pytest.approx(16.0, rel=0.05)


def test_kid_interval_contains_the_estimate_and_separates_a_worse_set():
    real = _features(0, n=800)
    good, worse = _features(1, n=800, shift=0.1), _features(2, n=800, shift=0.5)
    low, high = frechet.bootstrap_kid(real, good, rounds=100)
    assert low <= frechet.kid(real, good) <= high
    assert frechet.bootstrap_kid(real, worse, rounds=100)[0] > high


def test_bootstrap_interval_contains_the_estimate_and_two_draws_overlap():
    real = _features(0, n=1000)
    a, b = _features(1, n=1000, shift=0.2), _features(2, n=1000, shift=0.2)
    ci_a, ci_b = frechet.bootstrap_fid(real, a, rounds=50), frechet.bootstrap_fid(real, b, rounds=50, seed=1)
    assert ci_a[0] <= frechet.fid(real, a) <= ci_a[1]
    assert ci_a[0] <= ci_b[1] and ci_b[0] <= ci_a[1], "two draws of one distribution must not look different"
    worse = _features(3, n=1000, shift=0.6)
    ci_w = frechet.bootstrap_fid(real, worse, rounds=50)
    assert ci_w[0] > ci_a[1], "a clearly worse set must be separated"
