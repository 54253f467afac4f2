"""The `team_stack` session fixture: one real team stack (PostgreSQL, the MLflow server with basic-auth, the Prefect
server — what `genforge stack up` starts) for the whole test session, torn down at its end.

Use it in an end-to-end test:

    def test_pipeline_on_the_team_stack(team_stack, monkeypatch):
        for key, value in team_stack.items():   # MLFLOW_TRACKING_URI, MLFLOW_TRACKING_USERNAME,
            monkeypatch.setenv(key, value)      # MLFLOW_TRACKING_PASSWORD, PREFECT_API_URL,
                                                # PREFECT_API_AUTH_STRING
        ...                                     # or: subprocess.run(..., env=team_stack.environ())

It yields a `TeamStack`: a dict of exactly those five variables (the admin's credentials), plus attributes `root`
(the temporary workspace whose `.genforge/stack` holds the state), `state`, `logs` (the servers' log folder: read it
when a test fails) and `postgres_url` (the `genforge` role on the stack's own cluster, for tests that look into the
databases). The servers run on free ports in 20000–32000 (never 5000, 4200 or 54329, so a developer's own stack is
left alone) with a random admin password; the user's ~/.config is not touched. Start-up takes ~10 s on 2 cores.

Where PostgreSQL is missing and the tests do not run as root (so it cannot be installed), the fixture skips, saying
how to install it. A stack that does not come up fails the test with the one-line error (it names the log file).
The servers are detached processes: if pytest itself is killed with -9, stop them with
`genforge stack down --root <the printed folder>`.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows import stack


class TeamStack(dict):
    """The variables to export (a plain dict of str) with the stack's folders as attributes."""

    root: Path
    state: Path
    logs: Path
    postgres_url: str

    def environ(self, base: dict | None = None) -> dict[str, str]:
        """os.environ (or `base`) with the stack's variables: the `env=` of a subprocess that uses the stack."""
        return {**(os.environ if base is None else base), **self}


def free_ports(count: int, low: int = 20000, high: int = 32000) -> list[int]:
    """`count` distinct free loopback ports below Linux's ephemeral range (32768+), where outgoing connections
    cannot take them between this check and the servers' bind."""
    ports: list[int] = []
    while len(ports) < count:
        port = random.randint(low, high)
        if port not in ports and stack.port_free(port):
            ports.append(port)
    return ports


@contextlib.contextmanager
def stack_workspace(prefix: str = "genforge-stack-") -> Iterator[Path]:
    """A temporary workspace the `postgres` system user can reach (pytest's tmp_path lies under a 0700 folder, and
    initdb runs as `postgres` when the tests run as root); removed afterwards."""
    base = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(base, 0o711)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def require_postgres() -> None:
    if stack.pg_bin() is None and os.geteuid() != 0:
        pytest.skip("PostgreSQL is not installed (sudo apt-get install -y postgresql): no team stack")


def start(root: Path, password: str, attempts: int = 3) -> stack.UpResult:
    """`stack up` on free ports, retrying with other ports if one was taken meanwhile."""
    for attempt in range(attempts):
        pg, mlflow, prefect = free_ports(3)
        options = stack.StackOptions(root=root, pg_port=pg, mlflow_port=mlflow, prefect_port=prefect, timeout=120)
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("GENFORGE_ADMIN_PASSWORD", password)
            try:
                return stack.up(options)
            except stack.StackError as exc:
                stack.down(root, timeout=10)
                if "in use" not in str(exc) or attempt == attempts - 1:
                    pytest.fail(f"the team stack did not come up: {exc}", pytrace=False)
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def team_stack() -> Iterator[TeamStack]:
    """One team stack for the session (see this module's docstring); yields its variables as a TeamStack dict."""
    require_postgres()
    with stack_workspace() as root:
        try:
            result = start(root, secrets.token_urlsafe(18))
            info = TeamStack(result.env)
            info.root, info.state = root, stack.state_dir(root)
            info.logs = info.state / "logs"
            record = stack._read_json(info.state / "pids.json")["postgres"]
            password = stack._read_json(info.state / "secrets.json")["pg_password"]
            info.postgres_url = f"postgresql://{stack.ROLE}:{password}@{stack.HOST}:{record['port']}/"
            yield info
        finally:
            stack.down(root, timeout=10)
