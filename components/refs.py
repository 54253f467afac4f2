"""The small, serialisable references that steps hand each other (never tensors)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DataRef:
    path: str
    """Materialised dataset folder, e.g. <root>/data/fashion-mnist."""
    dvc_md5: str
    """md5 of the dataset's folder as pinned by its DVC pointer, data/<dataset>.dvc."""
    dataset_md5: str
    """md5 of this dataset's files (content only, independent of DVC): the key of every cache."""
    rev: str
    """git commit of the workspace (with '-dirty' when the dataset's pointer is uncommitted)."""


@dataclass(frozen=True)
class RunRef:
    mlflow_run_id: str
    checkpoint_uri: str
    config_hash: str
    train_key: str
    """The cache key of the training step: data md5 + config hash + code version."""
    checkpoints: dict[str, str] = field(default_factory=dict)
    """The checkpoint files logged with the training run → sha256: checked before a later run opens one."""


@dataclass(frozen=True)
class EvalReport:
    metrics: dict[str, float]
    ci: dict[str, tuple[float, float]]
    artifacts: dict[str, str] = field(default_factory=dict)
    mlflow_run_id: str = ""


@dataclass(frozen=True)
class ExportRef:
    onnx_uri: str
    """The MLflow logged-model URI (models:/m-…) holding the ONNX file."""
    sha256: str
    parity: float
    """Max abs difference between onnxruntime and torch on seeded inputs."""
    passed: bool
    mlflow_run_id: str = ""
    files: dict[str, str] = field(default_factory=dict)
    """The model folder's other files (encoder.onnx, tokenizer.json, …) → sha256."""
    metrics: dict[str, float] = field(default_factory=dict)
    """What the export measured besides parity (a quantised variant's loss, and whether it was registered)."""


@dataclass(frozen=True)
class Decision:
    action: str
    """'promote', 'keep' or 'reject'."""
    reasons: tuple[str, ...]
    version: str | None = None
    already_registered: bool = False


@dataclass(frozen=True)
class SourcesRef:
    """A registered model's weight snapshots, fetched and verified for a run that learns from it (a detector's
    generator, a fine-tune's base)."""

    model: str
    version: str
    run_id: str
    """The MLflow training run of that version: part of the learning run's cache key."""
    snapshots: tuple[str, ...]
    """Local paths of its training run's epoch_*.pt, in training order: the last holds the final weights."""
