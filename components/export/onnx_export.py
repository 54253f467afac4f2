"""The one ONNX exporter: any GenForge graph → one self-contained, checked .onnx file; and its parity with torch.

A graph's batch axis is always dynamic; a caller may free more axes (a language model's sequence axis,
components/export/onnx_lm.py) and add metadata (a cGAN's class names, a tokenizer's sha256) for the consumer."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch

from components.serving import session


def export_onnx(
    model: torch.nn.Module,
    path: Path,
    example: tuple[torch.Tensor, ...],
    input_names: tuple[str, ...],
    output_name: str = "images",
    dynamic_shapes: dict | tuple | None = None,
    metadata: dict[str, str] | None = None,
) -> Path:
    """torch.onnx (dynamo exporter) → one self-contained .onnx file, checked by onnx.checker. `dynamic_shapes`:
    torch.export's, per forward() argument (default: axis 0 of every input, one shared batch Dim)."""
    model = model.cpu().eval()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if dynamic_shapes is None:
        batch = torch.export.Dim("batch", min=1, max=4096)
        dynamic_shapes = tuple({0: batch} for _ in example)
    # The exporter logs one warning per torchvision op it cannot register (torchvision is not installed here).
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, message=".*LeafSpec.*")  # torch-internal
        # Inputs that share the batch Dim on purpose: torch notes that it names the axis once.
        warnings.filterwarnings("ignore", category=UserWarning, message="# The axis name: batch will not be used")
        torch.onnx.export(
            model,
            example,
            str(path),
            input_names=list(input_names),
            output_names=[output_name],
            dynamic_shapes=dynamic_shapes,
            external_data=False,
            verbose=False,
        )
    if metadata:
        proto = onnx.load(str(path))
        onnx.helper.set_model_props(proto, metadata)
        onnx.save(proto, str(path))
    onnx.checker.check_model(str(path))
    return path


@torch.no_grad()
def parity(model: torch.nn.Module, path: Path, inputs: tuple[torch.Tensor, ...], input_names: tuple[str, ...]) -> float:
    """Max abs difference between torch and onnxruntime on the same seeded inputs."""
    expected = model.cpu().eval()(*inputs).numpy()
    got = session(path).run(None, {name: x.numpy() for name, x in zip(input_names, inputs, strict=True)})[0]
    if got.shape != expected.shape:
        return float("inf")
    return float(np.abs(got - expected).max())
