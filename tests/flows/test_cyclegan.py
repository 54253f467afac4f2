"""The CycleGAN family end to end on a tiny emoji source: data → train → evaluate → export (two graphs) → promote,
then a torch-free `genforge pull` and `genforge translate` (both directions)."""

import json

import numpy as np
import pytest
import yaml
from PIL import Image

from components.serving import translate
from flows.pipeline import pipeline
from mlflow import MlflowClient
from tests.conftest import make_workspace
from tests.emoji_source import NAMES, emoji_source  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]  # full pipeline runs

MODEL = "cyclegan-emoji-google2twitter"
TINY_CYCLEGAN = {
    "name": "tiny-cyclegan",
    "family": "cyclegan",
    "model": {"g_features": 4, "d_features": 4, "res_blocks": 1},
    "train": {"epochs": 2, "batch_size": 8, "log_every": 1},
    "evaluation": {  # the style classifier as feature network: no Inception weights needed
        "features": "evaluator",
        "bootstrap": 20,
        "evaluator": {"epochs": 1},
        "c2st": {"num_samples": 40, "epochs": 1},
    },
    # A two-epoch model does not beat the identity baseline: gate on parity alone here.
    "promotion": {"thresholds": {}},
}


@pytest.fixture(scope="module")
def cyclegan_run(tmp_path_factory, emoji_source):  # noqa: F811
    base = tmp_path_factory.mktemp("cyclegan-e2e")
    ws = make_workspace(base / "project", base / "remote")
    data = {"google_dir": str(emoji_source / "google"), "twitter_dir": str(emoji_source / "twitter")}
    (ws / "configs").mkdir()
    config = {**TINY_CYCLEGAN, "data": {**data, "test_fraction": 0.3}}
    (ws / "configs" / "cyclegan.yaml").write_text(yaml.safe_dump(config))
    return ws, pipeline("configs/cyclegan.yaml", str(ws))


def test_registered_with_metrics_beside_their_identity_baselines(cyclegan_run):
    ws, summary = cyclegan_run
    assert summary["model"] == MODEL and summary["decision"] == "promote"
    metrics = summary["metrics"]
    for key in ("l1_ab", "psnr_ab", "ssim_ab", "l1_ba", "fid_b", "kid_b", "kid_a", "c2st_auc"):
        assert np.isfinite(metrics[key]) and np.isfinite(metrics.get(f"{key}_identity", 0.0)), key
    for key in ("l1_ab_identity", "ssim_ab_identity", "fid_b_identity", "cycle_l1_a", "cycle_l1_b", "l1_ab_gain"):
        assert key in metrics, key
    assert 0 < metrics["l1_ab_identity"] < 1 and metrics["onnx_parity"] <= 1e-4
    meta = json.loads((ws / "data" / "emoji-google2twitter" / "meta.json").read_text())
    assert "CC-BY 4.0" in meta["attribution"] and len(meta["names"]) == len(NAMES)

    client = MlflowClient(f"sqlite:///{ws}/mlflow/mlflow.db", f"sqlite:///{ws}/mlflow/mlflow.db")
    version = client.get_model_version_by_alias(MODEL, "champion")
    assert set(json.loads(version.tags["genforge.files"])) == {"reverse.onnx"}
    evaluation = client.get_run(version.tags["genforge.eval_run_id"])
    assert {"translations.png", "roc.png"} <= {a.path for a in client.list_artifacts(evaluation.info.run_id)}


def test_pull_and_translate_without_torch(cyclegan_run, emoji_source, tmp_path):  # noqa: F811
    from tests.flows.test_cli import genforge

    ws, _ = cyclegan_run
    pulled = genforge("pull", f"{MODEL}@champion", "-o", str(tmp_path / "m"), "--root", str(ws))
    assert pulled.returncode == 0, pulled.stderr
    assert (tmp_path / "m" / "model.onnx").is_file() and (tmp_path / "m" / "reverse.onnx").is_file()

    source = emoji_source / "google" / NAMES[0]
    # From the registry (A → B), then from the pulled folder (B → A, reverse.onnx).
    cases = ((f"{MODEL}@champion", [], "model.onnx"), (str(tmp_path / "m"), ["--reverse"], "reverse.onnx"))
    for ref, extra, graph in cases:
        out = tmp_path / f"out-{graph}.png"
        result = genforge("translate", ref, str(source), "-o", str(out), *extra, "--root", str(ws), check_torch=True)
        assert result.returncode == 0, result.stderr
        assert "NO-TORCH" in result.stdout
        with Image.open(out) as picture:
            assert picture.size == (64, 64) and picture.mode == "RGB"
            written = np.asarray(picture)
        assert np.array_equal(written, translate(tmp_path / "m" / graph, [source])[0])  # the CLI is the library


def test_translate_refuses_a_missing_image(cyclegan_run, tmp_path):
    from tests.flows.test_cli import genforge

    ws, _ = cyclegan_run
    result = genforge("translate", f"{MODEL}@champion", str(tmp_path / "nope.png"), "--root", str(ws))
    assert result.returncode == 2 and "no such image file" in result.stderr
