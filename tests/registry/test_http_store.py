"""The registry through a real MLflow tracking server (HTTP), not only SQLite: a server checks what SQLite lets
through (a logged model registered without its model_id was refused with INVALID_PARAMETER_VALUE)."""

import os
import socket
import subprocess
import sys
import time

import pytest
import requests

from components import tracking
from components.workspace import Workspace
from tests.registry.test_registry import NAME, add_version

pytestmark = pytest.mark.slow  # starts a real MLflow tracking server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def http_store(tmp_path, monkeypatch):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{tmp_path}/server.db",
            "--artifacts-destination",
            str(tmp_path / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "mlflow server did not start"
            time.sleep(0.3)
        monkeypatch.setattr("components.workspace.USER_TRACKING_URI", url)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_versions_register_and_pull_through_a_tracking_server(http_store, tmp_path):
    import onnx
    import torch

    from components.config import DCGANConfig
    from components.export.onnx_export import export_onnx
    from components.models.dcgan import DCGANGenerator
    from components.registry.pull import pull
    from tests.registry.test_registry import store as make_store  # noqa: F401 — reused below by hand
    from tests.registry.test_registry import tracking_sha

    ws = Workspace(tmp_path / "ws")
    client = tracking.configure(ws)
    assert ws.tracking_uri == http_store
    experiment = tracking.experiment_id(client, ws, "http-test")
    torch.manual_seed(0)
    g = DCGANGenerator(DCGANConfig(latent_dim=6, g_features=4)).eval()
    path = export_onnx(g, tmp_path / "g.onnx", g.example_inputs(2), g.input_names)
    with tracking.run(client, experiment, "export") as step, step.activate():
        info = tracking.log_onnx_model(onnx.load(str(path)), *g.onnx_io(), g.example_inputs(2)[0].numpy())
    audit = tracking.experiment_id(client, ws, tracking.AUDIT_EXPERIMENT)
    store = (client, audit, info.model_uri, tracking_sha(info.model_uri, tmp_path), step.run_id)
    assert add_version(store, 40.0, "promote") == "1"
    assert add_version(store, 30.0, "promote") == "2"
    onnx_file, resolved = pull(client, f"{NAME}@champion", tmp_path / "pulled")
    assert resolved.number == "2" and onnx_file.is_file()
