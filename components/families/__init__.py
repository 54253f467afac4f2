"""Model families: what the pipeline needs to train, load, evaluate and export each kind of model.

The flow is the same for every family; adding one means adding a module here with the same names:
TRAIN_SECTIONS, needs_sources, train(), load() (the sampling graph: model.onnx) and evaluate(); optionally
EVAL_SECTIONS (config sections the evaluation reads besides `evaluation`), extra_graphs() (more ONNX graphs for
the same registered version: a VAE's encoder, a CycleGAN's reverse generator) and extra_files(). needs_sources may
be a function of the config (a GPT fine-tunes a registered base only when `sources.model` is set); a graph with
export_onnx(path) and onnx_parity(path, export_cfg) methods exports and checks itself (a language model's sequence
axis is dynamic too). An evaluation's extras["texts"] ({file name: text}) is logged as text artifacts. Its config
class goes into components.config.CONFIGS. (gpt_classifier.py is not a family: it is gpt's classification half.)
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType


def get(family: str) -> ModuleType:
    """The family module (imported lazily: each pulls in torch and its own models)."""
    return import_module(f"components.families.{family}")
