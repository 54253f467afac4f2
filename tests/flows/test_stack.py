"""`genforge stack up|status|down`: the team stack (PostgreSQL, MLflow server with basic-auth, Prefect server) on
loopback. The slow tests start real servers on free ports in a temp workspace; the others check the pieces."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from flows import stack
from tests.flows.test_cli import genforge
from tests.team_stack import free_ports, require_postgres, stack_workspace

PASSWORD = "stack-test-admin-pw"
SEARCH = "/api/2.0/mlflow/experiments/search?max_results=1"


def one_line_error(result, *fragments):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, (result.stdout[-2000:], result.stderr[-2000:])
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr[-2000:]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def cli_env(tmp: Path) -> dict:
    # The admin password from the environment, and a private config home: the user's ~/.config is never touched.
    return {"GENFORGE_ADMIN_PASSWORD": PASSWORD, "XDG_CONFIG_HOME": str(tmp / "config")}


def decoy() -> subprocess.Popen:
    """An unrelated process of our own that `stack down` must never signal."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)


def ours(state: Path) -> dict[int, list[str]]:
    """Every process the stack runs now, with its cmdline: the recorded servers and their sessions (workers),
    the postmaster and its children."""
    record = json.loads((state / "pids.json").read_text())
    pids = {record["postgres"]["pid"]}
    for name in ("mlflow", "prefect"):
        pids |= {record[name]["pid"], *stack._session_members(record[name]["pid"])}
    for entry in Path("/proc").iterdir():  # the postmaster's children (each backend has a session of its own)
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) in pids:
                pids.add(int(entry.name))
        except (OSError, IndexError, ValueError):
            pass
    return {pid: stack._cmdline(pid) for pid in pids if stack._cmdline(pid)}


def gone(processes: dict[int, list[str]]) -> list[int]:
    """Those of `processes` still alive with the same cmdline (an empty list when all stopped)."""
    return [pid for pid, argv in processes.items() if stack._cmdline(pid) == argv]


# --------------------------------------------------------------------------------------------- fast: the pieces


def test_postgres_url_is_parsed_and_bad_ones_refused():
    target = stack.parse_postgres_url("postgresql://gf:p%40ss@db.local:6543/?sslmode=disable")
    assert (target.user, target.password, target.host, target.port) == ("gf", "p@ss", "db.local", 6543)
    assert target.url("psycopg", "mlflow") == "postgresql+psycopg://gf:p%40ss@db.local:6543/mlflow?sslmode=disable"
    assert target.public() == "postgresql://gf@db.local:6543/"  # never the password
    for bad in ("mysql://u@h/", "postgresql:///nohost", "postgresql://u@h:notaport/"):
        with pytest.raises(stack.StackError):
            stack.parse_postgres_url(bad)


