"""The detector family end to end: learns from the registered generator's checkpoints, is exported, promoted and
served by `genforge detect`."""

import numpy as np
import pytest

from components.images import save_png
from components.serving import generate
from flows.pipeline import pipeline
from mlflow import MlflowClient
from tests.flows.conftest import write_config

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]  # full pipeline runs

DETECTOR = {
    "family": "detector",
    "name": "tiny-detector",
    "train": {"epochs": 4, "samples_per_source": 300, "real_samples": 600, "batch_size": 64},
    "promotion": {"thresholds": {"ap_in": {"min": 0.6}}},
}


@pytest.fixture(scope="session")
def detector_run(first_run, digits_source):
    ws, *_ = first_run
    config = write_config(ws, digits_source, "detector", DETECTOR)
    return ws, pipeline(config, str(ws))


def test_detector_is_trained_on_checkpoints_and_tested_on_an_unseen_generator(detector_run):
    ws, summary = detector_run
    assert summary["model"] == "detector-fashion-mnist" and summary["decision"] == "promote"
    metrics = summary["metrics"]
    for key in ("ap_in", "auc_in", "ap_cross", "auc_cross"):
        assert 0 <= metrics[key] <= 1, key
    assert metrics["ap_in"] > 0.6 and metrics["source_checkpoints"] == 2  # epochs 1-2 train, epoch 3 held out
    client = MlflowClient(f"sqlite:///{ws}/mlflow/mlflow.db", f"sqlite:///{ws}/mlflow/mlflow.db")
    version = client.get_model_version_by_alias("detector-fashion-mnist", "champion")
    train_run = client.get_run(version.tags["genforge.train_run_id"])
    assert train_run.data.tags["genforge.source_model"] == "dcgan-fashion-mnist"


def test_genforge_detect_tells_a_real_image_from_a_generated_one(detector_run, tmp_path):
    from tests.conftest import digits_28
    from tests.flows.test_cli import genforge

    ws, _ = detector_run
    pulled = genforge("pull", "dcgan-fashion-mnist@champion", "-o", str(tmp_path / "g"), "--root", str(ws))
    assert pulled.returncode == 0, pulled.stderr
    fake = generate(tmp_path / "g" / "model.onnx", 1, seed=7)[0, ..., 0]
    real = digits_28()[0][1700]  # a test-split digit
    save_png(fake, tmp_path / "fake.png")
    save_png(real, tmp_path / "real.png")
    result = genforge(
        "detect", str(tmp_path / "real.png"), str(tmp_path / "fake.png"), "--root", str(ws), check_torch=True
    )
    assert result.returncode == 0, result.stderr
    lines = [line.split("\t") for line in result.stdout.splitlines() if "\t" in line]
    verdicts = {name.rsplit("/", 1)[-1]: verdict for name, _, verdict in lines}
    assert verdicts == {"real.png": "real", "fake.png": "generated"}
    assert "NO-TORCH" in result.stdout
    probabilities = np.array([float(p) for _, p, _ in lines])
    assert probabilities[0] < 0.5 < probabilities[1]


def test_detect_refuses_a_missing_file(detector_run, tmp_path):
    from tests.flows.test_cli import genforge

    ws, _ = detector_run
    result = genforge("detect", str(tmp_path / "nope.png"), "--root", str(ws))
    assert result.returncode == 2 and "no such image file" in result.stderr
