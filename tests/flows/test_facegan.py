"""The face GAN end to end on the real ORL faces: data (split by identity, DVC-versioned) → train with DiffAugment
→ evaluate (KID against held-out people, identity leakage, the privacy–quality curve) → export → promote, then a
torch-free `genforge generate`; and the privacy gate's known answer: a "generator" that returns training photos is
refused."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from components.data.shards import load_split
from components.families import parse_config
from components.families.base import EvalJob
from components.families.facegan import steps
from components.registry.policy import decide
from flows.pipeline import pipeline
from mlflow import MlflowClient
from tests.conftest import make_workspace, orl_source

MODEL = "facegan-orl-faces"
TINY_FACES = {
    "name": "tiny-faces",
    "family": "facegan",
    "model": {"latent_dim": 16, "g_features": 8, "d_features": 8},
    "train": {"epochs": 2, "batch_size": 32, "log_every": 5, "snapshots": 2},
    "evaluation": {"features": "identity", "bootstrap": 20, "c2st_epochs": 2},
    "privacy": {"identity_epochs": 10},
    # A two-epoch generator is far from real faces: the gate under test is the identity one.
    "promotion": {"thresholds": {"identity_match_rate": {"max": 0.5}}},
}


pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


@pytest.fixture(scope="module")
def face_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("facegan-e2e")
    ws = make_workspace(base / "project", base / "remote")
    (ws / "configs").mkdir()
    config = {**TINY_FACES, "data": {"source_dir": str(orl_source())}}
    (ws / "configs" / "faces.yaml").write_text(yaml.safe_dump(config))
    return ws, pipeline("configs/faces.yaml", str(ws))


def test_registered_with_quality_and_identity_leakage_beside_their_floors(face_run):
    ws, summary = face_run
    assert summary["model"] == MODEL and summary["decision"] == "promote", summary["reasons"]
    m = summary["metrics"]
    for key in ("kid", "kid_real_floor", "fid", "c2st_auc", "identity_match_rate", "identity_match_ceiling"):
        assert np.isfinite(m[key]), key
    assert 0 <= m["identity_match_rate"] <= 1 and m["identity_match_ceiling"] > m["identity_match_rate_real_floor"]
    assert m["onnx_parity"] <= 1e-4 and m["eval_num_samples"] == 80
    meta = json.loads((ws / "data" / "orl-faces" / "meta.json").read_text())
    assert not set(meta["train_people"]) & set(meta["test_people"])

    client = MlflowClient(f"sqlite:///{ws}/mlflow/mlflow.db", f"sqlite:///{ws}/mlflow/mlflow.db")
    version = client.get_model_version_by_alias(MODEL, "champion")
    assert json.loads(version.tags["genforge.headline"])[:2] == ["kid", "identity_match_rate"]
    artifacts = {a.path for a in client.list_artifacts(version.tags["genforge.eval_run_id"])}
    assert {"samples.png", "nearest_training_faces.png", "privacy_quality_curve.png"} <= artifacts
    local = client.download_artifacts(version.tags["genforge.eval_run_id"], "privacy_quality_curve.json")
    curve = json.loads(Path(local).read_text())
    assert [row["epoch"] for row in curve] == [1, 2]


def test_generate_faces_without_torch(face_run, tmp_path):
    from tests.flows.test_cli import genforge

    ws, _ = face_run
    out = tmp_path / "faces.png"
    result = genforge("generate", f"{MODEL}@champion", "-n", "16", "-o", str(out), "--root", str(ws), check_torch=True)
    assert result.returncode == 0, result.stderr
    assert out.is_file()


class Returns(nn.Module):
    """A "generator" that returns given photos (in order, cycling): what a memorising generator would do."""

    def __init__(self, images: np.ndarray):
        super().__init__()
        self.images = torch.from_numpy(images).float().div(127.5).sub(1).unsqueeze(1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.images[torch.arange(len(z)) % len(self.images)]

    def example_inputs(self, batch: int, seed: int = 0):
        return (torch.zeros(batch, 1),)


def test_the_privacy_gate_refuses_a_generator_that_returns_training_faces(face_run, tmp_path):
    ws, _ = face_run
    data = ws / "data" / "orl-faces"
    cfg = parse_config({**TINY_FACES, "evaluation": {**TINY_FACES["evaluation"], "curve": False}})
    job = EvalJob(tmp_path / "none.pt", data, "orl-md5", tmp_path / "cache")
    train_x, test_x = load_split(data, "train")[0], load_split(data, "test")[0]
    leaking = steps.evaluate(Returns(train_x[7::10]), cfg, job).metrics  # photo 8 of each person: not fitted on
    novel = steps.evaluate(Returns(test_x), cfg, job).metrics
    assert leaking["identity_match_rate"] >= leaking["identity_match_ceiling"] - 0.1
    assert novel["identity_match_rate"] <= novel["identity_match_rate_real_floor"] + 0.05
    assert decide(leaking, None, cfg.promotion).action == "reject"
    assert any("identity_match_rate" in r for r in decide(leaking, None, cfg.promotion).reasons)


def test_the_detector_learns_from_the_face_generator(face_run, tmp_path):
    """The detector family pointed at the face champion: it trains on 64×64 faces and exports a 64×64 graph."""
    import onnxruntime as ort

    ws, _ = face_run
    detector = {
        "name": "tiny-face-detector",
        "family": "detector",
        "dataset": "orl-faces",
        "data": {"source_dir": str(orl_source())},
        "sources": {"model": MODEL},
        "train": {"epochs": 2, "samples_per_source": 160, "real_samples": 320, "batch_size": 64},
        "promotion": {"thresholds": {"ap_in": {"min": 0.5}, "ap_cross": {"min": 0.0}}},
    }
    (ws / "configs" / "face-detector.yaml").write_text(yaml.safe_dump(detector))
    summary = pipeline("configs/face-detector.yaml", str(ws))
    assert summary["model"] == "detector-orl-faces" and np.isfinite(summary["metrics"]["ap_in"])
    from tests.flows.test_cli import genforge

    out = tmp_path / "detector"
    pulled = genforge("pull", f"detector-orl-faces/{summary['version']}", "-o", str(out), "--root", str(ws))
    assert pulled.returncode == 0, pulled.stderr
    assert ort.InferenceSession(str(out / "model.onnx")).get_inputs()[0].shape[1:] == [1, 64, 64]
