"""The VAE family end to end on the digits: trained, scored (ELBO, bits/dim, repair vs baselines, FID & co.),
exported as decoder + encoder, promoted, pulled and used by `genforge repair` without torch."""

import numpy as np
import pytest
from PIL import Image

from components.images import save_png
from flows.pipeline import pipeline
from mlflow import MlflowClient
from tests.flows.conftest import write_config

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]  # full pipeline runs

VAE = {
    "family": "vae",
    "name": "tiny-vae",
    "model": {"latent_dim": 8, "features": 8},
    "train": {"epochs": 3, "batch_size": 64, "lr": 3e-3, "log_every": 5, "num_threads": 1},
    "repair": {"num_images": 40, "mask_size": 10, "steps": 10},
    "promotion": {
        "thresholds": {"test_bpd": {"max": 8.0}},
        "improvement": {"metric": "test_bpd", "mode": "min", "significant": False},
    },
}


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory, digits_source):
    from tests.conftest import make_workspace

    base = tmp_path_factory.mktemp("vae")
    ws = make_workspace(base / "project", base / "remote")
    config = write_config(ws, digits_source, "vae", VAE)
    return ws, pipeline(config, str(ws))


def test_vae_is_registered_with_likelihood_repair_and_sample_metrics(vae_run):
    ws, summary = vae_run
    assert summary["model"] == "vae-fashion-mnist" and summary["decision"] == "promote", summary["reasons"]
    m = summary["metrics"]
    assert 0 < m["test_bpd"] < 8 and m["test_elbo"] < 0
    assert m["test_bpd"] == pytest.approx(-m["test_elbo"] / (784 * np.log(2)))
    assert m["test_bpd_ci_low"] < m["test_bpd"] < m["test_bpd_ci_high"]
    for key in ("repair_mse_vae", "repair_mse_mean_fill", "repair_mse_nn_patch", "recon_mse"):
        assert 0 <= m[key] <= 1, key
    for key in ("fid", "kid", "c2st_auc", "precision", "memorised_fraction"):
        assert key in m, key
    assert m["onnx_parity"] <= 1e-4

    client = MlflowClient(f"sqlite:///{ws}/mlflow/mlflow.db", f"sqlite:///{ws}/mlflow/mlflow.db")
    version = client.get_model_version_by_alias("vae-fashion-mnist", "champion")
    assert "encoder.onnx" in version.tags["genforge.files"]
    pictures = {a.path for a in client.list_artifacts(version.tags["genforge.eval_run_id"])}
    assert {"samples.png", "reconstructions.png", "repairs.png", "roc.png"} <= pictures
    train = client.get_run(version.tags["genforge.train_run_id"])
    assert {"loss", "recon", "kl"} <= set(train.data.metrics)


def test_pull_and_repair_without_torch(vae_run, tmp_path):
    from tests.conftest import digits_28
    from tests.flows.test_cli import genforge

    ws, _ = vae_run
    pulled = genforge("pull", "vae-fashion-mnist@champion", "-o", str(tmp_path / "vae"), "--root", str(ws))
    assert pulled.returncode == 0, pulled.stderr
    assert (tmp_path / "vae" / "model.onnx").is_file() and (tmp_path / "vae" / "encoder.onnx").is_file()

    digit = digits_28()[0][1700]  # a test-split digit
    save_png(digit, tmp_path / "digit.png")
    out, panel = tmp_path / "repaired.png", tmp_path / "panel.png"
    args = ("repair", str(tmp_path / "vae"), str(tmp_path / "digit.png"), "--mask", "8,8,18,18")
    result = genforge(*args, "-o", str(out), "--panel", str(panel), check_torch=True)
    assert result.returncode == 0, result.stderr
    assert "NO-TORCH" in result.stdout
    repaired = np.asarray(Image.open(out))
    assert repaired.shape == (28, 28) and panel.stat().st_size > 100
    hole = np.zeros((28, 28), bool)
    hole[8:18, 8:18] = True
    assert np.array_equal(repaired[~hole], digit[~hole])  # visible pixels are kept as they were

    # The same, straight from the registry.
    from_registry = genforge(*args, "-o", str(tmp_path / "again.png"), "--root", str(ws))
    assert from_registry.returncode == 0, from_registry.stderr
    assert np.array_equal(np.asarray(Image.open(tmp_path / "again.png")), repaired)


@pytest.mark.parametrize(
    "mask, message",
    [("8,8,4,20", "x1 > x0"), ("1,2,3", "four integers")],  # the others: test_repair.py
)
def test_repair_refuses_a_bad_mask(vae_run, tmp_path, mask, message):
    from tests.flows.test_cli import genforge

    ws, _ = vae_run
    save_png(np.zeros((28, 28), np.uint8), tmp_path / "x.png")
    result = genforge(
        "repair", "vae-fashion-mnist@champion", str(tmp_path / "x.png"), "--mask", mask, "--root", str(ws)
    )
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
