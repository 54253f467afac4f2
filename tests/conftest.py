"""Shared fixtures: a tiny real IDX source (scikit-learn digits), a temp git + DVC workspace, the Prefect harness."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

# Tests build their own stores: a user's team servers must never receive test runs.
for _var in ("MLFLOW_TRACKING_URI", "PREFECT_API_URL", "GENFORGE_ROOT", "GENFORGE_FASHION_MNIST_DIR"):
    os.environ.pop(_var, None)

from components.workspace import QUIET_ENV  # noqa: E402

for _key, _value in QUIET_ENV.items():
    os.environ.setdefault(_key, _value)
os.environ.setdefault("MPLCONFIGDIR", tempfile.mkdtemp(prefix="genforge-mpl-"))
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="genforge-prefect-"))  # never the user's ~/.prefect
os.environ.setdefault("DVC_SITE_CACHE_DIR", tempfile.mkdtemp(prefix="genforge-dvc-"))

REPO = Path(__file__).resolve().parent.parent
TINY = {  # a pipeline that runs in seconds on the digits source
    "name": "tiny",
    "data": {"verify_checksums": False, "shard_size": 500},
    "model": {"latent_dim": 16, "g_features": 8, "d_features": 8},
    "train": {"epochs": 1, "batch_size": 64, "log_every": 5},
    "evaluation": {
        "num_samples": 200,
        "bootstrap": 20,
        "evaluator": {"epochs": 1},
        "c2st": {"num_samples": 100, "epochs": 1},
    },
    "promotion": {"thresholds": {"onnx_parity": {"max": 1e-4}}, "improvement": {"significant": False}},
}


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Encode a uint8 array as a gzipped IDX file (the Fashion-MNIST format)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0))
    return path


def digits_28() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 real 8×8 digits, scaled to 0–255 and blown up to 28×28 (×3, 2-pixel border)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.rint(digits.images * (255 / 16)).astype(np.uint8)
    big = np.kron(images, np.ones((1, 3, 3), dtype=np.uint8))  # (N, 24, 24)
    return np.pad(big, ((0, 0), (2, 2), (2, 2))), digits.target.astype(np.uint8)


@pytest.fixture(scope="session")
def digits_source(tmp_path_factory) -> Path:
    """A folder with the four IDX files that GenForge's Fashion-MNIST source reads (1,500 train, 297 test)."""
    folder = tmp_path_factory.mktemp("digits-idx")
    images, labels = digits_28()
    write_idx(folder / "train-images-idx3-ubyte.gz", images[:1500])
    write_idx(folder / "train-labels-idx1-ubyte.gz", labels[:1500])
    write_idx(folder / "t10k-images-idx3-ubyte.gz", images[1500:])
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", labels[1500:])
    return folder


def make_workspace(root: Path, remote: Path) -> Path:
    """A fresh git + DVC repository with a local remote, like a clone of GenForge."""
    root.mkdir(parents=True, exist_ok=True)
    dvc = [sys.executable, "-m", "dvc"]
    for cmd in (
        ["git", "init", "-q"],
        ["git", "config", "user.email", "t@example.com"],
        ["git", "config", "user.name", "test"],
        [*dvc, "init", "-q"],
        [*dvc, "config", "core.analytics", "false"],
        [*dvc, "remote", "add", "-d", "local", str(remote)],
    ):
        subprocess.run(cmd, cwd=root, check=True, capture_output=True)
    return root


@pytest.fixture
def workspace(tmp_path) -> Path:
    return make_workspace(tmp_path / "project", tmp_path / "dvc-remote")


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory):
    """One temporary Prefect API for the session; results go to a temp folder (the harness does not isolate them)."""
    from prefect.settings import PREFECT_RESULTS_LOCAL_STORAGE_PATH, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    storage = tmp_path_factory.mktemp("prefect-results")
    with temporary_settings({PREFECT_RESULTS_LOCAL_STORAGE_PATH: str(storage)}):
        with prefect_test_harness(server_startup_timeout=60):
            yield storage
