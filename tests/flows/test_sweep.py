"""Sweeps on Dask: every combination a child run under one sweep run, trained on a real LocalCluster through
prefect-dask; one promotion, for the best; a failing child fails alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from components.errors import UserError
from components.overrides import nested
from flows.sweep import combinations, parse_sets
from mlflow import MlflowClient
from tests.flows.conftest import write_config


def test_sets_expand_to_every_combination_in_a_fixed_order():
    grid = parse_sets(["train.lr=1e-4,2e-4", "seed=0,1"])
    assert grid == {"train.lr": [1e-4, 2e-4], "seed": [0, 1]}
    assert combinations(grid) == [
        {"train.lr": 1e-4, "seed": 0},
        {"train.lr": 1e-4, "seed": 1},
        {"train.lr": 2e-4, "seed": 0},
        {"train.lr": 2e-4, "seed": 1},
    ]
    assert nested({"train.lr": 1e-4, "seed": 0}) == {"train": {"lr": 1e-4}, "seed": 0}


@pytest.mark.parametrize("bad", ["train.lr", "=1", "data.source_dir=/x,/y", "dataset=a,b"])
def test_a_bad_set_is_refused(bad):
    with pytest.raises(UserError, match="--set"):
        parse_sets([bad])


def genforge(*args: str) -> subprocess.CompletedProcess:
    code = f"import sys; sys.argv = ['genforge'] + {list(args)!r}; from flows.cli import main; main()"
    # mlflow.set_tracking_uri() in this process (an earlier in-process pipeline) exported MLFLOW_TRACKING_URI: the
    # CLI must find its own workspace's store.
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900, env=env)


@pytest.mark.slow
def test_a_sweep_promotes_its_best_child_once_and_a_failed_child_fails_alone(workspace, digits_source):
    config = write_config(workspace, digits_source, "tiny", {"train": {"epochs": 1}})
    # lr 1e30 diverges at its first steps: that child fails; the other two are trained and compared.
    result = genforge("sweep", config, "--set", "train.lr=2e-4,4e-4,1e30", "--workers", "2",
                      "--root", str(workspace))  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    assert "best: train.lr=" in result.stdout and "promote" in result.stdout, result.stdout
    assert "Error logging to API" not in result.stderr  # the last log records went out before the API stopped

    uri = f"sqlite:///{workspace}/mlflow/mlflow.db"
    client = MlflowClient(uri, uri)
    experiment = client.get_experiment_by_name("tiny").experiment_id
    (parent,) = client.search_runs([experiment], "tags.`genforge.step` = 'sweep'")
    children = client.search_runs([experiment], f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'")
    rows = json.loads(Path(client.download_artifacts(parent.info.run_id, "sweep.json")).read_text())
    assert len(children) == 3
    statuses = sorted(c.info.status for c in children)
    assert statuses == ["FAILED", "FINISHED", "FINISHED"], rows  # a child's failure message is in its row
    for child in children:
        if child.info.status == "FINISHED":
            steps = client.search_runs([experiment], f"tags.`mlflow.parentRunId` = '{child.info.run_id}'")
            assert {s.data.tags["genforge.step"] for s in steps} >= {"train", "evaluate", "export"}

    versions = client.search_model_versions("name = 'dcgan-fashion-mnist'")
    assert len(versions) == 1  # one promotion, for the best child only
    best = [r for r in rows if r["status"] == "best"]
    failed = [r for r in rows if r["status"].startswith("failed")]
    assert len(best) == 1 and len(failed) == 1 and failed[0]["values"]["train.lr"] == 1e30
    assert "diverged" in failed[0]["status"]
    done = [r for r in rows if r["metric"] is not None]
    assert best[0]["metric"] == min(r["metric"] for r in done)  # the gate's metric (FID) is minimised
    assert {a.path for a in client.list_artifacts(parent.info.run_id)} >= {"sweep.md", "sweep.json", "sweep.png"}
