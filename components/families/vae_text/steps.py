"""The sentence VAE's train, evaluate and export steps: documents → sentences → the trainer / the evaluation."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from components.data.text_dataset import load_documents
from components.evaluation.result import Evaluation
from components.families.base import EvalJob, TrainJob
from components.families.vae_text import evaluation
from components.families.vae_text.config import TextVAEPipelineConfig
from components.families.vae_text.trainer import TextVAETrainer, load_text_vae
from components.models.tensors import pick_device
from components.text.sentences import Vocab, sentences
from components.training.result import TrainResult

VOCAB_FILE = "vocab.json"


def split_sentences(dataset_dir: Path, split: str, max_chars: int) -> list[str]:
    return sentences(load_documents(dataset_dir, split), max_chars)


def train(cfg: TextVAEPipelineConfig, job: TrainJob) -> TrainResult:
    texts = split_sentences(job.dataset_dir, "train", cfg.model.max_chars)
    vocab = Vocab.build(texts)
    tokens, lengths = vocab.encode(texts, cfg.model.max_chars + 2)
    trainer = TextVAETrainer(cfg, vocab, tokens, lengths, job.checkpoint_dir, on_log=job.on_log)
    return trainer.fit(resume=job.resume)


def evaluate(cfg: TextVAEPipelineConfig, job: EvalJob) -> Evaluation:
    torch.set_num_threads(cfg.train.num_threads)
    vae, vocab = load_text_vae(job.checkpoint, pick_device(cfg.train.device))
    train_texts = split_sentences(job.dataset_dir, "train", cfg.model.max_chars)
    held = split_sentences(job.dataset_dir, "held_out", cfg.model.max_chars)
    metrics, ci, texts = evaluation.evaluate(vae, vocab, cfg, train_texts, held)
    return Evaluation(metrics, ci, extras={"texts": texts})


def extra_files(checkpoint: str | Path, out_dir: Path) -> list[Path]:
    """vocab.json: the characters behind the token ids (the consumer decodes with it)."""
    _, vocab = load_text_vae(checkpoint)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / VOCAB_FILE
    path.write_text(vocab.to_json(), encoding="utf-8")
    return [path]


def export_graph(graph: nn.Module, path: Path, parity_batch: int) -> float:
    """Batch and sequence axes dynamic; parity at a short and the longest sequence."""
    from components.export.onnx_export import export_onnx, parity

    batch = torch.export.Dim("batch", min=1, max=4096)
    seq = torch.export.Dim("seq", min=1, max=graph.max_seq)
    first, second = graph.input_names
    dynamic = {first: {0: batch, 1: seq}, second: {0: batch}}
    export_onnx(graph, path, graph.example_inputs(2, seed=0, seq=5), graph.input_names, graph.output_name, dynamic,
                dict(graph.onnx_metadata))  # fmt: skip
    longest = graph.example_inputs(parity_batch, seed=123, seq=graph.max_seq)
    with torch.no_grad():
        return max(
            parity(graph, path, graph.example_inputs(parity_batch, seed=123, seq=3), graph.input_names),
            parity(graph, path, longest, graph.input_names),
        )
