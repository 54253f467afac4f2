"""End to end on the team stack: a tiny pipeline runs through a Prefect deployment and a worker against the
PostgreSQL-backed Prefect and MLflow servers (basic-auth on); the champion is pulled through the authenticated server
with its lineage tags and sha256; a wrong password (MLflow's or Prefect's) is one line and exit 2."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from components.data.versioning import pinned_md5
from tests.conftest import REPO, make_workspace
from tests.flows.conftest import write_config
from tests.flows.test_cli import genforge

MODEL = "dcgan-fashion-mnist"


def cli(args, env, cwd=REPO, timeout=300):
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_a_deployment_trains_on_the_team_stack_and_the_champion_pulls_through_auth(team_stack, digits_source, tmp_path):
    env = team_stack.environ({k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"})
    ws = make_workspace(tmp_path / "project", tmp_path / "remote")
    config = str(ws / write_config(ws, digits_source, "tiny"))
    prefect = [sys.executable, "-m", "prefect"]
    assert cli([*prefect, "work-pool", "create", "e2e", "--type", "process"], env).returncode == 0
    deploy = (
        "from flows.pipeline import pipeline; "
        f"print(pipeline.from_source(source={str(REPO)!r}, entrypoint='flows/pipeline.py:pipeline').deploy("
        f"name='e2e', work_pool_name='e2e', parameters={{'config': {config!r}, 'root': {str(ws)!r}}}, "
        "print_next_steps=False))"
    )
    deployed = cli([sys.executable, "-c", deploy], env)
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    started = cli([*prefect, "deployment", "run", "genforge-pipeline/e2e"], env)
    assert started.returncode == 0, started.stderr[-2000:]
    flow_run_id = next(w for w in started.stdout.split() if len(w) == 36 and w.count("-") == 4)

    worker = subprocess.Popen(
        [*prefect, "worker", "start", "--pool", "e2e", "--run-once"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        log, _ = worker.communicate(timeout=600)
    finally:
        if worker.poll() is None:  # a worker ignores the first SIGTERM
            worker.send_signal(signal.SIGTERM)
            time.sleep(1)
            worker.send_signal(signal.SIGTERM)
    user, password = env["PREFECT_API_AUTH_STRING"].split(":", 1)  # the stack's Prefect server wants basic auth
    flow_run = requests.get(f"{env['PREFECT_API_URL']}/flow_runs/{flow_run_id}", auth=(user, password), timeout=10)
    state = flow_run.json()["state"]["type"]
    assert state == "COMPLETED", log[-4000:]

    # The champion, pulled through the authenticated server by the consumer command: sha256 and lineage.
    out = tmp_path / "pulled"
    pulled = genforge("pull", f"{MODEL}@champion", "-o", str(out), "--root", str(ws), env=team_stack)
    assert pulled.returncode == 0 and "sha256 verified" in pulled.stdout, pulled.stderr
    tags = json.loads((out / "genforge.json").read_text())["tags"]
    assert tags["genforge.data_md5"] == pinned_md5(ws)
    assert tags["prefect.flow_run_id"] == flow_run_id
    assert tags["genforge.promotion"] == "applied" and tags["genforge.decision"] == "promote"
    from components.checksums import sha256_file

    assert sha256_file(out / "model.onnx") == tags["genforge.onnx_sha256"]

    wrong = genforge("models", "--root", str(ws), env={**team_stack, "MLFLOW_TRACKING_PASSWORD": "wrong-password"})
    lines = [line for line in wrong.stderr.splitlines() if line.strip()]
    assert wrong.returncode == 2 and len(lines) == 1 and "MLFLOW_TRACKING_USERNAME" in lines[0]
    wrong = genforge("run", "configs/dcgan-fashion.yaml", "--root", str(ws),
                     env={**team_stack, "PREFECT_API_AUTH_STRING": "admin:wrong-password"})  # fmt: skip
    lines = [line for line in wrong.stderr.splitlines() if line.strip()]
    assert wrong.returncode == 2 and len(lines) == 1 and "PREFECT_API_AUTH_STRING" in lines[0], wrong.stderr
    listing = genforge("models", "--root", str(ws), env=team_stack)
    assert listing.returncode == 0 and MODEL in listing.stdout
    grid = genforge(
        "generate", f"{MODEL}@champion", "-n", "4", "-o", str(tmp_path / "g.png"), "--root", str(ws), env=team_stack
    )
    assert grid.returncode == 0 and (tmp_path / "g.png").stat().st_size > 100, grid.stderr
    report = genforge("report", f"{MODEL}@champion", "-o", str(tmp_path / "r"), "--root", str(ws), env=team_stack)
    assert report.returncode == 0 and "| fid |" in report.stdout, report.stderr
    ui = genforge("ui", "--root", str(ws), env=team_stack)  # the server is the dashboard: its address, no local UI
    assert ui.returncode == 0 and team_stack["MLFLOW_TRACKING_URI"] in ui.stdout
