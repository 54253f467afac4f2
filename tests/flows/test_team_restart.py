"""A server restarted mid-run: the run fails with one clear line, nothing is half-registered, and the re-run after
the restart is served from the cache up to the failed step and finishes."""

import os
import secrets
import subprocess
import sys
import time

import pytest

from flows import stack
from mlflow import MlflowClient
from tests.conftest import make_workspace
from tests.flows.conftest import write_config
from tests.team_stack import require_postgres, stack_workspace, start

MODEL = "dcgan-fashion-mnist"


def genforge_run(config, ws, env, pause_at=None):
    argv = ["genforge", "run", config, "--root", str(ws)]
    code = f"import sys; sys.argv = {argv!r}; from flows.cli import main; main()"
    extra = {"GENFORGE_PAUSE_AT": pause_at} if pause_at else {}
    return subprocess.Popen(
        [sys.executable, "-c", code], env={**env, **extra}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "service, variable",
    [("mlflow", "MLFLOW_TRACKING_URI"), ("prefect", "PREFECT_API_URL"), ("postgres", "MLFLOW_TRACKING_URI")],
)
def test_a_server_restarted_mid_run_fails_clearly_and_the_rerun_finishes_from_cache(
    digits_source, tmp_path, service, variable
):
    require_postgres()
    password = secrets.token_urlsafe(18)
    with stack_workspace() as root:
        try:
            up = start(root, password)
            env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "PREFECT_API_URL")}
            env |= up.env
            ws = make_workspace(tmp_path / "project", tmp_path / "remote")
            config = write_config(ws, digits_source, "tiny")

            # Trained, then paused for 20 s after the train step: the server stops meanwhile.
            run = genforge_run(config, ws, env, pause_at="after:train=20")
            record = stack._read_json(stack.Paths(stack.state_dir(root)).pids)[service]
            # Registry too: earlier tests in this process set MLflow's global registry URI to their own stores.
            client = MlflowClient(up.env["MLFLOW_TRACKING_URI"], up.env["MLFLOW_TRACKING_URI"])
            os.environ.update({k: up.env[k] for k in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")})
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                experiment = client.get_experiment_by_name("tiny")
                if experiment and client.search_runs([experiment.experiment_id], "tags.`genforge.step` = 'train'"):
                    train = client.search_runs([experiment.experiment_id], "tags.`genforge.step` = 'train'")[0]
                    if train.info.status == "FINISHED":
                        break
                time.sleep(1)
            if service == "postgres":  # both servers lose their database; the run's next call is to MLflow
                assert stack.stop_own_postgres(stack.Paths(stack.state_dir(root)), record, timeout=10) == "stopped"
            else:
                stack.stop_process(record, timeout=10, second_term_after=2 if service == "prefect" else None)
            out, err = run.communicate(timeout=300)
            lines = [line for line in err.splitlines() if line.startswith("error:")]
            assert run.returncode == 2, err[-3000:]
            assert len(lines) == 1 and up.env[variable] in lines[0] and variable in lines[0], err[-3000:]
            assert "Traceback" not in err

            pg, mlflow_port, prefect_port = (
                stack._read_json(stack.Paths(stack.state_dir(root)).pids)[k]["port"]
                for k in ("postgres", "mlflow", "prefect")
            )
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("GENFORGE_ADMIN_PASSWORD", password)
                stack.up(stack.StackOptions(root=root, pg_port=pg, mlflow_port=mlflow_port, prefect_port=prefect_port))
            assert not client.search_registered_models()  # nothing half-registered

            rerun = genforge_run(config, ws, env)
            out, err = rerun.communicate(timeout=600)
            assert rerun.returncode == 0, err[-3000:]
            assert "Task run 'train" in out + err and "Cached" in out + err
            experiment = client.get_experiment_by_name("tiny")
            trains = client.search_runs([experiment.experiment_id], "tags.`genforge.step` = 'train'")
            assert len(trains) == 1, "training ran again instead of coming from the cache"
            versions = client.search_model_versions(f"name = '{MODEL}'")
            assert len(versions) == 1 and versions[0].tags["genforge.promotion"] == "applied"
        finally:
            for key in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
                os.environ.pop(key, None)
            stack.down(root, timeout=10)
