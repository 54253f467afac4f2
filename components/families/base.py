"""The family contract: everything the pipeline needs of one kind of model, in one typed class.

The flow (flows/pipeline.py) calls these methods for every family, unconditionally; a family overrides the hooks
it needs and declares, as class attributes, what it is: its config class, the config sections each step reads
(the cache keys), the ONNX graphs and files its registered model folder holds, and its headline metrics.

Family classes are light to import (their heavy modules — torch, models, trainers — are imported inside the
methods), so reading a config or listing families never loads a network.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from components.config import ExportConfig, PipelineConfig
from components.refs import SourcesRef

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

    from components.evaluation.result import Evaluation
    from components.training.result import TrainResult


@dataclass(frozen=True)
class TrainJob:
    """Where a training run reads and writes, and whom it tells."""

    dataset_dir: Path
    checkpoint_dir: Path
    sources: SourcesRef | None = None
    """Registered models this one learns from (a detector's generator, a fine-tune's base); None if none."""
    on_log: Callable[[dict], None] = lambda row: None
    """Called with each logged row of losses (it has a `step`)."""
    on_epoch: Callable[[int, np.ndarray], None] = lambda epoch, samples: None
    """Called with a batch of uint8 samples at the end of each epoch (a picture for the dashboard)."""
    resume: bool = False
    """Continue from the last checkpoint in checkpoint_dir instead of starting over."""


@dataclass(frozen=True)
class EvalJob:
    """What an evaluation scores and where it may cache (features, evaluator networks per data version)."""

    checkpoint: Path
    dataset_dir: Path
    dataset_md5: str
    cache_dir: Path


class Family(ABC):
    """One kind of model: how it trains, loads, evaluates and exports. Subclass it, then add one line to
    components/families/__init__.py."""

    name: ClassVar[str]
    """The `family:` value of its configs; the registered model is <name>-<dataset>."""
    config_class: ClassVar[type[PipelineConfig]]
    headline: ClassVar[tuple[str, ...]]
    """The metrics that say how good a version is, in the order people read them (run summary, report, `models`)."""
    train_sections: ClassVar[tuple[str, ...]] = ("family", "dataset", "seed", "model", "train")
    """Config sections that change the trained weights: with the data md5 and code, the train step's cache key."""
    eval_sections: ClassVar[tuple[str, ...]] = ("evaluation",)
    """Config sections the evaluation reads (a changed one re-evaluates and re-decides, it does not retrain)."""
    export_sections: ClassVar[tuple[str, ...]] = ("export",)
    graphs: ClassVar[tuple[str, ...]] = ("model",)
    """ONNX graphs of a registered version: model.onnx (the sampling graph, load()) and extra_graphs()' names."""
    files: ClassVar[tuple[str, ...]] = ()
    """Other files always registered beside the graphs (extra_files())."""
    optional_files: ClassVar[tuple[str, ...]] = ()
    """Files registered only when they keep their quality (export_variants(): an INT8 graph)."""
    data_parallel: ClassVar[bool] = True
    """Whether train() runs on the shared loop (components/training/loop.py), so train.distributed can split it
    over processes (components/families/distributed.py)."""
    batch_statistics: ClassVar[bool] = False
    """Whether its networks normalise over the batch in training (BatchNorm). In a data-parallel run on CPU each
    process normalises over its own share (PyTorch's SyncBatchNorm needs GPUs), so the results depend on the world
    size: the train step's cache key then includes it. Without, 1 and N processes train the same weights (to
    float summation order) and share the key."""

    # ---- required ----------------------------------------------------------------------------------------------

    @abstractmethod
    def train(self, cfg: PipelineConfig, job: TrainJob) -> TrainResult:
        """Train from cfg on job.dataset_dir; write checkpoints (components.checkpoints) under job.checkpoint_dir."""

    @abstractmethod
    def load(self, checkpoint: str | Path) -> nn.Module:
        """The sampling graph of a checkpoint (exported as model.onnx): an nn.Module with the export methods of
        components.export.onnx_export (input_names, output_names, example_inputs, onnx_io …)."""

    @abstractmethod
    def evaluate(self, cfg: PipelineConfig, job: EvalJob) -> Evaluation:
        """Score the checkpoint on the held-out data; every seed is the evaluation's, never the training seed."""

    # ---- hooks with defaults -----------------------------------------------------------------------------------

    def check_ready(self, cfg: PipelineConfig, state_dir: Path) -> None:
        """Raise a UserError, before any step runs, when something the run will need is missing from this machine
        (weights to fetch, …): a user should not wait for training to learn it. Default: nothing to check."""
        return None

    def needs_sources(self, cfg: PipelineConfig) -> bool:
        """Whether the run learns from registered models (then the pipeline fetches cfg.sources' champion)."""
        return False

    def extra_graphs(self, checkpoint: str | Path) -> dict[str, nn.Module]:
        """More ONNX graphs of the same version (a VAE's encoder, a CycleGAN's reverse generator), by name."""
        return {}

    def extra_files(self, checkpoint: str | Path, out_dir: Path) -> list[Path]:
        """Files written under out_dir and registered beside the graphs (a tokenizer)."""
        return []

    def export_graph(self, graph: nn.Module, path: Path, export: ExportConfig) -> float:
        """Write one graph to `path` as ONNX and return its parity: max |onnxruntime − torch| on seeded inputs of
        export.parity_batch. Default: the batch axis dynamic (what every image graph needs)."""
        from components.export.onnx_export import export_onnx, parity

        example, names = graph.example_inputs(2), graph.input_names
        export_onnx(graph, path, example, names, graph.output_name, metadata=graph.onnx_metadata)
        return parity(graph, path, graph.example_inputs(export.parity_batch, seed=123), graph.input_names)

    def export_variants(
        self, cfg: PipelineConfig, onnx_path: Path, checkpoint: str | Path, dataset_dir: Path, out_dir: Path
    ) -> tuple[list[Path], dict[str, float]]:
        """Derived graphs kept only within a declared quality margin: (files to register, metrics to log)."""
        return [], {}

    # ---- what the flow derives from the declarations -----------------------------------------------------------

    def check_graphs(self, extra: dict[str, nn.Module]) -> None:
        """A family's extra graphs must be the ones it declares: the registry and `genforge pull` rely on them."""
        declared = set(self.graphs) - {"model"}
        if set(extra) != declared:
            raise TypeError(f"family {self.name} declares graphs {sorted(declared)} but built {sorted(extra)}")
