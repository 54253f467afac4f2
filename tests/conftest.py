"""Shared fixtures: a tiny real IDX source (scikit-learn digits), a temp git + DVC workspace, the Prefect harness."""

from __future__ import annotations

import atexit
import functools
import gzip
import os
import shutil
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
    "promotion": {"thresholds": {}, "improvement": {"significant": False}},
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


_TEMPLATE_REMOTE = "/genforge-template-remote"


@functools.cache
def _workspace_template() -> Path:
    """One git + DVC repository made by the real `git init` and `dvc init` per test session; each workspace is a
    copy of it with its own remote (three DVC processes per workspace cost ~1.3 s, a copy a few milliseconds)."""
    root = Path(tempfile.mkdtemp(prefix="genforge-workspace-template-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    dvc = [sys.executable, "-m", "dvc"]
    for cmd in (
        ["git", "init", "-q"],
        ["git", "config", "user.email", "t@example.com"],
        ["git", "config", "user.name", "test"],
        [*dvc, "init", "-q"],
        [*dvc, "config", "core.analytics", "false"],
        [*dvc, "remote", "add", "-d", "local", _TEMPLATE_REMOTE],
    ):
        subprocess.run(cmd, cwd=root, check=True, capture_output=True)
    return root


def make_workspace(root: Path, remote: Path) -> Path:
    """A fresh git + DVC repository with a local remote, like a clone of GenForge."""
    root.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(_workspace_template(), root, symlinks=True, dirs_exist_ok=True)
    config = root / ".dvc" / "config"
    config.write_text(config.read_text().replace(_TEMPLATE_REMOTE, str(remote)))
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


# The AWS variables that could point a test at real credentials, a profile or an endpoint other than the loopback one.
_AWS_UNSET = (
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "MLFLOW_S3_ENDPOINT_URL",
)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """An S3-compatible server on loopback (moto's, in a thread of this process): yields its endpoint URL.

    For the session, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are dummies, the region is us-east-1, the user's
    ~/.aws files, profiles and endpoint overrides are hidden, and the EC2 metadata lookup is off (no network call
    ever leaves the machine); all restored afterwards. Subprocesses inherit the variables, so `dvc` and `mlflow server`
    reach the same buckets. Pass the URL explicitly (boto3 `endpoint_url=`, `dvc remote modify … endpointurl`,
    MLFLOW_S3_ENDPOINT_URL): nothing here redirects S3 by itself. Buckets live for the whole session, so give each
    test its own (the `s3_bucket` fixture does).
    """
    from moto.server import ThreadedMotoServer

    aws_dir = tmp_path_factory.mktemp("aws")
    with pytest.MonkeyPatch.context() as mp:
        for var in _AWS_UNSET:
            mp.delenv(var, raising=False)
        mp.setenv("AWS_ACCESS_KEY_ID", "genforge-test")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "genforge-test-secret")
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.setenv("AWS_CONFIG_FILE", str(aws_dir / "config"))  # absent files: never the user's ~/.aws
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(aws_dir / "credentials"))
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            yield f"http://{host}:{port}"
        finally:
            server.stop()


def s3_client(endpoint: str):
    """A boto3 S3 client for the loopback server."""
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


@pytest.fixture
def s3_bucket(s3_server, request) -> str:
    """A fresh, empty bucket on the loopback S3 server, named after the test."""
    import re
    import uuid

    stem = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"{stem or 'test'}-{uuid.uuid4().hex[:8]}"  # 3–63 characters: lowercase letters, digits, dashes
    s3_client(s3_server).create_bucket(Bucket=name)
    return name


ORL_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "orl-faces"


def orl_source() -> Path:
    """The real ORL faces beside the checkout (../shared/data/orl-faces); the tests that need them skip without."""
    if not (ORL_DIR / "s1").is_dir():
        pytest.skip(f"the ORL faces are not in {ORL_DIR} (README, Data and licences)")
    return ORL_DIR


@pytest.fixture(scope="session")
def orl_dataset(tmp_path_factory) -> Path:
    """data/orl-faces materialised once from the real photos (default settings) into a temp project folder."""
    from components.data import orl

    root = tmp_path_factory.mktemp("orl") / "project"
    root.mkdir()
    return orl.build(root, orl.OrlDataConfig(source_dir=str(orl_source())))


# `team_stack`: one real team stack (PostgreSQL, MLflow server with basic-auth, Prefect server) for the session, on
# free ports in a temp workspace; yields the variables to export. How to use it: tests/team_stack.py.
from tests.team_stack import team_stack  # noqa: E402,F401 — imported last: the variables above are popped first
