"""Checkpoints: a dict of tensors and plain values (numbers, strings, lists, dicts), written atomically and read
back without running code.

`torch.load(weights_only=True)` unpickles only tensors and containers of plain values: a file that asks to call
anything else (the classic `__reduce__` payload) is refused before a line of it runs. A checkpoint that travelled
through the artifact store is also checked against the sha256 recorded when it was registered, before it is opened.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from components.atomic import atomic_path
from components.checksums import sha256_file
from components.errors import CheckpointError


def save(path: str | Path, state: dict) -> Path:
    """Write `state` atomically: an interrupted save never leaves a half-written checkpoint behind. In a
    data-parallel run only rank 0 writes (every process holds the same weights)."""
    path = Path(path)
    if torch.distributed.is_available() and torch.distributed.is_initialized() and torch.distributed.get_rank():
        return path
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return path


def load_family(path: str | Path, family: str, map_location: str | torch.device = "cpu") -> dict:
    """load(), refusing a checkpoint written by another family's trainer (its header names the family)."""
    state = load(path, map_location)
    if state.get("family") != family:
        raise CheckpointError(f"{path} is a {state.get('family')!r} checkpoint, not a {family} one")
    return state


def load(path: str | Path, map_location: str | torch.device = "cpu", sha256: str | None = None) -> dict:
    """Read a checkpoint as plain tensors and values; with `sha256`, only if the file is exactly the recorded one."""
    path = Path(path)
    if sha256 is not None:
        actual = sha256_file(path)
        if actual != sha256:
            raise CheckpointError(
                f"{path} has sha256 {actual[:16]}…, not the {sha256[:16]}… recorded at registration: "
                "the artifact store was altered; refusing to open it"
            )
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"{path} is not a plain-tensor checkpoint ({first[:160]}); refused without running anything in it"
        ) from None
