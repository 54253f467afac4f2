"""prefect.yaml declares a deployment per config, with triggers on the datasets they read, a pull step that works on
any worker, and no local paths; `genforge data build` announces new data versions only (tests/flows/test_triggers.py
runs it all on a real server)."""

from __future__ import annotations

import asyncio
import subprocess
import time

import pytest
import yaml
from prefect.deployments.steps.utility import run_shell_script
from prefect.events.schemas.deployment_triggers import DeploymentEventTrigger
from pydantic import TypeAdapter

from components.families import load_config
from flows import events
from tests.conftest import REPO
from tests.flows.test_cli import genforge
from tests.flows.test_servers import closed_port, one_line_error

SPEC = yaml.safe_load((REPO / "prefect.yaml").read_text())
DEPLOYMENTS = {d["name"]: d for d in SPEC["deployments"]}
CONFIGS = {f"configs/{p.name}": load_config(p) for p in sorted((REPO / "configs").glob("*.yaml"))}


def deployment_of(config: str) -> dict:
    (found,) = [d for d in SPEC["deployments"] if d["parameters"]["config"] == config]
    return found


def base_model(cfg) -> str | None:
    """The registered model a config trains from (a fine-tune's base, the detector's generator), if any."""
    return getattr(getattr(cfg, "sources", None), "model", None)


def triggers(deployment: dict) -> list[DeploymentEventTrigger]:
    return TypeAdapter(list[DeploymentEventTrigger]).validate_python(deployment.get("triggers", []))


def test_every_config_has_one_deployment_on_the_genforge_pool():
    assert sorted(d["parameters"]["config"] for d in SPEC["deployments"]) == sorted(CONFIGS)
    for config in CONFIGS:
        deployment = deployment_of(config)
        assert deployment["name"] == CONFIGS[config].name  # genforge-pipeline/<config name>
        assert deployment["entrypoint"] == "flows/pipeline.py:pipeline"
        assert deployment["work_pool"]["name"] == "genforge"
        assert deployment["work_pool"]["job_variables"]["env"]["GENFORGE_ROOT"] == ""  # root: the run's clone


def test_each_deployment_retrains_on_its_data_or_after_its_base():
    """A new version of the dataset a config reads runs its deployment; a model trained from another registered
    one (a fine-tune, the detector) also runs after each completed run of its base's deployment, and has no
    schedule of its own. The detector has no dataset trigger: its base reads the same dataset, and it follows it."""
    registers = {cfg.model_name: deployment_of(config)["name"] for config, cfg in CONFIGS.items()}
    for config, cfg in CONFIGS.items():
        deployment = deployment_of(config)
        found = triggers(deployment)
        on_data = [t for t in found if t.expect == {events.DATASET_VERSIONED}]
        after = [t for t in found if t.expect == {"prefect.flow-run.Completed"}]
        assert len(on_data) + len(after) == len(found), deployment["name"]
        source = base_model(cfg)
        base = next(c for c in CONFIGS.values() if c.model_name == source) if source else None
        if base is None or base.dataset != cfg.dataset:
            (trigger,) = on_data
            assert trigger.match.model_dump() == {"prefect.resource.id": events.dataset_resource_id(cfg.dataset)}
        else:
            assert not on_data, deployment["name"]
        if source:
            (trigger,) = after
            assert trigger.match_related.model_dump() == {
                "prefect.resource.role": "deployment",
                "prefect.resource.name": registers[source],
            }
            assert not deployment.get("schedules"), deployment["name"]
        else:
            assert not after and deployment.get("schedules"), deployment["name"]


def test_schedules_nightly_for_fashion_mnist_weekly_for_the_rest():
    for config, cfg in CONFIGS.items():
        for schedule in deployment_of(config).get("schedules", []):
            minute, hour, day, month, weekday = schedule["cron"].split()
            assert schedule["timezone"] == "UTC"
            assert weekday == ("*" if cfg.dataset == "fashion-mnist" else "0"), config


def test_workers_clone_the_repository_and_no_local_path_is_baked_in():
    steps = [next(iter(step.items())) for step in SPEC["pull"]]
    assert [name for name, _ in steps][-1] == "prefect.deployments.steps.git_clone"
    clone = steps[-1][1]
    assert clone["repository"] == "{{ repo.stdout }}" and clone["branch"] == "{{ branch.stdout }}"
    assert "/work/" not in (REPO / "prefect.yaml").read_text() and "set_working_directory" not in str(SPEC)


