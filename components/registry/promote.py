"""Promotion, serialised and atomic per registered model.

One lock per model is held across read champion → decide → register → alias moves → audit, so two pipelines
can never both decide against the same stale champion. Every write is recorded on the version as it happens
(`genforge.promotion`: pending → applied), so a process killed at any point leaves a state the next run of the
same data, config and code completes — re-deciding only if the champion changed meanwhile — instead of skipping.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from components import faults
from components.config import PromotionConfig
from components.errors import UserError
from components.refs import Decision
from components.registry import policy, registry
from mlflow import MlflowClient

PENDING, APPLIED = "pending", "applied"


@dataclass(frozen=True)
class Candidate:
    """What the pipeline hands promotion: one exported model, its metrics and its lineage."""

    name: str
    run_key: str
    """Data + training + evaluation + export + promotion config + code: the same key never registers twice."""
    model_uri: str
    run_id: str
    metrics: dict[str, float]
    parity_passed: bool
    parity_reason: str
    eval_space: str
    """The evaluation feature space (data version + evaluation config): only scores of one space are compared."""
    tags: dict[str, str] = field(default_factory=dict)


@contextlib.contextmanager
def model_lock(lock_dir: Path, name: str) -> Iterator[None]:
    """An exclusive lock per registered model: flock(2) on a file beside the store. The kernel releases it when
    its holder exits in any way — kill -9 included — so a crash can never wedge promotion."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    with open(lock_dir / f"promote-{safe}.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_key(*parts: str) -> str:
    """The idempotency key of a promotion: what was trained, how it was scored, exported and gated."""
    return hashlib.sha256("|".join(("promote", *parts)).encode()).hexdigest()[:24]


Rescore = Callable[[registry.Resolved], dict[str, float]]


def _decide(
    candidate: Candidate, champion: registry.Resolved | None, rules: PromotionConfig, rescore: Rescore | None
) -> Decision:
    """policy.decide, with the two rules that are not about metrics: ONNX parity blocks, and scores of two feature
    spaces are never compared — a champion scored in another space is re-scored in the candidate's first."""
    champion_metrics = champion.metrics if champion is not None else None
    notes: tuple[str, ...] = ()
    if champion is not None and champion.version.tags.get("genforge.eval_space", "") != candidate.eval_space:
        space = champion.version.tags.get("genforge.eval_space") or "unknown"
        if rescore is None:
            return Decision(
                "keep",
                (
                    f"champion v{champion.number} was scored in evaluation space {space}, this run in "
                    f"{candidate.eval_space}: not comparable, and no re-scoring was provided",
                ),
            )
        try:
            champion_metrics = {**champion.metrics, **rescore(champion)}
        except UserError as exc:  # e.g. a champion registered before checkpoints carried checksums
            return Decision("keep", (f"champion v{champion.number} could not be re-scored in this run's space: {exc}",))
        notes = (
            f"champion v{champion.number} re-scored in this run's evaluation space {candidate.eval_space} "
            f"(it was scored in {space})",
        )
    decision = policy.decide(candidate.metrics, champion_metrics, rules)
    if not candidate.parity_passed and decision.action != "reject":
        return Decision("reject", (candidate.parity_reason,))
    return Decision(decision.action, (*decision.reasons, *notes))


def promote(
    client: MlflowClient,
    audit_experiment: str,
    candidate: Candidate,
    rules: PromotionConfig,
    lock_dir: Path,
    rescore: Rescore | None = None,
) -> tuple[Decision, list[str]]:
    """Register the candidate (once per run key) and apply its decision; returns the decision and the alias moves."""
    name = candidate.name
    with model_lock(lock_dir, name):
        faults.point("promote:locked")
        existing = registry.find_version(client, name, candidate.run_key)
        if existing is not None and existing.tags.get("genforge.promotion", APPLIED) == APPLIED:  # untagged: before 0.2
            action = existing.tags.get("genforge.decision", "keep")
            reason = f"v{existing.version} was already registered for this data, config and code: nothing new to do"
            return Decision(action, (reason,), str(existing.version), True), []

        champion = registry.champion(client, name)
        recorded_against = existing.tags.get("genforge.decided_against", "") if existing is not None else None
        if existing is not None and (
            (champion is not None and champion.number == str(existing.version))
            or recorded_against == (champion.number if champion else "")
        ):
            # Killed while applying: the champion it was decided against still holds (or it already replaced it).
            reasons = tuple(existing.tags.get("genforge.decision_reasons", "").split("; "))
            decision, state = Decision(existing.tags.get("genforge.decision", "keep"), reasons), {}
        else:
            decision = _decide(candidate, champion, rules, rescore)
            state = {
                "genforge.decision": decision.action,
                "genforge.decision_reasons": "; ".join(decision.reasons)[:5000],
                "genforge.decided_against": champion.number if champion else "",
                "genforge.eval_space": candidate.eval_space,
                "genforge.promotion": PENDING,
            }
        if existing is None:
            version = str(
                registry.register(
                    client,
                    name,
                    candidate.model_uri,
                    candidate.run_id,
                    candidate.tags | state | {"genforge.run_key": candidate.run_key},
                    candidate.metrics,
                ).version
            )
        else:
            version = str(existing.version)
            for key, value in state.items():
                client.set_model_version_tag(name, version, key, value)
        faults.point("promote:registered")
        moves = registry.apply_decision(client, audit_experiment, name, version, decision)
        client.set_model_version_tag(name, version, "genforge.promotion", APPLIED)
        faults.point("promote:applied")
    if existing is not None:
        decision = Decision(decision.action, (*decision.reasons, f"completed the interrupted promotion of v{version}"))
    return Decision(decision.action, decision.reasons, version), moves


def lock_dir_of(mlflow_dir: Path) -> Path:
    """Where the promotion locks live: beside the embedded store, shared by every process that writes to it."""
    return Path(os.environ.get("GENFORGE_LOCK_DIR") or mlflow_dir / "locks")