def test_auth_ini_is_read_back_by_mlflow(tmp_path, monkeypatch):
    """The ini has MLflow's keys; `%` survives MLflow's configparser interpolation; it is private."""
    from mlflow.server.auth.config import read_auth_config

    paths = stack.Paths(tmp_path)
    stack.write_auth_ini(paths, "postgresql+psycopg://genforge:a%2Fb@127.0.0.1:1/mlflow_auth", "100%-secret-pass")
    monkeypatch.setenv("MLFLOW_AUTH_CONFIG_PATH", str(paths.auth_ini))
    for var in ("MLFLOW_AUTH_ADMIN_USERNAME", "MLFLOW_AUTH_ADMIN_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    config = read_auth_config()
    assert config.database_uri == "postgresql+psycopg://genforge:a%2Fb@127.0.0.1:1/mlflow_auth"
    assert (config.admin_username, config.admin_password) == ("admin", "100%-secret-pass")
    assert config.default_permission == "READ"
    assert paths.auth_ini.stat().st_mode & 0o777 == 0o600


def test_admin_password_from_env_or_a_private_file(tmp_path, monkeypatch):
    monkeypatch.delenv("GENFORGE_ADMIN_PASSWORD", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    password, origin = stack.admin_password()
    path = tmp_path / "genforge" / "admin-password"
    assert origin == str(path) and len(password) >= 12
    assert path.stat().st_mode & 0o777 == 0o600
    assert stack.admin_password() == (password, origin)  # made once, then read
    monkeypatch.setenv("GENFORGE_ADMIN_PASSWORD", "from-the-environment")
    assert stack.admin_password() == ("from-the-environment", "$GENFORGE_ADMIN_PASSWORD")
    monkeypatch.setenv("GENFORGE_ADMIN_PASSWORD", "short")
    with pytest.raises(stack.StackError, match="at least 12 characters"):
        stack.admin_password()


def test_missing_postgres_as_non_root_names_the_install_command(monkeypatch):
    monkeypatch.setattr(stack, "pg_bin", lambda: None)
    monkeypatch.setattr(stack.os, "geteuid", lambda: 1000)
    with pytest.raises(stack.StackError, match=r"sudo apt-get install -y postgresql.*--postgres-url"):
        stack.ensure_postgres_installed()


def test_stop_signals_only_a_process_whose_cmdline_still_matches():
    other = decoy()
    try:
        time.sleep(0.2)
        recycled = {"pid": other.pid, "argv": [sys.executable, "-m", "mlflow", "server"]}  # the pid, reused
        assert "left alone" in stack.stop_process(recycled, timeout=2)
        assert other.poll() is None
        mine = {"pid": other.pid, "argv": stack._cmdline(other.pid)}
        assert stack.stop_process(mine, timeout=5) == "stopped"
        assert other.wait(5) is not None and stack._cmdline(other.pid) is None  # (stop_process reaped our child)
    finally:
        other.kill()


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        pg, prefect = free_ports(2)
        result = genforge(
            "stack", "up", "--root", str(tmp_path), "--mlflow-port", str(port), "--pg-port", str(pg),
            "--prefect-port", str(prefect), env=cli_env(tmp_path),
        )  # fmt: skip
    one_line_error(result, f"port {port}", "in use", "--mlflow-port")
    assert not (tmp_path / ".genforge" / "stack" / "pg").exists()  # checked before anything started


@pytest.mark.skipif(os.geteuid() != 0 or stack.pg_bin() is None, reason="as root with PostgreSQL installed")
def test_a_workspace_the_postgres_user_cannot_reach_is_named(tmp_path):
    """pytest's tmp_path lies under a 0700 folder: initdb, run as `postgres`, could not reach it."""
    pg, mlflow, prefect = free_ports(3)
    result = genforge(
        "stack", "up", "--root", str(tmp_path), "--pg-port", str(pg), "--mlflow-port", str(mlflow),
        "--prefect-port", str(prefect), env=cli_env(tmp_path),
    )  # fmt: skip
    one_line_error(result, "postgres system user cannot reach", "chmod o+x", "--postgres-url")


# --------------------------------------------------------------------------------------------- slow: real servers


@pytest.mark.slow
def test_stack_up_status_down(tmp_path):
    require_postgres()
    other = decoy()
    with stack_workspace() as root:
        state = stack.state_dir(root)
        pg, mlflow, prefect, mlflow_b, prefect_b = free_ports(5)
        ports = ["--pg-port", str(pg), "--mlflow-port", str(mlflow), "--prefect-port", str(prefect)]
        env = cli_env(tmp_path)
        processes: dict[int, list[str]] = {}
        try:
            started = time.monotonic()
            up = genforge("stack", "up", "--root", str(root), *ports, env=env)
            took = time.monotonic() - started
            assert up.returncode == 0, up.stdout + up.stderr
            assert took < 60, f"stack up took {took:.1f} s"
            url = f"http://127.0.0.1:{mlflow}"
            assert f"export MLFLOW_TRACKING_URI={url}" in up.stdout
            assert PASSWORD not in up.stdout  # printed as "$GENFORGE_ADMIN_PASSWORD"; the env file holds it

            # MLflow: authentication required, the admin's password accepted, a wrong one refused.
            assert requests.get(url + SEARCH, timeout=10).status_code == 401
            assert requests.get(url + SEARCH, auth=("admin", PASSWORD), timeout=10).status_code == 200
            assert requests.get(url + SEARCH, auth=("admin", "wrong-password!"), timeout=10).status_code == 401
            # Prefect: /health answers anyone; its API wants the admin's auth string, as Prefect's client sends it.
            api = f"http://127.0.0.1:{prefect}/api"
            assert requests.get(f"{api}/health", timeout=10).status_code == 200
            assert requests.get(f"{api}/admin/version", timeout=10).status_code == 401
            assert requests.get(f"{api}/admin/version", auth=("admin", PASSWORD), timeout=10).status_code == 200
            wrong = requests.get(f"{api}/admin/version", auth=("admin", "wrong-password!"), timeout=10)
            assert wrong.status_code == 401

            # stack.env: private, and `source`-able.
            env_file = state / "stack.env"
            assert env_file.stat().st_mode & 0o777 == 0o600
            sourced = subprocess.run(
                ["bash", "-c", f"source {env_file} && env"], capture_output=True, text=True, check=True
            ).stdout
            for line in (
                f"MLFLOW_TRACKING_URI={url}",
                "MLFLOW_TRACKING_USERNAME=admin",
                f"MLFLOW_TRACKING_PASSWORD={PASSWORD}",
                f"PREFECT_API_URL=http://127.0.0.1:{prefect}/api",
                f"PREFECT_API_AUTH_STRING=admin:{PASSWORD}",
            ):
                assert line in sourced.splitlines()

            status = genforge("stack", "status", "--root", str(root))
            assert status.returncode == 0, status.stdout + status.stderr
            lines = status.stdout.splitlines()
            assert [line.split()[:2] for line in lines] == [["postgres", "up"], ["mlflow", "up"], ["prefect", "up"]]
            assert url in lines[1] and "pid" in lines[1]

            # Idempotent: a second `up` starts nothing and keeps the same processes.
            before = json.loads((state / "pids.json").read_text())
            again = genforge("stack", "up", "--root", str(root), *ports, env=env)
            assert again.returncode == 0, again.stdout + again.stderr
            assert again.stdout.count("already running") == 3
            assert json.loads((state / "pids.json").read_text()) == before

            # A second stack on this one's PostgreSQL, given by URL: `down` leaves that cluster alone.
            secret = json.loads((state / "secrets.json").read_text())["pg_password"]
            with stack_workspace() as root_b:
                given = f"postgresql://genforge:{secret}@127.0.0.1:{pg}/postgres"
                ports_b = ["--mlflow-port", str(mlflow_b), "--prefect-port", str(prefect_b)]
                up_b = genforge("stack", "up", "--root", str(root_b), "--postgres-url", given, *ports_b, env=env)
                try:
                    assert up_b.returncode == 0, up_b.stdout + up_b.stderr
                    assert secret not in up_b.stdout
                    reply = requests.get(f"http://127.0.0.1:{mlflow_b}{SEARCH}", auth=("admin", PASSWORD), timeout=10)
                    assert reply.status_code == 200
                finally:
                    down_b = genforge("stack", "down", "--root", str(root_b))
                assert "given by URL" in down_b.stdout, down_b.stdout + down_b.stderr
            assert requests.get(url + SEARCH, auth=("admin", PASSWORD), timeout=10).status_code == 200

            processes = ours(state)
            started_down = time.monotonic()
            down = genforge("stack", "down", "--root", str(root))
            assert down.returncode == 0, down.stdout + down.stderr
            assert time.monotonic() - started_down < 30
            assert gone(processes) == [], f"still running: {gone(processes)}"
            assert other.poll() is None  # an unrelated process survives
            status = genforge("stack", "status", "--root", str(root))
            assert status.returncode == 1
            assert [line.split()[1] for line in status.stdout.splitlines()] == ["down", "down", "down"]

            # A recorded pid that now runs something else (recycled) is never signalled.
            stale = {"pid": other.pid, "argv": [sys.executable, "-m", "prefect", "server", "start"], "port": prefect}
            (state / "pids.json").write_text(json.dumps({"prefect": stale}))
            down = genforge("stack", "down", "--root", str(root))
            assert "left alone" in down.stdout and other.poll() is None

            # A service that does not answer in time: one line naming its log, and no process of it left.
            slow = genforge("stack", "up", "--root", str(root), *ports, "--timeout", "1", env=env)
            one_line_error(slow, "did not come up", "no answer within 1 s", str(state / "logs"))
        finally:
            genforge("stack", "down", "--root", str(root))
            other.kill()
    for pid in processes:
        assert stack._cmdline(pid) != processes[pid]


@pytest.mark.slow
def test_team_stack_fixture_serves_mlflow_and_prefect(team_stack):
    """What an end-to-end test gets: the five variables, and servers that take runs, artifacts and flow runs."""
    import mlflow

    assert set(team_stack) == {
        "MLFLOW_TRACKING_URI",
        "MLFLOW_TRACKING_USERNAME",
        "MLFLOW_TRACKING_PASSWORD",
        "PREFECT_API_URL",
        "PREFECT_API_AUTH_STRING",
    }
    code = (
        "import mlflow, tempfile, pathlib\n"
        "mlflow.set_experiment('fixture-check')\n"
        "with mlflow.start_run() as run:\n"
        "    mlflow.log_metric('x', 1.0)\n"
        "    path = pathlib.Path(tempfile.mkdtemp()) / 'a.txt'\n"
        "    path.write_text('hello')\n"
        "    mlflow.log_artifact(str(path))\n"
        "print(run.info.run_id)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=team_stack.environ(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run_id = result.stdout.split()[-1]
    stored = list((team_stack.state / "artifacts").rglob("a.txt"))  # proxied into the artifact destination
    assert len(stored) == 1 and run_id in str(stored[0]) and stored[0].read_text() == "hello"
    client = mlflow.MlflowClient(team_stack["MLFLOW_TRACKING_URI"], team_stack["MLFLOW_TRACKING_URI"])
    with pytest.MonkeyPatch.context() as mp:
        for key in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
            mp.setenv(key, team_stack[key])
        assert client.get_run(run_id).data.metrics == {"x": 1.0}
        # A teammate's account (MLflow's auth API, as the README shows): READ by default, so it can search.
        from mlflow.server import get_app_client

        users = get_app_client("basic-auth", tracking_uri=team_stack["MLFLOW_TRACKING_URI"])
        users.create_user(username="teammate", password="teammate-password")
    search = team_stack["MLFLOW_TRACKING_URI"] + SEARCH
    assert requests.get(search, auth=("teammate", "teammate-password"), timeout=10).status_code == 200
    assert requests.get(search, auth=("teammate", "not-the-password"), timeout=10).status_code == 401
    health = requests.get(team_stack["PREFECT_API_URL"] + "/health", timeout=10)
    assert health.status_code == 200
    assert (team_stack.logs / "mlflow.log").is_file() and team_stack.postgres_url.startswith("postgresql://genforge:")