def build_step(step_id: str) -> str:
    (script,) = [s[k]["script"] for s in SPEC["build"] for k in s if s[k].get("id") == step_id]
    return script


def shell(script: str, cwd, **env: str) -> str:
    """A prefect.yaml step script run as Prefect runs it, with only `env` (and PATH) set."""
    import os

    clean = {"PATH": os.environ["PATH"], "HOME": str(cwd), **env}
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            mp.delenv(key)
        for key, value in clean.items():
            mp.setenv(key, value)
        return asyncio.run(run_shell_script(script, directory=str(cwd), stream_output=False))["stdout"]


def test_the_repository_url_is_the_variable_else_this_checkouts_origin(tmp_path):
    assert shell(build_step("repo"), tmp_path, GENFORGE_REPO_URL="https://git.example/genforge.git") == (
        "https://git.example/genforge.git"
    )
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    with pytest.raises(RuntimeError, match="set GENFORGE_REPO_URL"):
        shell(build_step("repo"), tmp_path)
    subprocess.run(["git", "remote", "add", "origin", "file:///srv/genforge.git"], cwd=tmp_path, check=True)
    assert shell(build_step("repo"), tmp_path) == "file:///srv/genforge.git"
    assert shell(build_step("branch"), tmp_path) == "main"
    assert shell(build_step("branch"), tmp_path, GENFORGE_REPO_BRANCH="release") == "release"


def test_a_worker_without_a_registry_stops_before_cloning(tmp_path):
    (check,) = [s["prefect.deployments.steps.run_shell_script"]["script"] for s in SPEC["pull"][:1]]
    with pytest.raises(RuntimeError, match="MLFLOW_TRACKING_URI is not set"):
        shell(check, tmp_path)
    shell(check, tmp_path, MLFLOW_TRACKING_URI="http://mlflow:5000")


@pytest.fixture
def sent(monkeypatch):
    """Events that flows.events hands to Prefect (nothing leaves the process)."""
    import prefect.events
    from prefect.events.worker import EventsWorker

    got = []
    monkeypatch.setattr(prefect.events, "emit_event", lambda **kwargs: got.append(kwargs) or kwargs)
    monkeypatch.setattr(EventsWorker, "drain_all", classmethod(lambda cls, timeout=None: None))
    return got


def test_a_new_md5_is_announced_when_an_api_is_configured(monkeypatch, sent):
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert events.dataset_versioned("fashion-mnist", "b" * 32 + ".dir", "a" * 32 + ".dir", {"git_rev": "abc"})
    (event,) = sent
    assert event["event"] == "genforge.dataset.versioned"
    assert event["resource"] == {
        "prefect.resource.id": "genforge.dataset.fashion-mnist",
        "prefect.resource.name": "fashion-mnist",
        "genforge.md5": "b" * 32 + ".dir",
        "genforge.previous_md5": "a" * 32 + ".dir",
    }
    assert event["payload"]["git_rev"] == "abc"
    assert events.dataset_versioned("moby", "c" * 32 + ".dir", None)  # a first version is new too
    assert sent[-1]["resource"]["genforge.previous_md5"] == ""


def test_nothing_is_announced_for_the_same_md5_or_without_an_api(monkeypatch, sent):
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert events.dataset_versioned("fashion-mnist", "a.dir", "a.dir") is None
    monkeypatch.delenv("PREFECT_API_URL")
    assert events.dataset_versioned("fashion-mnist", "b.dir", "a.dir") is None
    assert sent == []


def test_data_build_with_an_unreachable_prefect_server_fails_before_building(workspace):
    url = f"http://127.0.0.1:{closed_port()}/api"
    started = time.monotonic()
    config = str(REPO / "configs" / "dcgan-fashion.yaml")
    result = genforge("data", "build", "--config", config, "--root", str(workspace), env={"PREFECT_API_URL": url})
    assert time.monotonic() - started < 15
    one_line_error(result, url, "PREFECT_API_URL")
    assert not (workspace / "data.dvc").exists()
