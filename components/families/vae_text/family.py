"""Sentence VAE: sentences from a latent prior and paths between them; two graphs (decoder, encoder) and the
character vocabulary."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from components.config import ExportConfig
from components.families.base import EvalJob, Family, TrainJob
from components.families.vae_text.config import TextVAEPipelineConfig

if TYPE_CHECKING:
    from torch import nn

    from components.evaluation.result import Evaluation
    from components.training.result import TrainResult


class TextVAE(Family):
    """A transformer sentence VAE on People's Daily: model.onnx decodes (tokens, z) → next-character logits,
    encoder.onnx encodes a sentence → posterior, vocab.json names the characters."""

    name = "vae-text"
    config_class = TextVAEPipelineConfig
    headline = (
        "heldout_nats_per_char", "kl_per_sentence", "active_units", "c2st_auc", "copied_ngram_share",
        "exact_copy_fraction",
    )  # fmt: skip
    graphs = ("model", "encoder")
    files = ("vocab.json",)
    data_parallel = False  # word dropout draws and gradient clipping are per process: one process only

    def train(self, cfg: TextVAEPipelineConfig, job: TrainJob) -> TrainResult:
        from components.families.vae_text import steps

        return steps.train(cfg, job)

    def load(self, checkpoint: str | Path) -> nn.Module:
        from components.families.vae_text.trainer import load_text_vae

        return load_text_vae(checkpoint)[0].decoder

    def evaluate(self, cfg: TextVAEPipelineConfig, job: EvalJob) -> Evaluation:
        from components.families.vae_text import steps

        return steps.evaluate(cfg, job)

    def extra_graphs(self, checkpoint: str | Path) -> dict[str, nn.Module]:
        from components.families.vae_text.trainer import load_text_vae

        return {"encoder": load_text_vae(checkpoint)[0].encoder}

    def extra_files(self, checkpoint: str | Path, out_dir: Path) -> list[Path]:
        from components.families.vae_text import steps

        return steps.extra_files(checkpoint, out_dir)

    def export_graph(self, graph: nn.Module, path: Path, export: ExportConfig) -> float:
        from components.families.vae_text import steps

        return steps.export_graph(graph, path, export.parity_batch)
