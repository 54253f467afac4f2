import numpy as np
import pytest

from components.evaluation.prdc import prdc


def _gaussians(n, d, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=(n, d))


@pytest.mark.parametrize("n", [2000, pytest.param(10000, marks=pytest.mark.slow)])  # 10k: 3 s idle, 8 s loaded
def test_two_samples_of_one_gaussian_match_naeem_et_al(n):
    # Naeem et al. 2020, Section 4: real and fake both 10,000 draws of N(0, I) in 64 dimensions, k = 5. Density's
    # expectation is exactly 1; coverage's is 1 − 2⁻ᵏ ≈ 0.969 (a real sample's k nearest among 2N are all real with
    # probability ≈ 2⁻ᵏ). Measured over 5 seeds at 10k: density 0.988–1.047, coverage 0.966–0.973, precision and
    # recall 0.665–0.683; at 2k (8 seeds) density 0.887–1.026, coverage 0.963–0.975, precision/recall 0.69–0.74.
    real, fake = _gaussians(n, 64)
    scores = prdc(real, fake, k=5)
    assert scores["density"] == pytest.approx(1.0, abs=0.05 if n == 10000 else 0.15)
    assert scores["coverage"] == pytest.approx(1 - 2**-5, abs=0.015)
    for name in ("precision", "recall"):  # the k-NN balls of high-dimensional samples miss much of the other set
        assert 0.6 < scores[name] < 0.8, (name, scores[name])


def test_identical_sets_score_one():
    x = _gaussians(3000, 32)[0]
    # Each real ball holds itself and k − 1 neighbours (strict <), so density is exactly k / k.
    assert prdc(x, x) == {"precision": 1.0, "recall": 1.0, "density": 1.0, "coverage": 1.0}


def test_disjoint_sets_score_zero():
    real, fake = _gaussians(1000, 16)
    assert prdc(real, fake + 100.0) == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_hand_computed_radii_exclude_self_and_membership_is_strict():
    real = np.array([[0.0], [1.0], [3.0]])  # k = 1 radii (nearest other): 1, 1, 2
    # 0.5 lies in the balls of 0 and 1, 2.9 in the ball of 3, 10 in none. Fake radii: 2.4, 2.4, 7.1.
    scores = prdc(real, np.array([[0.5], [2.9], [10.0]]), k=1)
    assert scores == pytest.approx({"precision": 2 / 3, "recall": 1.0, "density": 1.0, "coverage": 1.0})
    # -1 is exactly on the boundary of 0's ball (distance 1 = radius 1): outside, as in the reference.
    assert prdc(real, np.array([[-1.0], [10.0]]), k=1)["precision"] == 0.0


def test_too_few_samples_for_k_is_an_error():
    with pytest.raises(ValueError, match="more than k=5"):
        prdc(np.zeros((5, 2)), np.ones((10, 2)))


@pytest.mark.parametrize("k", [1, 5])
def test_matches_the_reference_implementation(k):
    reference = pytest.importorskip("prdc")  # clovaai/generative-evaluation-prdc, `pip install prdc`
    rng = np.random.default_rng(3)
    real, fake = rng.normal(size=(300, 16)), rng.normal(size=(250, 16)) * 1.2 + 0.3  # unequal sizes catch transposes
    theirs = reference.compute_prdc(real, fake, nearest_k=k)
    ours = prdc(real, fake, k=k)
    assert ours.keys() == theirs.keys()
    for name, value in theirs.items():
        assert ours[name] == pytest.approx(float(value), abs=1e-9), name
