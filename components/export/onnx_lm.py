"""Export a GenForge language model (or its classifier) to ONNX with dynamic batch AND sequence axes, and check
onnxruntime against torch at several sequence lengths.

`components.export.onnx_export.export_onnx` makes only the batch axis dynamic (the image generators' contract); a
language model is called with every context length from 1 to block_size, so the sequence axis must stay free too.
The graph's metadata carries block_size, vocab_size and the tokenizer file's sha256, so the torch-free consumer
crops the context right and refuses a tokenizer that is not the one the model was trained with.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch

from components.serving import session


def export_lm(model: torch.nn.Module, path: Path, tokenizer_sha256: str | None = None) -> Path:
    """GPT (tokens → logits) or GPTClassifier (tokens, lengths → class_logits) → one self-contained .onnx file."""
    model = model.cpu().eval()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    batch = torch.export.Dim("batch", min=1, max=4096)
    seq = torch.export.Dim("seq", min=1, max=model.block_size)
    # Trace at sizes that are neither 0 nor 1 (torch.export would specialise those) and differ from each other.
    example = model.example_inputs(2, seed=0, seq=min(model.block_size, 5) if model.block_size > 2 else 2)
    dynamic = {"tokens": {0: batch, 1: seq}}
    if "lengths" in model.input_names:
        dynamic["lengths"] = {0: batch}
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)  # torchvision absent
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, message=".*LeafSpec.*")  # torch-internal
        # The classifier's two inputs share the batch Dim on purpose; torch notes that it names the axis once.
        warnings.filterwarnings("ignore", category=UserWarning, message="# The axis name: batch will not be used")
        torch.onnx.export(
            model,
            example,
            str(path),
            input_names=list(model.input_names),
            output_names=[model.output_name],
            dynamic_shapes=dynamic,
            external_data=False,
            verbose=False,
        )
    proto = onnx.load(str(path))
    metadata = dict(model.onnx_metadata)
    if tokenizer_sha256:
        metadata["genforge.tokenizer_sha256"] = tokenizer_sha256
    onnx.helper.set_model_props(proto, metadata)
    onnx.save(proto, str(path))
    onnx.checker.check_model(str(path))
    return path


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


class SelfExporting:
    """Mixin for a token model that the export step exports itself (GPT language model, GPT classifier): batch and
    sequence axes dynamic, parity checked at several sequence lengths (the flow's default exporter makes only the
    batch axis dynamic). `tokenizer_sha256` is written into the graph's metadata."""

    tokenizer_sha256: str | None = None

    def export_onnx(self, path: Path) -> Path:
        return export_lm(self, path, self.tokenizer_sha256)

    def onnx_parity(self, path: Path, cfg) -> float:
        """Max |onnxruntime − torch| over cfg.parity_seq_lengths (cfg: the config's export section)."""
        return max(parity_lm(self, path, cfg.parity_seq_lengths, batch=cfg.parity_batch).values())
