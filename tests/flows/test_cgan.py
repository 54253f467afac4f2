"""The conditional GAN through the whole pipeline, then `genforge generate --label` from the registry."""

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from flows.cli import app
from flows.pipeline import pipeline
from mlflow import MlflowClient
from tests.flows.conftest import write_config

pytestmark = pytest.mark.slow  # trains networks for tens of seconds

TINY_CGAN = {
    "family": "cgan",
    "model": {"latent_dim": 16, "g_features": 8, "d_features": 8, "embed_dim": 4},
    "train": {"epochs": 2, "batch_size": 64, "log_every": 5},
    "promotion": {"thresholds": {}, "improvement": {"significant": False}},
}


@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory, digits_source, prefect_harness):
    from tests.conftest import make_workspace

    base = tmp_path_factory.mktemp("cgan")
    ws = make_workspace(base / "project", base / "remote")
    summary = pipeline(write_config(ws, digits_source, "cgan", TINY_CGAN), str(ws))
    return ws, summary, MlflowClient(f"sqlite:///{ws}/mlflow/mlflow.db", f"sqlite:///{ws}/mlflow/mlflow.db")


def test_cgan_is_promoted_with_its_conditional_metrics(cgan_run):
    ws, summary, client = cgan_run
    assert summary["model"] == "cgan-fashion-mnist" and summary["decision"] == "promote"
    version = client.get_model_version_by_alias("cgan-fashion-mnist", "champion")
    metrics = client.get_run(version.run_id).data.metrics
    for key in ("onnx_parity", "fid"):
        assert key in metrics or key in summary["metrics"]
    m = summary["metrics"]
    assert 0 <= m["conditional_accuracy"] <= 1 and m["conditional_accuracy_ceiling"] > 0.5
    assert {"intra_fid", "fid_class_0", "kid_class_9", "conditional_accuracy_class_3"} <= set(m)
    assert m["onnx_parity"] < 1e-4


def test_generate_label_and_the_class_grid_from_the_registry(cgan_run, tmp_path):
    ws, _, _ = cgan_run
    runner = CliRunner()
    args = ["--root", str(ws)]
    one = runner.invoke(
        app,
        ["generate", "cgan-fashion-mnist@champion", "--label", "7", "-n", "4", "-o", str(tmp_path / "7.png"), *args],
    )
    assert one.exit_code == 0, one.output
    assert Image.open(tmp_path / "7.png").size == ((2 + 2 * 30) * 2,) * 2  # 2 × 2 tiles, saved at scale 2
    rows = runner.invoke(
        app, ["generate", "cgan-fashion-mnist@champion", "-n", "20", "-o", str(tmp_path / "all.png"), *args]
    )
    assert rows.exit_code == 0, rows.output
    grid = np.asarray(Image.open(tmp_path / "all.png"))
    assert grid.shape[:2] == ((2 + 10 * 30) * 2, (2 + 2 * 30) * 2)  # one row per class, 2 samples each
    bad = runner.invoke(
        app, ["generate", "cgan-fashion-mnist@champion", "--label", "12", "-o", str(tmp_path / "x.png"), *args]
    )
    assert bad.exit_code == 2 and "class label 12 does not exist" in bad.output
    assert not (tmp_path / "x.png").exists()
