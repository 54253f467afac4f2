"""Model families: what the pipeline needs to train, load, evaluate and export each kind of model.

The flow is the same for every family; adding one means adding a module here with the same five names:
TRAIN_SECTIONS, train(), load(), evaluate() and, where it reads other registered models, needs_sources.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType


def get(family: str) -> ModuleType:
    """The family module (imported lazily: each pulls in torch and its own models)."""
    return import_module(f"components.families.{family}")
