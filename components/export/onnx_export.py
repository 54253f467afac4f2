"""Export a generator's sampling graph to ONNX (dynamic batch axis) and check onnxruntime parity with torch."""

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
) -> Path:
    """torch.onnx (dynamo exporter) → one self-contained .onnx file, checked by onnx.checker."""
    model = model.cpu().eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    batch = torch.export.Dim("batch", min=1, max=4096)
    dynamic = tuple({0: batch} for _ in example)
    # The exporter logs one warning per torchvision op it cannot register (torchvision is not installed here).
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, message=".*LeafSpec.*")  # torch-internal
        torch.onnx.export(
            model,
            example,
            str(path),
            input_names=list(input_names),
            output_names=[output_name],
            dynamic_shapes=dynamic,
            external_data=False,
            verbose=False,
        )
    metadata = getattr(model, "onnx_metadata", None)  # e.g. a cGAN's class names, read by the consumer
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


def export_graph(graph: torch.nn.Module, path: Path) -> Path:
    """A family's graph to ONNX: its own exporter where it has one (a language model keeps its sequence axis
    dynamic too), else export_onnx with a dynamic batch axis."""
    if hasattr(graph, "export_onnx"):
        return graph.export_onnx(path)
    return export_onnx(graph, path, graph.example_inputs(2), graph.input_names, graph.output_name)


def graph_parity(graph: torch.nn.Module, path: Path, cfg) -> float:
    """Max |onnxruntime − torch| of an exported graph: its own check where it has one, else on seeded inputs of
    cfg.parity_batch (cfg: the config's export section)."""
    if hasattr(graph, "onnx_parity"):
        return graph.onnx_parity(path, cfg)
    return parity(graph, path, graph.example_inputs(cfg.parity_batch, seed=123), graph.input_names)
