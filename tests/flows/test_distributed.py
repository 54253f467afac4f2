"""Data-parallel training through the pipeline: the cache key follows the world size only where results depend
on it; a 2-process run registers like a 1-process one; a failed process fails the step with one line, exit 2,
nothing registered. (The known answers of the arithmetic: tests/training/test_distributed.py.)"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from components.families import parse_config
from components.refs import DataRef
from components.workspace import Workspace
from flows.pipeline import pipeline, train_key
from mlflow import MlflowClient
from tests.flows.conftest import write_config


def _key(ws, raw: dict) -> str:
    data = DataRef("data/x", "md5", "dataset-md5", "rev")
    return train_key(parse_config(raw), data, Workspace.at(ws))


@pytest.mark.parametrize(
    "raw, same",
    [
        ({"family": "gpt"}, True),  # LayerNorm only: the same weights on any number of processes
        ({"family": "vae"}, True),
        ({"family": "dcgan"}, False),  # BatchNorm: per-process statistics on CPU, other weights
    ],
)
def test_the_train_key_follows_the_world_size_only_where_results_depend_on_it(tmp_path, raw, same):
    two = {**raw, "train": {"batch_size": 64, "distributed": {"nproc_per_node": 2}}}
    assert (_key(tmp_path, {**raw, "train": {"batch_size": 64}}) == _key(tmp_path, two)) is same
    four = {**raw, "train": {"batch_size": 64, "distributed": {"nproc_per_node": 4}}}
    assert (_key(tmp_path, two) == _key(tmp_path, four)) is same


def failed_two_process_run(workspace, digits_source, name: str, train: dict) -> tuple[str, str]:
    """`genforge run --set train.distributed.nproc_per_node=2` (the README's form) of a config that must fail: (its
    one error line, its stderr)."""
    config = write_config(workspace, digits_source, name, {"train": train})
    result = genforge("run", config, "--set", "train.distributed.nproc_per_node=2", "--root", str(workspace))
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2 and len(lines) == 1, result.stderr[-3000:]
    return lines[0], result.stderr


def test_a_batch_that_does_not_split_evenly_is_refused_before_training(workspace, digits_source):
    line, _ = failed_two_process_run(workspace, digits_source, "uneven", {"batch_size": 63})
    assert "train.batch_size 63 does not split evenly over 2 processes" in line


def genforge(*args: str) -> subprocess.CompletedProcess:
    code = f"import sys; sys.argv = ['genforge'] + {list(args)!r}; from flows.cli import main; main()"
    # mlflow.set_tracking_uri() in this process (an earlier in-process pipeline) exported MLFLOW_TRACKING_URI: the
    # CLI must find its own workspace's store.
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env)


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_a_two_process_run_registers_a_champion(workspace, digits_source):
    two = {"nproc_per_node": 2}
    config = write_config(workspace, digits_source, "ddp", {"train": {"epochs": 1, "distributed": two}})
    summary = pipeline(config, str(workspace))
    assert summary["decision"] == "promote" and summary["version"] == "1"
    client = MlflowClient(f"sqlite:///{workspace}/mlflow/mlflow.db", f"sqlite:///{workspace}/mlflow/mlflow.db")
    experiment = client.get_experiment_by_name("tiny")
    train = client.search_runs([experiment.experiment_id], "tags.`genforge.step` = 'train'")[0]
    assert len(client.get_metric_history(train.info.run_id, "d_loss")) >= 3  # rank 0's rows, passed on live
    assert {a.path for a in client.list_artifacts(train.info.run_id, "images")}  # the per-epoch picture
    assert "checkpoint/last.pt" in {a.path for a in client.list_artifacts(train.info.run_id, "checkpoint")}


@pytest.mark.slow
def test_a_failed_process_fails_the_step_with_one_line_and_registers_nothing(workspace, digits_source):
    line, stderr = failed_two_process_run(workspace, digits_source, "ddp-nan", {"lr": 1e30})
    assert "distributed training failed" in line and "training diverged" in line, line
    assert "Traceback" not in stderr
    client = MlflowClient(f"sqlite:///{workspace}/mlflow/mlflow.db", f"sqlite:///{workspace}/mlflow/mlflow.db")
    assert not client.search_registered_models()
