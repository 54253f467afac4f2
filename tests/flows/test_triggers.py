"""Retraining on new data, end to end on a real Prefect server: `genforge data build` of a changed source emits
genforge.dataset.versioned → the trigger that prefect.yaml declares runs the dcgan-fashion deployment → a process
worker clones the repository (git_clone of a file:// URL) and runs the pipeline in that clone → a model version is
registered with the new md5. Building the same data again emits nothing and registers nothing.

The repository is a tiny copy of this one: flows/, components/ and prefect.yaml as they are, the TINY config as
configs/dcgan-fashion.yaml (reading a tiny IDX source). Only the deployment's schedule is dropped (a nightly run
must not race the test) and its job variables get the test's MLflow store."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import yaml

from mlflow import MlflowClient
from tests.conftest import REPO, digits_28, make_workspace, write_idx
from tests.flows.conftest import write_config

pytestmark = pytest.mark.slow

PREFECT = str(Path(sys.executable).with_name("prefect"))
DEPLOYMENT = "dcgan-fashion"
FOLLOWER = "detector-fashion"
MODEL = "dcgan-fashion-mnist"  # TINY is a DCGAN on fashion-mnist (here: the digits source)


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(**extra: str) -> dict[str, str]:
    """The test's environment without any store or server of the user's (conftest already made it quiet)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "PREFECT_API_URL", "GENFORGE_ROOT")}
    return env | extra


