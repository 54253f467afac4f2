"""The one place that configures MLflow runs: experiments, the parent run, nested step runs, batched logging.

Runs are addressed by id, never through MLflow's per-thread "active run", because Prefect may run a task in a
worker thread; `StepRun.activate()` makes a run active only around the fluent calls that need it (log_model).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import requests
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException

import mlflow
from components.errors import ServerUnreachable
from components.refs import DataRef
from components.workspace import Workspace
from mlflow import MlflowClient

AUDIT_EXPERIMENT = "genforge-audit"


def check_server(uri: str, timeout: float = 5.0) -> None:
    """An HTTP tracking server must answer, and accept our credentials, within seconds: else one clear error
    instead of minutes of MLflow's silent retries."""
    base = uri.rstrip("/")
    try:
        health = requests.get(f"{base}/health", timeout=timeout)
        probe = requests.get(
            f"{base}/api/2.0/mlflow/experiments/search",
            params={"max_results": 1},
            auth=(os.environ.get("MLFLOW_TRACKING_USERNAME", ""), os.environ.get("MLFLOW_TRACKING_PASSWORD", "")),
            timeout=timeout,
        )
    except requests.RequestException as exc:
        raise ServerUnreachable(
            f"the MLflow server at {uri} does not answer ({type(exc).__name__}): start it, or fix or unset "
            "MLFLOW_TRACKING_URI (unset, GenForge uses the workspace's embedded store)"
        ) from None
    if probe.status_code in (401, 403):
        raise ServerUnreachable(
            f"the MLflow server at {uri} refused the credentials (HTTP {probe.status_code}): set "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"
        )
    if health.status_code != 200:
        raise ServerUnreachable(
            f"the MLflow server at {uri} is not healthy (HTTP {health.status_code} from /health): check it or fix "
            "MLFLOW_TRACKING_URI"
        )
    if probe.status_code >= 500:
        raise ServerUnreachable(
            f"the MLflow server at {uri} answers but its API fails (HTTP {probe.status_code}): its database or "
            "artifact store is likely down — see the server's log (team stack: genforge stack status); "
            "MLFLOW_TRACKING_URI names this server"
        )


def configure(ws: Workspace) -> MlflowClient:
    """Point MLflow at the workspace store (MLFLOW_TRACKING_URI, when set, wins; a server is checked first)."""
    if ws.tracking_uri.startswith(("http://", "https://")):
        check_server(ws.tracking_uri)
    ws.mlflow_dir.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(ws.tracking_uri)
    mlflow.set_registry_uri(ws.tracking_uri)
    return MlflowClient(ws.tracking_uri, ws.tracking_uri)


