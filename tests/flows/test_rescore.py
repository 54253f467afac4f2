"""Promotion compares like with like: a champion scored in another evaluation space (here: another evaluation
seed, so another evaluator network) is re-scored in the challenger's space before the decision."""

import re

import pytest

from flows.pipeline import pipeline
from mlflow import MlflowClient
from tests.flows.conftest import write_config

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.mark.slow
def test_a_champion_of_another_feature_space_is_rescored_before_the_decision(tmp_path, digits_source):
    from tests.conftest import make_workspace

    ws = make_workspace(tmp_path / "project", tmp_path / "remote")
    first = pipeline(write_config(ws, digits_source, "tiny"), str(ws))
    client = MlflowClient(f"sqlite:///{ws}/mlflow/mlflow.db", f"sqlite:///{ws}/mlflow/mlflow.db")
    v1 = client.get_model_version("dcgan-fashion-mnist", first["version"])
    same_space = pipeline(write_config(ws, digits_source, "seed1", {"seed": 1}), str(ws))  # another training seed
    assert not any("re-scored" in r for r in same_space["reasons"])  # one space: compared as registered

    champion = client.get_model_version_by_alias("dcgan-fashion-mnist", "champion")
    other = write_config(ws, digits_source, "eval1", {"seed": 2, "evaluation": {"seed": 1}})
    second = pipeline(other, str(ws))
    v3 = client.get_model_version("dcgan-fashion-mnist", second["version"])
    assert v3.tags["genforge.eval_space"] != v1.tags["genforge.eval_space"] == champion.tags["genforge.eval_space"]
    assert any("re-scored in this run's evaluation space" in r for r in second["reasons"]), second["reasons"]
    compared = next(r for r in second["reasons"] if "vs champion" in r)
    champion_fid = float(re.search(r"vs champion ([0-9.e+-]+)", compared).group(1))
    assert abs(champion_fid - float(champion.tags["metric.fid"])) > 1e-3  # not the number from the other space
