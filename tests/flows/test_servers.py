"""Servers fail fast: an unreachable or refusing MLflow or Prefect server ends the command in seconds with the URL
and the variable to fix — one line, exit 2, no traceback, no minutes of silent retries."""

import http.server
import socket
import threading
import time

import pytest

from tests.flows.test_cli import genforge


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again on return: connections are refused


@pytest.fixture
def refusing_server():
    """An HTTP server on loopback that answers 401 to everything (a tracking server with auth, no credentials)."""

    class Refuse(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 — the stdlib's handler naming
            self.send_response(401 if self.path != "/health" else 200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def one_line_error(result, *fragments):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.mark.parametrize(
    "command",
    [
        ("models",),
        pytest.param(("pull", "m@champion", "-o", "OUT"), marks=pytest.mark.slow),  # the same check, other commands
        pytest.param(("run", "configs/dcgan-fashion.yaml"), marks=pytest.mark.slow),
    ],
)
def test_an_unreachable_mlflow_server_fails_in_seconds(workspace, tmp_path, command):
    url = f"http://127.0.0.1:{closed_port()}"
    args = [str(tmp_path / "out") if a == "OUT" else a for a in command]
    started = time.monotonic()
    result = genforge(*args, "--root", str(workspace), env={"MLFLOW_TRACKING_URI": url})
    assert time.monotonic() - started < 15
    one_line_error(result, url, "MLFLOW_TRACKING_URI")


def test_a_server_refusing_the_credentials_says_which_variables(workspace, refusing_server):
    result = genforge("models", "--root", str(workspace), env={"MLFLOW_TRACKING_URI": refusing_server})
    one_line_error(result, refusing_server, "MLFLOW_TRACKING_USERNAME")


@pytest.mark.slow  # waits out the client's connect timeout: ~5 s
def test_an_unreachable_prefect_server_fails_in_seconds(workspace):
    url = f"http://127.0.0.1:{closed_port()}/api"
    started = time.monotonic()
    result = genforge("run", "configs/dcgan-fashion.yaml", "--root", str(workspace), env={"PREFECT_API_URL": url})
    assert time.monotonic() - started < 15
    one_line_error(result, url, "PREFECT_API_URL")
