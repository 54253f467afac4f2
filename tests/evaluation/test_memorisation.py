import time
from pathlib import Path

import numpy as np
import pytest

from components.data.shards import load_split
from components.evaluation.memorisation import authenticity, closest_pairs_panel, duplicates
from tests.conftest import digits_28

FASHION = Path(__file__).resolve().parents[2] / "data" / "fashion-mnist"
needs_fashion = pytest.mark.skipif(
    not any(FASHION.glob("train-images-*.npy")), reason=f"no Fashion-MNIST shards in {FASHION}: `genforge data build`"
)


@pytest.fixture(scope="module", params=[pytest.param("fashion-mnist", marks=needs_fashion), "digits"])
def real(request) -> tuple[np.ndarray, np.ndarray]:
    """(training, held-out real) uint8 (N, 28, 28) images: 20,000 / 2,000 Fashion-MNIST or 1,500 / 297 digits."""
    if request.param == "digits":
        images, _ = digits_28()
        return images[:1500], images[1500:]
    return load_split(FASHION, "train", limit=20000)[0], load_split(FASHION, "test", limit=2000)[0]


def _pixels(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1) / 255.0


def _noisy(images: np.ndarray, seed: int = 0) -> np.ndarray:
    """±1 grey level of independent noise per pixel: a near copy that is no longer byte-identical."""
    noise = np.random.default_rng(seed).integers(-1, 2, size=images.shape)
    return np.clip(images.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def test_training_copies_are_memorised_and_held_out_images_are_not(real):
    train, held = real
    copies = train[:300]
    result = authenticity(_pixels(train), _pixels(np.concatenate([held, copies])), reference_size=500)
    memorised_held, memorised_copies = result["memorised"][: len(held)], result["memorised"][len(held) :]
    # Measured (pixel features): held-out Fashion-MNIST 0.278 (0.269–0.298 over 3 test subsets; 0.289 for 5,000 test
    # vs all 60,000 train), digits 0.273. Independent real samples are often mutual nearest neighbours of a training
    # sample, so the baseline is far from 0; a default gate `memorised_fraction: {max: 0.5}` passes it with margin.
    assert memorised_held.mean() < 0.4
    assert memorised_copies.mean() == 1.0
    copy_distances = result["distance"][len(held) :]
    assert np.all(copy_distances == 0.0), "an exact copy must be at distance 0, not at a rounding error"
    assert result["memorised_fraction"] == pytest.approx(result["memorised"].mean())
    # A held-out image's nearest training image is about as far as a training image's nearest neighbour.
    ratio = np.median(result["distance"][: len(held)]) / result["median_train_nn_distance"]
    assert 0.8 < ratio < 1.3
    pairs = result["closest_pairs"]
    assert pairs.shape == (len(held) + len(copies), 2) and pairs[0, 0] >= len(held)
    assert np.all(np.diff(result["distance"][pairs[:, 0]]) >= 0)


def test_exact_and_near_duplicates_are_found_and_held_out_images_are_neither(real):
    train, held = real
    fake = np.concatenate([train[:50], _noisy(train[50:100]), held[:200]])
    result = duplicates(train, fake)
    assert result["exact_count"] == 50 and result["exact_fraction"] == pytest.approx(50 / 300)
    assert np.array_equal(train[result["exact_match"][:50]], fake[:50])
    assert np.all(result["exact_match"][50:] == -1), "noise must break byte identity"
    noisy_mad = result["mean_abs_diff"][50:100]
    assert np.all(noisy_mad > 0) and np.all(noisy_mad <= 1.0)
    assert np.array_equal(result["nearest_train"][50:100], np.arange(50, 100))
    # Measured: the 1 % quantile of a held-out image's distance to its nearest training image is 5.5 grey levels for
    # Fashion-MNIST (5 of its 10,000 test images are within 2.0 of one of the 60,000 training images), digits ≥ 5.5.
    assert np.all(result["mean_abs_diff"][100:] > result["near_threshold"])
    assert result["near_count"] == 100 and result["near_fraction"] == pytest.approx(100 / 300)

    panel = closest_pairs_panel(fake, train, result["closest_pairs"], n=16)
    # Each pair is a 2-tile grid (pad 1): 30 × 59; 16 pairs in a 4 × 4 grid (pad 6).
    assert panel.dtype == np.uint8 and panel.shape == (4 * 36 + 6, 4 * 65 + 6)
    g, t = result["closest_pairs"][0]
    assert np.array_equal(panel[7:35, 7:35], fake[g]) and np.array_equal(panel[7:35, 36:64], train[t])


def test_panel_takes_colour_images_and_fewer_pairs_than_n():
    rng = np.random.default_rng(0)
    fake, train = rng.integers(0, 256, (3, 8, 8, 3), dtype=np.uint8), rng.integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)
    panel = closest_pairs_panel(fake, train, np.array([[2, 4], [0, 1], [1, 0]]), n=16)
    assert panel.shape == (2 * 16 + 6, 2 * 25 + 6, 3)  # 3 pairs of (10 × 19) tiles in a 2 × 2 grid
    assert np.array_equal(panel[7:15, 7:15], fake[2]) and np.array_equal(panel[7:15, 16:24], train[4])
    with pytest.raises(ValueError, match="no pairs"):
        closest_pairs_panel(fake, train, np.empty((0, 2)))


def test_image_shapes_must_agree():
    with pytest.raises(ValueError, match="image shapes differ"):
        duplicates(np.zeros((4, 28, 28), np.uint8), np.zeros((4, 32, 32), np.uint8))


@pytest.mark.slow
@needs_fashion
def test_duplicates_at_pipeline_scale():
    """5,000 generated against all 60,000 training images: 4,000 test images and 1,000 training copies."""
    train, _ = load_split(FASHION, "train")
    test, _ = load_split(FASHION, "test", limit=4000)
    copies = np.random.default_rng(0).choice(len(train), 1000, replace=False)
    start = time.perf_counter()
    result = duplicates(train, np.concatenate([test, train[copies]]))
    elapsed = time.perf_counter() - start
    assert result["exact_count"] == 1000
    assert 1000 <= result["near_count"] <= 1004  # one of these test images is within 1.43 grey levels of a training one
    assert elapsed < 60, f"{elapsed:.1f} s (about 5 s on 2 idle cores)"
