"""Prefect events that GenForge emits, for deployments to trigger on (prefect.yaml `triggers:`).

`genforge.dataset.versioned`: a dataset got a new DVC version (`genforge data build` pinned a new md5). Its resource
is `genforge.dataset.<name>`, labelled with the new and the previous md5, so a deployment whose config reads that
dataset retrains on it:

    triggers:
      - type: event
        expect: [genforge.dataset.versioned]
        match: {prefect.resource.id: genforge.dataset.fashion-mnist}

Emitted only when the md5 changed and a Prefect API is configured (PREFECT_API_URL, as for `genforge run`); without
one nothing is sent and nothing is said. Components never import Prefect: this module is the flows' side.
"""

from __future__ import annotations

import os
from typing import Any

DATASET_VERSIONED = "genforge.dataset.versioned"


def dataset_resource_id(dataset: str) -> str:
    """The event resource of a dataset, e.g. genforge.dataset.fashion-mnist (what a trigger's `match` names)."""
    return f"genforge.dataset.{dataset}"


def api_url() -> str | None:
    """The Prefect API that events go to: PREFECT_API_URL, or None when unset (then GenForge emits nothing)."""
    return os.environ.get("PREFECT_API_URL") or None


def dataset_versioned(
    dataset: str, md5: str, previous_md5: str | None, payload: dict[str, Any] | None = None, timeout: float = 10.0
) -> Any | None:
    """Emit `genforge.dataset.versioned` for `dataset` now pinned at `md5` (was `previous_md5`, None for a first
    version) and wait until it is sent; returns the event, or None when nothing was emitted (the md5 did not change,
    or no Prefect API is configured)."""
    if md5 == previous_md5 or api_url() is None:
        return None
    from prefect.events import emit_event
    from prefect.events.worker import EventsWorker

    event = emit_event(
        event=DATASET_VERSIONED,
        resource={
            "prefect.resource.id": dataset_resource_id(dataset),
            "prefect.resource.name": dataset,
            "genforge.md5": md5,
            "genforge.previous_md5": previous_md5 or "",
        },
        payload={"dataset": dataset, "md5": md5, "previous_md5": previous_md5, **(payload or {})},
    )
    # Events are sent by a background worker: drain it before the command exits, or the event may never leave.
    EventsWorker.drain_all(timeout=timeout)
    return event