def run(
    *args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 120
) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=cwd, env=env or base_env(), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args}: {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def genforge(*args: str, env: dict) -> str:
    code = f"import sys; sys.argv = ['genforge'] + {list(args)!r}; from flows.cli import main; main()"
    return run(sys.executable, "-c", code, cwd=REPO, env=env, timeout=300).stdout


def write_source(folder: Path, shift: int) -> Path:
    """The four IDX files from the digits, taken from `shift` on: another shift is another dataset version."""
    folder.mkdir(parents=True, exist_ok=True)
    images, labels = digits_28()
    images, labels = np.roll(images, -shift, axis=0), np.roll(labels, -shift, axis=0)
    write_idx(folder / "train-images-idx3-ubyte.gz", images[:1500])
    write_idx(folder / "train-labels-idx1-ubyte.gz", labels[:1500])
    write_idx(folder / "t10k-images-idx3-ubyte.gz", images[1500:])
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", labels[1500:])
    return folder


def make_repository(tmp: Path, source: Path, store: str) -> tuple[Path, Path]:
    """A checkout (`dev`) of a bare repository (`origin.git`, reached as file://) holding a tiny GenForge."""
    dev = make_workspace(tmp / "dev", tmp / "dvc-remote")
    for package in ("components", "flows"):
        shutil.copytree(REPO / package, dev / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    write_config(dev, source, "dcgan-fashion", {"train": {"epochs": 1}})
    spec = yaml.safe_load((REPO / "prefect.yaml").read_text())
    spec["deployments"] = [copy.deepcopy(d) for d in spec["deployments"]]  # unshare the YAML anchors' dicts
    deployments = {d["name"]: d for d in spec["deployments"]}
    deployments[DEPLOYMENT].pop("schedules", None)
    deployments[DEPLOYMENT]["work_pool"]["job_variables"]["env"]["MLFLOW_TRACKING_URI"] = store
    # The detector follows each completed dcgan-fashion run: its runs go to a pool that no worker serves.
    deployments[FOLLOWER]["work_pool"]["name"] = "parked"
    (dev / "prefect.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    (dev / ".gitignore").write_text("__pycache__/\n.genforge/\n.prefect/\nmlflow/\n")
    origin = tmp / "origin.git"
    run("git", "init", "-q", "--bare", str(origin))
    for cmd in (
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "tiny genforge"],
        ["git", "branch", "-M", "main"],
        ["git", "remote", "add", "origin", origin.as_uri()],
        ["git", "push", "-q", "origin", "main"],
    ):
        run(*cmd, cwd=dev)
    return dev, origin


@contextlib.contextmanager
def process(args: list[str], log: Path, env: dict, cwd: Path, stop_signals: int = 1):
    """A subprocess in its own process group, logging to `log`; stopped with `stop_signals` SIGTERMs (a Prefect
    worker ignores the first), then killed with its group if it still runs."""
    with log.open("w") as out:
        proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        for _ in range(stop_signals):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=3)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # its children (a flow run, uvicorn) too
        proc.wait()


def wait_for(what: str, check, timeout: float, logs: list[Path], interval: float = 1.0, detail=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(interval)
    tails = "\n".join(f"--- {log.name}\n{log.read_text()[-4000:]}" for log in logs if log.exists())
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}: {detail()}\n{tails}")


def test_a_new_data_version_retrains_through_the_deployment_trigger(tmp_path):
    started = time.monotonic()
    source = write_source(tmp_path / "source", shift=0)
    db = tmp_path / "registry" / "mlflow.db"
    store = f"sqlite:///{db}"
    dev, origin = make_repository(tmp_path, source, store)
    config = "configs/dcgan-fashion.yaml"

    # The first version, with no Prefect API configured: versioned, and not a word about events.
    output = genforge("data", "build", "--config", config, "--root", str(dev), env=base_env())
    assert "event" not in output.lower(), output
    md5_v1 = yaml.safe_load((dev / "data.dvc").read_text())["outs"][0]["md5"]
    run("git", "add", "data.dvc", "data/.gitignore", cwd=dev)
    run("git", "commit", "-q", "-m", "data: v1", cwd=dev)
    run("git", "push", "-q", "origin", "main", cwd=dev)

    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    server_env = base_env(PREFECT_HOME=str(tmp_path / "server-home"), PREFECT_SERVER_UI_ENABLED="false")
    worker_log, server_log = tmp_path / "worker.log", tmp_path / "server.log"
    logs = [server_log, worker_log]
    server_args = [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui"]
    with process(server_args, server_log, server_env, tmp_path) as server:

        def healthy() -> bool:
            assert server.poll() is None, server_log.read_text()[-3000:]
            with contextlib.suppress(httpx.HTTPError):
                return httpx.get(f"{api}/health", timeout=2).status_code == 200
            return False

        wait_for("the Prefect server", healthy, 60, logs, interval=0.3)
        client = httpx.Client(base_url=api, timeout=10)
        cli_env = base_env(PREFECT_API_URL=api, PREFECT_HOME=str(tmp_path / "cli-home"))
        for pool in ("genforge", "parked"):
            run(PREFECT, "work-pool", "create", pool, "--type", "process", env=cli_env)
        run(
            PREFECT,
            "--no-prompt",
            "deploy",
            "--name",
            DEPLOYMENT,
            "--name",
            FOLLOWER,
            cwd=dev,
            env=cli_env,
            timeout=180,
        )

        deployment = client.get(f"/deployments/name/genforge-pipeline/{DEPLOYMENT}").json()
        clone_step = deployment["pull_steps"][-1]["prefect.deployments.steps.git_clone"]
        assert clone_step["repository"] == origin.as_uri() and clone_step["branch"] == "main"  # the origin, resolved
        assert deployment["parameters"] == {"config": config}
        follower = client.get(f"/deployments/name/genforge-pipeline/{FOLLOWER}").json()
        automations = {a["name"]: a["trigger"] for a in client.post("/automations/filter", json={}).json()}
        assert automations["dcgan-fashion on new fashion-mnist data"]["match"] == {
            "prefect.resource.id": "genforge.dataset.fashion-mnist"
        }
        assert automations["detector-fashion after dcgan-fashion"]["expect"] == ["prefect.flow-run.Completed"]

        def flow_runs(of: dict = deployment) -> list[dict]:
            body = {"flow_runs": {"deployment_id": {"any_": [of["id"]]}}}
            return client.post("/flow_runs/filter", json=body).json()

        def versions() -> list:
            if not db.exists():
                return []
            return MlflowClient(store, store).search_model_versions(f"name = '{MODEL}'")

        # The worker: started with GENFORGE_ROOT at the dev checkout and without MLFLOW_TRACKING_URI, so the run
        # must get its root (the fresh clone) and its store (the job variables) from the deployment.
        worker_env = base_env(
            PREFECT_API_URL=api,
            PREFECT_HOME=str(tmp_path / "worker-home"),
            PREFECT_WORKER_QUERY_SECONDS="1",
            GENFORGE_ROOT=str(dev),
        )
        worker_args = [PREFECT, "worker", "start", "--pool", "genforge", "--limit", "1"]
        with process(worker_args, worker_log, worker_env, tmp_path, stop_signals=2):
            # A new version: the source changed, so the md5 does; with the API configured the event goes out.
            write_source(source, shift=100)
            output = genforge("data", "build", "--config", config, "--root", str(dev), env=cli_env)
            md5_v2 = yaml.safe_load((dev / "data.dvc").read_text())["outs"][0]["md5"]
            assert md5_v2 != md5_v1
            assert "event genforge.dataset.versioned sent" in output, output

            (flow_run,) = wait_for("the triggered flow run", flow_runs, 30, logs)
            assert flow_run["parameters"]["config"] == config

            def finished() -> dict | None:
                state = client.get(f"/flow_runs/{flow_run['id']}").json()["state"]
                assert state["type"] not in ("FAILED", "CRASHED", "CANCELLED"), (state, worker_log.read_text()[-6000:])
                return state if state["type"] == "COMPLETED" else None

            wait_for(
                "the flow run to complete",
                finished,
                150,
                logs,
                detail=lambda: client.get(f"/flow_runs/{flow_run['id']}").text,
            )
            (version,) = versions()
            assert version.tags["genforge.data_md5"] == md5_v2
            assert version.tags["prefect.flow_run_id"] == flow_run["id"]
            # The run worked in the worker's fresh clone (deleted since), not in the dev checkout of GENFORGE_ROOT.
            pipeline_run = MlflowClient(store, store).get_run(version.tags["genforge.pipeline_run_id"])
            (dataset_input,) = pipeline_run.inputs.dataset_inputs
            root = Path(json.loads(dataset_input.dataset.source)["path"]).parent.parent
            assert root != dev
            wait_for("the worker to delete its clone", lambda: not root.exists(), 30, logs)
            assert not (dev / ".genforge" / "checkpoints").exists()
            # ... while the model's files stay beside the store, not in the deleted clone.
            assert list((db.parent / "artifacts").rglob("model.onnx"))

            # The completed run triggered the detector's deployment (parked: no worker runs it here).
            (follower_run,) = wait_for("the detector's flow run", lambda: flow_runs(follower), 30, logs)
            assert follower_run["parameters"]["config"] == "configs/detector-fashion.yaml"

            events = client.post("/events/filter", json={"filter": {"event": {"name": ["genforge.dataset.versioned"]}}})
            (event,) = events.json()["events"]
            assert event["resource"]["genforge.md5"] == md5_v2
            assert event["resource"]["genforge.previous_md5"] == md5_v1

            # The same data again: nothing is emitted, nothing runs, nothing new is registered.
            output = genforge("data", "build", "--config", config, "--root", str(dev), env=cli_env)
            assert "event" not in output.lower(), output
            time.sleep(20)
            assert len(flow_runs()) == 1 and len(flow_runs(follower)) == 1 and len(versions()) == 1
            events = client.post("/events/filter", json={"filter": {"event": {"name": ["genforge.dataset.versioned"]}}})
            assert len(events.json()["events"]) == 1
        client.close()
    print(f"trigger test: {time.monotonic() - started:.0f} s")
