"""The one place that configures MLflow runs: experiments, the parent run, nested step runs, batched logging.

Runs are addressed by id, never through MLflow's per-thread "active run", because Prefect may run a task in a
worker thread; `StepRun.activate()` makes a run active only around the fluent calls that need it (log_model).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from mlflow.entities import Metric, Param, RunTag

import mlflow
from components.refs import DataRef
from components.workspace import Workspace
from mlflow import MlflowClient

AUDIT_EXPERIMENT = "genforge-audit"


def configure(ws: Workspace) -> MlflowClient:
    """Point MLflow at the workspace store (MLFLOW_TRACKING_URI, when set, wins)."""
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
        with mlflow.start_run(run_id=self.run_id):
            yield

    def log_dataset(self, data: DataRef, name: str, context: str = "training") -> None:
        """mlflow.log_input with the DVC md5 as the digest, so the UI links runs to the data version."""
        from mlflow.data.meta_dataset import MetaDataset

        dataset = MetaDataset(_dvc_source(data), name=name, digest=data.dvc_md5[:36])
        with self.activate():
            mlflow.log_input(dataset, context=context)

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
    all_tags = {"mlflow.runName": name, **(tags or {})}
    if parent:
        all_tags["mlflow.parentRunId"] = parent
    created = client.create_run(experiment, tags=all_tags, run_name=name)
    step = StepRun(client, created.info.run_id)
    try:
        yield step
    except BaseException:
        step.finish("FAILED")
        raise
    step.finish("FINISHED")


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
