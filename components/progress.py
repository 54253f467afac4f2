"""Periodic progress lines with rate and ETA: readable in a terminal, in CI logs and in Prefect's log view."""

from __future__ import annotations

import sys
import time


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class Progress:
    def __init__(self, label: str, total: int, every_seconds: float = 10.0, stream=None):
        self.label, self.total, self.every = label, max(total, 1), every_seconds
        self.stream = stream or sys.stderr
        self.done = 0
        self.start = self.last = time.perf_counter()

    def update(self, n: int = 1, **stats: float) -> None:
        self.done += n
        now = time.perf_counter()
        if now - self.last >= self.every or self.done >= self.total:
            self.last = now
            self._print(now, stats)

    def _print(self, now: float, stats: dict[str, float]) -> None:
        elapsed = now - self.start
        eta = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        shown = "  ".join(f"{k} {v:.3g}" for k, v in stats.items())
        pct = 100 * self.done / self.total
        timing = f"elapsed {_clock(elapsed)}  ETA {_clock(eta)}"
        print(
            f"[{self.label}] {self.done}/{self.total} ({pct:.0f}%)  {shown}  {timing}",
            file=self.stream,
            flush=True,
        )
