"""A metric as people read it: its value, its 95 % interval, the sample size behind it and the real-data floor.

Stores (MLflow metrics, registry tags) hold flat scalars; this module is the one place that knows how a metric's
parts are spelled there (`fid`, `fid_ci_low`, `fid_ci_high`, `fid_real_floor`, the evaluation's
`eval_num_samples`). The run summary, the report and `genforge models` read metrics through it, in the order of
the family's headline list (the version's `genforge.headline` tag).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

CI_LOW, CI_HIGH, REAL_FLOOR = "_ci_low", "_ci_high", "_real_floor"
SAMPLE_SIZE = "eval_num_samples"
BOOKKEEPING = (SAMPLE_SIZE, "c2st_num_test", "n_test_in", "n_test_cross")
"""Counts logged beside the metrics: parts of other rows, not rows of their own."""


@dataclass(frozen=True)
class Metric:
    name: str
    value: float
    low: float | None = None
    high: float | None = None
    """The 95 % interval (bootstrap or analytic), where the evaluation gives one."""
    n: int | None = None
    """Generated (and real) samples behind a distance or an interval."""
    floor: float | None = None
    """The same metric between two sets of real images: the best a generator could score at this N."""

    @property
    def interval(self) -> tuple[float, float] | None:
        return (self.low, self.high) if self.low is not None and self.high is not None else None

    def flat(self) -> dict[str, float]:
        """Back to the stores' spelling."""
        out = {self.name: self.value}
        if self.interval:
            out |= {self.name + CI_LOW: self.low, self.name + CI_HIGH: self.high}
        if self.floor is not None:
            out[self.name + REAL_FLOOR] = self.floor
        return out


def is_part(key: str) -> bool:
    """An interval bound, a floor or a count: shown inside another metric's row."""
    return key.endswith((CI_LOW, CI_HIGH, REAL_FLOOR)) or key in BOOKKEEPING


def metric(flat: Mapping[str, float], name: str) -> Metric:
    low, high, floor = flat.get(name + CI_LOW), flat.get(name + CI_HIGH), flat.get(name + REAL_FLOOR)
    n = flat.get(SAMPLE_SIZE) if (low is not None or floor is not None) else None
    return Metric(name, flat[name], low, high, int(n) if n else None, floor)


def read(flat: Mapping[str, float], headline: Iterable[str] = (), everything: bool = False) -> list[Metric]:
    """The headline metrics present in `flat`, in headline order; with `everything`, then every other metric that
    is not a part of one, sorted by name."""
    first = [name for name in headline if name in flat]
    rest = sorted(k for k in flat if k not in first and not is_part(k)) if everything else []
    return [metric(flat, name) for name in first + rest]


def headline_of(tags: Mapping[str, str]) -> list[str]:
    """A registered version's headline list (its family's, recorded at promotion); [] for versions before it."""
    try:
        names = json.loads(tags.get("genforge.headline", "[]"))
    except json.JSONDecodeError:
        return []
    return [n for n in names if isinstance(n, str)]
