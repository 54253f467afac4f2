"""Failpoints for crash and race tests (like etcd's gofail): `GENFORGE_KILL_AT=<point>` makes the process SIGKILL
itself when it reaches that point, `GENFORGE_PAUSE_AT=<point>=<seconds>` makes it wait there (to force two
processes to overlap), so tests can prove that a run killed or raced anywhere leaves nothing half-done."""

from __future__ import annotations

import os
import signal
import time


def point(name: str) -> None:
    """A named place where a crash must be survivable; a no-op unless GENFORGE_KILL_AT names it."""
    if os.environ.get("GENFORGE_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
    point_, _, seconds = os.environ.get("GENFORGE_PAUSE_AT", "").partition("=")
    if point_ == name:
        time.sleep(float(seconds or 1))