def experiment_id(client: MlflowClient, ws: Workspace, name: str) -> str:
    """Get or create an experiment; on the embedded store its artifacts live under mlflow/artifacts/<name>."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = (ws.artifact_root / name).as_uri() if ws.tracking_uri.startswith("sqlite:") else None
    # The MLflow 3 UI opens experiments in its GenAI (traces) view unless told they hold model training runs.
    tags = {"mlflow.experimentKind": "custom_model_development"}
    try:
        return client.create_experiment(name, artifact_location=location, tags=tags)
    except mlflow.exceptions.MlflowException:  # created meanwhile by a concurrent process
        return client.get_experiment_by_name(name).experiment_id


class StepRun:
    """One MLflow run (a pipeline parent or a nested step) with batched metric logging."""

    def __init__(self, client: MlflowClient, run_id: str):
        self.client, self.run_id = client, run_id
        self._metrics: list[Metric] = []

    def log_params(self, params: dict) -> None:
        items = [Param(k, str(v)[:6000]) for k, v in _flatten(params).items()]
        for start in range(0, len(items), 100):
            self.client.log_batch(self.run_id, params=items[start : start + 100], synchronous=True)

    def set_tags(self, tags: dict[str, str]) -> None:
        self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def log_metrics(self, metrics: dict[str, float], step: int = 0) -> None:
        """Queued; sent in batches of up to 1000 (one HTTP call each), never one call per value."""
        now = int(time.time() * 1000)
        self._metrics += [Metric(k, float(v), now, step) for k, v in metrics.items() if v is not None]
        if len(self._metrics) >= 1000:
            self.flush()

    def flush(self) -> None:
        while self._metrics:
            batch, self._metrics = self._metrics[:1000], self._metrics[1000:]
            self.client.log_batch(self.run_id, metrics=batch)

    def log_image(self, image: np.ndarray, key: str, step: int) -> None:
        """A stepped image: the MLflow UI shows it with a slider over steps (epochs)."""
        self.client.log_image(self.run_id, image, key=key, step=step)

    def log_artifact(self, path: str | Path, folder: str | None = None) -> None:
        self.client.log_artifact(self.run_id, str(path), folder)

    def log_image_file(self, image: np.ndarray, name: str) -> None:
        """A still picture (uint8 array) as <name>.png among the run's artifacts."""
        self.client.log_image(self.run_id, image, artifact_file=f"{name}.png")

    def log_text(self, text: str, name: str) -> None:
        self.client.log_text(self.run_id, text, name)

    def log_dict(self, payload: dict, name: str) -> None:
        self.client.log_dict(self.run_id, payload, name)

    @contextlib.contextmanager
    def activate(self) -> Iterator[None]:
        """Make this run the active one in this thread, for fluent-only APIs (log_model, log_input)."""
        active = mlflow.active_run()
        if active is not None and active.info.run_id == self.run_id:
            yield
            return
        mlflow.start_run(run_id=self.run_id)
        try:
            yield
        finally:
            # Leave it RUNNING: the run ends with its step (a plain `with start_run` would mark it FINISHED here, so
            # a process killed later would leave a run that claims success).
            mlflow.end_run(status="RUNNING")

    def log_dataset(self, data: DataRef, name: str, context: str = "training") -> None:
        """mlflow.log_input with the DVC md5 as the digest, so the UI links runs to the data version."""
        from mlflow.data.meta_dataset import MetaDataset
        from mlflow.entities import DatasetInput, InputTag
        from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

        dataset = MetaDataset(_dvc_source(data), name=name, digest=data.dvc_md5[:36])
        entry = DatasetInput(dataset._to_mlflow_entity(), [InputTag(MLFLOW_DATASET_CONTEXT, context)])
        self.client.log_inputs(self.run_id, [entry])  # by id: never opens or ends the run

    def finish(self, status: str = "FINISHED") -> None:
        self.flush()
        self.client.set_terminated(self.run_id, status)


def _dvc_source(data: DataRef):
    from mlflow.data.dataset_source import DatasetSource

    class DVCDatasetSource(DatasetSource):
        """A DVC-tracked folder at a git revision (MLflow has no DVC source of its own)."""

        def __init__(self, path: str, rev: str, md5: str):
            self.path, self.rev, self.md5 = path, rev, md5

        @staticmethod
        def _get_source_type() -> str:
            return "dvc"

        def load(self, dst_path=None) -> str:
            return self.path

        @staticmethod
        def _can_resolve(raw_source) -> bool:
            return False

        @classmethod
        def _resolve(cls, raw_source):
            raise NotImplementedError("DVC sources are created explicitly, never resolved from a string")

        def to_dict(self) -> dict:
            return {"path": self.path, "rev": self.rev, "md5": self.md5}

        @classmethod
        def from_dict(cls, source_dict: dict):
            return cls(source_dict["path"], source_dict["rev"], source_dict["md5"])

    return DVCDatasetSource(data.path, data.rev, data.dvc_md5)


