"""Errors the user can fix: the CLI prints their message in one line (`error: …`) and exits 2, no traceback."""

from __future__ import annotations

import math


class UserError(Exception):
    """An error whose message tells the user what to fix; the CLI prints it in one line and exits 2."""


class BadInputError(UserError, ValueError):
    """An input file (image, ONNX model, output path) that cannot be used; the message names it and says why."""


class TrainingDiverged(UserError, ArithmeticError):
    """A training loss became NaN or infinite: the weights are garbage, so the run stops before anything is
    registered."""


def check_finite(step: int, hint: str = "lower train.lr or check the data", **losses: float) -> None:
    """Raise TrainingDiverged naming the step and the first non-finite loss (plain floats: the `.item()` values a
    trainer already computes for its log, so the check costs nothing)."""
    for name, value in losses.items():
        if not math.isfinite(value):
            raise TrainingDiverged(f"training diverged at step {step}: {name} is {value} ({hint})")


class ServerUnreachable(UserError):
    """A configured server that does not answer or refuses us: the message names the URL and the variable to fix."""


class CheckpointError(UserError):
    """A checkpoint that is not the recorded file, or not plain tensors: refused, never opened further."""
