"""Model families: what the pipeline needs to train, load, evaluate and export each kind of model.

The flow is the same for every family; adding one means adding a module here with the same names:
TRAIN_SECTIONS, needs_sources, train(), load() (the sampling graph: model.onnx) and evaluate(); optionally
EVAL_SECTIONS (config sections the evaluation reads besides `evaluation`), extra_graphs() (more ONNX graphs for
the same registered version: a VAE's encoder, a CycleGAN's reverse generator) and extra_files(). Its config
class goes into components.config.CONFIGS.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType


def get(family: str) -> ModuleType:
    """The family module (imported lazily: each pulls in torch and its own models)."""
    return import_module(f"components.families.{family}")
