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
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from components import faults
from components.config import PipelineConfig, PromotionConfig
from components.errors import UserError
from components.refs import DataRef, Decision, EvalReport, ExportRef, RunRef, SourcesRef
from components.registry import policy, registry
from components.workspace import code_version
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


def lineage(
    data: DataRef,
    run: RunRef,
    report: EvalReport,
    export: ExportRef,
    sources: SourcesRef | None,
    headline: tuple[str, ...],
    pipeline_run_id: str,
    flow_run_id: str,
) -> dict[str, str]:
    """The tags every registered version carries: where its data, config, code, weights and scores came from, and
    how to read it (its family's headline metrics)."""
    tags = {
        "genforge.data_md5": data.dvc_md5,
        "genforge.dataset_md5": data.dataset_md5,
        "genforge.git_commit": data.rev,
        "genforge.config_hash": run.config_hash,
        "genforge.code_version": code_version(),
        "genforge.onnx_sha256": export.sha256,
        "genforge.files": json.dumps(export.files, sort_keys=True),
        "genforge.checkpoints": json.dumps(run.checkpoints, sort_keys=True),
        "genforge.train_run_id": run.mlflow_run_id,
        "genforge.eval_run_id": report.mlflow_run_id,
        "genforge.pipeline_run_id": pipeline_run_id,
        "genforge.headline": json.dumps(list(headline)),
        "prefect.flow_run_id": flow_run_id,
    }
    if sources:  # the registered version this one was trained from (a fine-tune's base, a detector's generator)
        tags |= {"genforge.source_model": sources.model, "genforge.source_version": sources.version}
    return tags


def candidate(
    cfg: PipelineConfig,
    run: RunRef,
    report: EvalReport,
    export: ExportRef,
    eval_sections: tuple[str, ...],
    eval_space: str,
    tags: dict[str, str],
) -> Candidate:
    """The exported model as promotion sees it. Its key covers training, the evaluation sections, export and the
    promotion policy: a changed gate re-decides, an unchanged one reuses the version already registered."""
    return Candidate(
        name=cfg.model_name,
        run_key=run_key(run.train_key, cfg.section_hash(*eval_sections), cfg.section_hash("export", "promotion")),
        model_uri=export.onnx_uri,
        run_id=export.mlflow_run_id,
        metrics={**report.metrics, **export.metrics, "onnx_parity": export.parity},
        parity_passed=export.passed,
        parity_reason=f"ONNX parity {export.parity:.3g} exceeds {cfg.export.parity_atol:g}",
        eval_space=eval_space,
        tags=tags,
    )


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
