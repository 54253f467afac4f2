"""MLflow's artifact store on S3 (MinIO, AWS): a tracking server started with `--artifacts-destination s3://…` and
MLFLOW_S3_ENDPOINT_URL proxies the artifacts that clients log into the bucket, and serves them back. Runs against
moto's S3 server on loopback (the `s3_server` fixture), never a real endpoint."""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from tests.conftest import s3_client

pytest.importorskip("boto3", reason="MLflow's S3 artifact store needs boto3 (team extra): pip install -e '.[team]'")
pytest.importorskip("moto", reason="the loopback S3 server is in the dev extra: pip install -e '.[dev]'")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def s3_mlflow_server(s3_server, s3_bucket, tmp_path):
    """A real `mlflow server` on loopback whose artifacts go to s3://<bucket>/mlflow: yields (url, bucket)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "mlflow-server.log"
    cmd = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        f"sqlite:///{tmp_path / 'm.db'}",
        "--artifacts-destination",
        f"s3://{s3_bucket}/mlflow",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    env = {**os.environ, "MLFLOW_S3_ENDPOINT_URL": s3_server}  # plus the fixture's dummy AWS_* credentials
    with open(log, "wb") as out:
        # Its own session: `mlflow server` runs uvicorn as a child process, and the whole group is stopped below.
        server = subprocess.Popen(
            cmd, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert server.poll() is None, f"mlflow server exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"mlflow server not healthy after 60 s:\n{log.read_text()}"
            time.sleep(0.3)
        yield url, s3_bucket
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


@pytest.mark.slow
def test_artifacts_logged_through_the_server_land_in_the_s3_bucket(s3_mlflow_server, s3_server, tmp_path, monkeypatch):
    from mlflow import MlflowClient

    url, bucket = s3_mlflow_server
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    # The client never talks to S3 itself: proxied artifacts go through the server (mlflow-artifacts:/ URIs).
    monkeypatch.delenv("MLFLOW_S3_ENDPOINT_URL", raising=False)
    # Explicit: earlier tests in this process set MLflow's global URIs, which win over the variable.
    client = MlflowClient(url, url)
    assert client.tracking_uri == url
    experiment = client.create_experiment("s3-artifacts")
    run = client.create_run(experiment)
    payload = os.urandom(64 * 1024) + b"\x00GenForge\xff"  # binary, not a round number of bytes
    source = tmp_path / "upload" / "generator.onnx"
    source.parent.mkdir()
    source.write_bytes(payload)
    client.log_artifact(run.info.run_id, str(source), artifact_path="model")
    client.set_terminated(run.info.run_id)

    assert run.info.artifact_uri.startswith("mlflow-artifacts:/"), run.info.artifact_uri
    listing = s3_client(s3_server).list_objects_v2(Bucket=bucket, Prefix="mlflow/")
    stored = [item["Key"] for item in listing.get("Contents", [])]
    key = f"mlflow/{experiment}/{run.info.run_id}/artifacts/model/generator.onnx"
    assert stored == [key], stored
    assert s3_client(s3_server).get_object(Bucket=bucket, Key=key)["Body"].read() == payload

    assert [f.path for f in client.list_artifacts(run.info.run_id, "model")] == ["model/generator.onnx"]
    back = client.download_artifacts(run.info.run_id, "model/generator.onnx", str(tmp_path / "download"))
    with open(back, "rb") as fh:
        assert fh.read() == payload
