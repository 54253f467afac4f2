"""The Prefect API a command talks to: the user's server (PREFECT_API_URL, checked first) or a temporary one.

Prefect's own temporary server outlives a process killed with -9 (its uvicorn child is never told), so GenForge
starts the same server the same way, as a child that the kernel stops when the command dies in any way.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import httpx

from components.errors import ServerUnreachable

PR_SET_PDEATHSIG = 1


def auth_headers() -> dict[str, str]:
    """What Prefect's client sends: Basic auth from PREFECT_API_AUTH_STRING (a server with
    PREFECT_SERVER_API_AUTH_STRING, like the team stack's), or a Cloud key from PREFECT_API_KEY."""
    if os.environ.get("PREFECT_API_AUTH_STRING"):
        token = base64.b64encode(os.environ["PREFECT_API_AUTH_STRING"].encode()).decode()
        return {"Authorization": f"Basic {token}"}
    if os.environ.get("PREFECT_API_KEY"):
        return {"Authorization": f"Bearer {os.environ['PREFECT_API_KEY']}"}
    return {}


def check_api(url: str, timeout: float = 5.0) -> None:
    """Fail in seconds, not minutes of retries, when the configured Prefect server does not answer or refuses our
    credentials (its /health answers anyone: an authenticated call is tried too)."""
    base = url.rstrip("/")
    try:
        response = httpx.get(base + "/health", timeout=timeout)
        if response.status_code == 200:
            response = httpx.get(base + "/admin/version", headers=auth_headers(), timeout=timeout)
    except httpx.HTTPError as exc:
        raise ServerUnreachable(
            f"the Prefect server at {url} does not answer ({type(exc).__name__}): start it, or fix or unset "
            "PREFECT_API_URL (unset, each command starts a temporary one)"
        ) from None
    if response.status_code in (401, 403):
        raise ServerUnreachable(
            f"the Prefect server at {url} refused the credentials (HTTP {response.status_code}): set "
            "PREFECT_API_AUTH_STRING (team stack: source .genforge/stack/stack.env) or PREFECT_API_KEY"
        )
    if response.status_code != 200:
        raise ServerUnreachable(f"the Prefect server at {url} answered HTTP {response.status_code}")


@contextlib.contextmanager
def watched(url: str, on_gone: Callable[[str], None], grace: float = 20.0, every: float = 2.0) -> Iterator[None]:
    """While the block runs, ask the user's Prefect server for /health every `every` seconds; once it has not
    answered for `grace` seconds, call on_gone(message) from the watching thread (the CLI prints it and exits).

    Without this, a run whose server stopped retries every API call with back-off for many minutes. Ending the
    process is safe: promotion is atomic per model (components/registry/promote.py) and the next run reaps what this
    one left RUNNING (flows/pipeline._reap), then serves the finished steps from the cache."""
    stop = threading.Event()

    def watch() -> None:
        last_ok = time.monotonic()
        while not stop.wait(every):
            try:
                check_api(url, timeout=every)
                last_ok = time.monotonic()
            except ServerUnreachable as exc:
                if time.monotonic() - last_ok >= grace:
                    on_gone(
                        f"{exc} — it stopped answering mid-run (PREFECT_API_URL); once it is back, run the "
                        "command again: finished steps are served from the cache"
                    )
                    return

    thread = threading.Thread(target=watch, name="genforge-prefect-watch", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()


def _die_with_parent() -> None:  # runs in the child between fork and exec
    # SIGKILL, not SIGTERM: uvicorn's graceful shutdown can take seconds, and an orphan has nobody to serve. Its
    # SQLite database is crash-safe (journal).
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    os.setpgid(0, 0)  # its own group: a Ctrl-C reaches the command, which then stops it in order


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def api(timeout: float | None = None) -> Iterator[str]:
    """The API URL to use for the duration of the block: PREFECT_API_URL if set (checked), else a temporary server
    on loopback, stopped when the block ends and killed by the kernel if this process dies first."""
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    if os.environ.get("PREFECT_API_URL"):
        check_api(os.environ["PREFECT_API_URL"])
        yield os.environ["PREFECT_API_URL"]
        return
    timeout = timeout or float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "60"))
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        **get_current_settings().to_environment_variables(exclude_unset=True),
        # What Prefect sets for its own temporary server: no UI, ephemeral mode.
        "PREFECT_UI_ENABLED": "0",
        "PREFECT__SERVER_EPHEMERAL": "1",
        "PREFECT__SERVER_FINAL": "1",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "prefect.server.api.server:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "error",
            "--lifespan",
            "on",
        ],
        env=env,
        preexec_fn=_die_with_parent,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if server.poll() is not None:
                raise ServerUnreachable(f"the temporary Prefect server exited with code {server.returncode}")
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise ServerUnreachable(
                    f"the temporary Prefect server did not answer within {timeout:.0f} s: raise "
                    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS or run a server (PREFECT_API_URL)"
                )
            time.sleep(0.2)
        # In the environment too: Prefect's log and event workers run in threads that do not see the settings
        # context, and without a URL each would start a temporary server of its own.
        os.environ["PREFECT_API_URL"] = url
        with temporary_settings({PREFECT_API_URL: url}):
            yield url
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def mark_crashed(flow_run_ids: list[str], why: str) -> list[str]:
    """Set the flow runs of dead processes CRASHED (a killed process never reports its own end); returns them."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.states import Crashed

    marked = []
    with get_client(sync_client=True) as client:
        for flow_run_id in flow_run_ids:
            try:
                run = client.read_flow_run(flow_run_id)
            except ObjectNotFound:  # a flow run of another Prefect database: nothing to mark here
                continue
            if run.state is not None and not run.state.is_final():
                client.set_flow_run_state(flow_run_id, Crashed(message=why), force=True)
                marked.append(flow_run_id)
    return marked
