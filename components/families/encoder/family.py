"""Encoder: a bidirectional character encoder pretrained self-correcting (ELECTRA or BERT), and its fine-tunes — an
entity tagger (ner-peoplesdaily) and a review classifier (encoder-sentiment-zh). One graph, model.onnx (the task's
head, batch and sequence axes dynamic), and the character vocabulary beside it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from components.config import ExportConfig
from components.families.base import EvalJob, Family, TrainJob
from components.families.encoder.config import EncoderPipelineConfig

if TYPE_CHECKING:
    from torch import nn

    from components.evaluation.result import Evaluation
    from components.training.result import TrainResult

VOCAB_FILE = "vocab.json"


def _vocab_json(state: dict) -> str:
    from components.text.chars import CharVocab

    return CharVocab(tuple(state["vocab"])).to_json()


class EncoderFamily(Family):
    name = "encoder"
    config_class = EncoderPipelineConfig
    headline = (
        "f1", "crf_f1", "scratch_f1", "f1_gain_over_crf", "accuracy", "ngram_accuracy", "scratch_accuracy",
        "accuracy_gain_over_ngram", "heldout_masked_accuracy", "heldout_masked_nats", "rtd_auc",
    )  # fmt: skip
    train_sections = ("family", "dataset", "seed", "model", "pretrain", "train", "sources")
    files = (VOCAB_FILE,)
    data_parallel = False  # the corruption draws are per process: one process only (stated, not split)

    def train(self, cfg: EncoderPipelineConfig, job: TrainJob) -> TrainResult:
        from components.families.encoder import steps

        return steps.train(cfg, job)

    def load(self, checkpoint: str | Path) -> nn.Module:
        from components.families.encoder import steps

        state = steps.read(checkpoint)
        head = steps.head_of(state)
        head.vocab_sha256 = hashlib.sha256(_vocab_json(state).encode("utf-8")).hexdigest()
        return head

    def evaluate(self, cfg: EncoderPipelineConfig, job: EvalJob) -> Evaluation:
        import torch

        from components.data.text_dataset import load_documents
        from components.evaluation.result import Evaluation
        from components.families.encoder import evaluation, steps
        from components.metrics import CI_HIGH, CI_LOW
        from components.models.tensors import pick_device

        torch.set_num_threads(cfg.train.num_threads)
        state, device = steps.read(job.checkpoint), pick_device(cfg.train.device)
        texts: dict[str, str] = {}
        if cfg.task == "pretrain":
            metrics, ci = (
                evaluation.pretrain_metrics(state, load_documents(job.dataset_dir, "held_out"), cfg, device),
                {},
            )
        elif cfg.task == "ner":
            metrics, ci, texts = evaluation.ner_metrics(state, job.dataset_dir, cfg, device, job.cache_dir,
                                                        job.dataset_md5)  # fmt: skip
        else:
            metrics, ci, texts = evaluation.classify_metrics(state, job.dataset_dir, cfg, device)
        for name, (low, high) in ci.items():  # the stores' spelling of an interval (components/metrics.py)
            metrics |= {name + CI_LOW: low, name + CI_HIGH: high}
        texts["text_metrics.json"] = evaluation.text_metrics_file(metrics)
        return Evaluation(metrics, ci, extras={"texts": texts})

    def needs_sources(self, cfg: EncoderPipelineConfig) -> bool:
        return cfg.sources.model is not None

    def check_ready(self, cfg: EncoderPipelineConfig, state_dir: Path) -> None:
        from components.errors import UserError

        if cfg.task != "pretrain" and cfg.sources.model is None:
            raise UserError(f"{cfg.name}: a {cfg.task} fine-tune starts from a registered encoder: set sources.model "
                            "(e.g. encoder-peoplesdaily) and run that config first")  # fmt: skip

    def extra_files(self, checkpoint: str | Path, out_dir: Path) -> list[Path]:
        from components.families.encoder import steps

        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / VOCAB_FILE
        path.write_bytes(_vocab_json(steps.read(checkpoint)).encode("utf-8"))
        return [path]

    def export_graph(self, graph: nn.Module, path: Path, export: ExportConfig) -> float:
        """Batch and sequence axes dynamic, the vocabulary's sha256 in the graph; parity at a short and the longest
        sequence."""
        import torch

        from components.export.onnx_export import export_onnx, parity

        batch, seq = torch.export.Dim("batch", min=1, max=4096), torch.export.Dim("seq", min=2, max=graph.max_seq)
        dynamic = {"tokens": {0: batch, 1: seq}, "lengths": {0: batch}}
        metadata = {**graph.onnx_metadata, "genforge.vocab_sha256": graph.vocab_sha256}
        export_onnx(graph, path, graph.example_inputs(2, seed=0, seq=9), graph.input_names, graph.output_name, dynamic,
                    metadata)  # fmt: skip
        with torch.no_grad():
            return max(
                parity(graph, path, graph.example_inputs(export.parity_batch, seed=123, seq=5), graph.input_names),
                parity(graph, path, graph.example_inputs(export.parity_batch, seed=7, seq=graph.max_seq),
                       graph.input_names),
            )  # fmt: skip
