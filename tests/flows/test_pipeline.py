"""End to end on tiny real data: real Prefect (test harness), real MLflow (SQLite), real DVC (temp git repo)."""

import numpy as np
import pytest

from components.data.versioning import pinned_md5
from flows.pipeline import pipeline
from tests.flows.conftest import write_config

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]  # full pipeline runs


def step_runs(client, step):
    experiment = client.get_experiment_by_name("tiny")
    return client.search_runs([experiment.experiment_id], f"tags.`genforge.step` = '{step}'")


def test_first_run_promotes_a_champion_with_lineage_tags(first_run):
    ws, _, summary, client = first_run
    assert summary["decision"] == "promote" and summary["version"] == "1"
    champion = client.get_model_version_by_alias("dcgan-fashion-mnist", "champion")
    tags = champion.tags
    assert tags["genforge.data_md5"] == pinned_md5(ws)
    for key in (
        "genforge.onnx_sha256",
        "genforge.git_commit",
        "genforge.config_hash",
        "genforge.decision",
        "genforge.code_version",
        "prefect.flow_run_id",
    ):
        assert tags.get(key), key
    assert float(tags["metric.onnx_parity"]) < 1e-4


def test_parent_run_has_nested_steps_dataset_and_pictures(first_run):
    _, _, summary, client = first_run
    parent = client.get_run(summary["pipeline_run_id"])
    assert parent.data.tags["prefect.flow_run_id"]
    assert parent.inputs.dataset_inputs[0].dataset.digest == summary["data"]["dvc_md5"][:36]
    children = client.search_runs([parent.info.experiment_id], f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'")
    assert {c.data.tags["genforge.step"] for c in children} == {"train", "evaluate", "export", "promote"}
    train = next(c for c in children if c.data.tags["genforge.step"] == "train")
    assert len(client.get_metric_history(train.info.run_id, "d_loss")) > 3  # batched loss curve
    evaluate = next(c for c in children if c.data.tags["genforge.step"] == "evaluate")
    for key in ("fid", "fid_ci_low", "kid", "fid_real_floor", "c2st_auc", "c2st_p_value"):
        assert key in evaluate.data.metrics, key
    names = {a.path for a in client.list_artifacts(evaluate.info.run_id)}
    assert {"samples.png", "roc.png"} <= names
    images = {a.path for a in client.list_artifacts(train.info.run_id, "images")}
    assert images, "no per-epoch sample grids logged"
    checkpoints = {a.path for a in client.list_artifacts(train.info.run_id, "checkpoint")}
    assert {"checkpoint/last.pt", "checkpoint/epoch_001.pt", "checkpoint/epoch_003.pt"} <= checkpoints
    for key in ("precision", "recall", "density", "coverage", "memorised_fraction", "exact_copy_fraction"):
        assert key in evaluate.data.metrics, key
    assert "memorisation.png" in names
    promote = next(c for c in children if c.data.tags["genforge.step"] == "promote")
    report = {a.path for a in client.list_artifacts(promote.info.run_id, "report")}
    assert {"report/report.md", "report/challenger_samples.png", "report/challenger_roc.png"} <= report


def test_pyfunc_loads_the_champion_and_predicts_images(first_run):
    import mlflow

    ws, *_ = first_run
    uri = f"sqlite:///{ws}/mlflow/mlflow.db"
    # Both: other tests' pipelines in this process left MLflow's registry URI on their own stores.
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    model = mlflow.pyfunc.load_model("models:/dcgan-fashion-mnist@champion")
    out = model.predict(np.random.default_rng(0).standard_normal((4, 16)).astype(np.float32))
    images = np.asarray(out["images"] if isinstance(out, dict) else out)
    assert images.shape == (4, 1, 28, 28) and np.abs(images).max() <= 1


def test_unchanged_rerun_is_cached_and_registers_nothing(first_run):
    ws, config, _, client = first_run
    summary = pipeline(config, str(ws))
    assert summary["already_registered"] and summary["version"] == "1"
    assert len(client.search_model_versions("name = 'dcgan-fashion-mnist'")) == 1
    assert len(step_runs(client, "train")) == 1, "training ran again despite the cache"


def test_a_few_step_run_is_registered_but_the_champion_stays(first_run, digits_source):
    ws, _, _, client = first_run
    config = write_config(ws, digits_source, "few", {"train": {"epochs": 3, "max_steps": 1}, "name": "tiny"})
    summary = pipeline(config, str(ws))
    assert summary["decision"] in ("keep", "reject") and summary["version"] == "2"
    assert str(client.get_model_version_by_alias("dcgan-fashion-mnist", "champion").version) == "1"
    assert str(client.get_model_version_by_alias("dcgan-fashion-mnist", "challenger").version) == "2"


def test_changed_config_does_not_hit_a_stale_cache(first_run, digits_source):
    ws, _, _, client = first_run
    trained_before = len(step_runs(client, "train"))
    config = write_config(ws, digits_source, "seed1", {"seed": 1})
    pipeline(config, str(ws))
    assert len(step_runs(client, "train")) == trained_before + 1
