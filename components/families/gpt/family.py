"""GPT: a self-attention language model, pretrained or fine-tuned from a registered one; or a classifier."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from components.families.base import EvalJob, Family, TrainJob
from components.families.gpt.config import GPTExportConfig, GPTPipelineConfig

if TYPE_CHECKING:
    from torch import nn

    from components.evaluation.result import Evaluation
    from components.training.result import TrainResult


class GPT(Family):
    """A decoder-only transformer (nanoGPT-style); its tokenizer travels beside model.onnx (INT8 when it keeps up)."""

    name = "gpt"
    config_class = GPTPipelineConfig
    headline = (
        "heldout_nats_per_char",
        "heldout_char_perplexity",
        "finetune_gain",
        "forgetting",
        "c2st_auc",
        "accuracy",
        "f1_macro",
        "ngram_accuracy",
        "scratch_accuracy",
        "int8_loss_increase",
    )
    train_sections = ("family", "dataset", "seed", "tokenizer", "model", "train", "sources")
    files = ("tokenizer.json",)
    optional_files = ("model.int8.onnx",)

    def train(self, cfg: GPTPipelineConfig, job: TrainJob) -> TrainResult:
        from components.families.gpt import steps

        return steps.train(cfg, job)

    def load(self, checkpoint: str | Path) -> nn.Module:
        from components.families.gpt import steps

        return steps.load(checkpoint)

    def evaluate(self, cfg: GPTPipelineConfig, job: EvalJob) -> Evaluation:
        from components.families.gpt import steps

        return steps.evaluate(self.load(job.checkpoint), cfg, job)

    def needs_sources(self, cfg: GPTPipelineConfig) -> bool:
        """A fine-tune pulls its base model from the registry; a pretraining run needs nothing."""
        return cfg.sources.model is not None

    def extra_files(self, checkpoint: str | Path, out_dir: Path) -> list[Path]:
        from components.families.gpt import steps

        return steps.extra_files(checkpoint, out_dir)

    def export_graph(self, graph: nn.Module, path: Path, export: GPTExportConfig) -> float:
        """Batch and sequence axes dynamic, the tokenizer's sha256 in the graph; parity at every length asked."""
        from components.export.onnx_lm import export_lm, parity_lm

        export_lm(graph, path, graph.tokenizer_sha256)
        return max(parity_lm(graph, path, export.parity_seq_lengths, batch=export.parity_batch).values())

    def export_variants(
        self, cfg: GPTPipelineConfig, onnx_path: Path, checkpoint: str | Path, dataset_dir: Path, out_dir: Path
    ) -> tuple[list[Path], dict[str, float]]:
        from components.families.gpt import steps

        return steps.export_variants(onnx_path, checkpoint, dataset_dir, cfg, out_dir)
