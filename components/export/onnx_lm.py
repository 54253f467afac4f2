"""Export a GenForge language model (or its classifier) to ONNX with dynamic batch AND sequence axes, and check
onnxruntime against torch at several sequence lengths.

A language model is called with every context length from 1 to block_size, so the sequence axis stays free too
(components.export.onnx_export.export_onnx frees only the batch axis by default).
The graph's metadata carries block_size, vocab_size and the tokenizer file's sha256, so the torch-free consumer
crops the context right and refuses a tokenizer that is not the one the model was trained with.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from components.export.onnx_export import export_onnx
from components.serving import session


def export_lm(model: torch.nn.Module, path: Path, tokenizer_sha256: str | None = None) -> Path:
    """GPT (tokens → logits) or GPTClassifier (tokens, lengths → class_logits) → one self-contained .onnx file."""
    batch = torch.export.Dim("batch", min=1, max=4096)
    seq = torch.export.Dim("seq", min=1, max=model.block_size)
    # Trace at sizes that are neither 0 nor 1 (torch.export would specialise those) and differ from each other.
    example = model.example_inputs(2, seed=0, seq=min(model.block_size, 5) if model.block_size > 2 else 2)
    dynamic = {"tokens": {0: batch, 1: seq}} | ({"lengths": {0: batch}} if "lengths" in model.input_names else {})
    metadata = dict(model.onnx_metadata) | ({"genforge.tokenizer_sha256": tokenizer_sha256} if tokenizer_sha256 else {})
    return export_onnx(model, path, example, model.input_names, model.output_name, dynamic, metadata)


@torch.no_grad()
def parity_lm(
    model: torch.nn.Module, path: Path, seq_lengths: tuple[int, ...] = (1, 7, 64), batch: int = 2, seed: int = 0
) -> dict[int, float]:
    """Max abs difference of the outputs, torch vs onnxruntime, on seeded inputs at each sequence length (cropped to
    block_size); inf where the shapes differ."""
    model = model.cpu().eval()
    sess = session(path)
    result = {}
    for t in dict.fromkeys(min(t, model.block_size) for t in seq_lengths):
        inputs = model.example_inputs(batch, seed=seed + t, seq=t)
        expected = model(*inputs).numpy()
        got = sess.run(None, {n: x.numpy() for n, x in zip(model.input_names, inputs, strict=True)})[0]
        result[t] = float(np.abs(got - expected).max()) if got.shape == expected.shape else float("inf")
    return result