@contextlib.contextmanager
def run(
    client: MlflowClient, experiment: str, name: str, parent: str | None = None, tags: dict[str, str] | None = None
) -> Iterator[StepRun]:
    """Start a run (nested under `parent` when given); it ends FINISHED, or FAILED if the block raises."""
    all_tags = {"mlflow.runName": name, **(tags or {}), **owner_tags()}
    if parent:
        all_tags["mlflow.parentRunId"] = parent
    created = client.create_run(experiment, tags=all_tags, run_name=name)
    step = StepRun(client, created.info.run_id)
    try:
        yield step
    except BaseException as exc:
        status = "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"
        try:
            step.finish(status)
        except (MlflowException, OSError, requests.RequestException):
            # The store itself is gone (a server stopped mid-run): the run stays RUNNING, the next `genforge run`
            # marks it KILLED; the error that stopped this one is the one to report.
            pass
        raise
    step.finish("FINISHED")


# ---- runs of dead processes ---------------------------------------------------------------------------------------
# A process killed outright (kill -9, OOM, power) cannot end its runs. Each run records which process owns it, so
# the next command on this host can tell a live run from an orphan and mark the orphan KILLED.

OWNER_HOST, OWNER_PID, OWNER_START = "genforge.host", "genforge.pid", "genforge.pid_start"


def _process_start(pid: int) -> str:
    """The kernel's start time of a process (clock ticks since boot): with the pid, names it uniquely."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def owner_tags() -> dict[str, str]:
    pid = os.getpid()
    return {OWNER_HOST: socket.gethostname(), OWNER_PID: str(pid), OWNER_START: _process_start(pid)}


def _alive(tags: dict[str, str]) -> bool:
    pid = tags.get(OWNER_PID, "")
    return pid.isdigit() and _process_start(int(pid)) == tags.get(OWNER_START) != ""


def reap_dead_runs(client: MlflowClient) -> list:
    """Mark KILLED every RUNNING run that a GenForge process on this host started and that process is gone;
    returns those runs (their `prefect.flow_run_id` tags name the flow runs to mark CRASHED)."""
    host = socket.gethostname()
    experiments = [e.experiment_id for e in client.search_experiments()]
    reaped = []
    for start in range(0, len(experiments), 100):
        runs = client.search_runs(
            experiments[start : start + 100],
            f"attributes.status = 'RUNNING' and tags.`{OWNER_HOST}` = '{host}'",
            max_results=10_000,
        )
        for dead in (r for r in runs if not _alive(r.data.tags)):
            client.set_terminated(dead.info.run_id, "KILLED")
            reaped.append(dead)
    return reaped


def _flatten(tree: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(_flatten(value, name + "."))
        else:
            out[name] = json.dumps(value) if isinstance(value, (list, dict)) else value
    return out


def log_onnx_model(
    onnx_model,
    inputs: dict[str, tuple[int, ...]],
    outputs: dict[str, tuple[int, ...]],
    example: np.ndarray | dict[str, np.ndarray],
    name: str = "model",
):
    """Log an ONNX graph with an explicit signature (-1 marks dynamic axes) and an input example (one array, or
    one per input name: their dtypes become the signature's, e.g. int64 class labels).

    Needs an active run (StepRun.activate). Returns MLflow's ModelInfo (model_uri = models:/m-…).
    """
    import mlflow.onnx
    import onnx
    import onnxruntime
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec

    def dtype(key: str) -> np.dtype:
        return np.asarray(example[key] if isinstance(example, dict) else example).dtype

    signature = ModelSignature(
        inputs=Schema([TensorSpec(dtype(key), shape, key) for key, shape in inputs.items()]),
        outputs=Schema([TensorSpec(np.dtype(np.float32), shape, key) for key, shape in outputs.items()]),
    )
    return mlflow.onnx.log_model(
        onnx_model,
        name=name,
        signature=signature,
        input_example=example,
        save_as_external_data=False,
        onnx_execution_providers=["CPUExecutionProvider"],
        pip_requirements=[f"onnx=={onnx.__version__}", f"onnxruntime=={onnxruntime.__version__}", "numpy"],
    )
