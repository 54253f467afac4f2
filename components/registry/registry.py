"""The MLflow side of promotion: register versions with lineage tags, move aliases, keep the audit trail."""

from __future__ import annotations

import getpass
import json
import socket
from dataclasses import dataclass
from pathlib import Path

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

import mlflow
from components.refs import Decision, SourcesRef
from mlflow import MlflowClient

CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous"
METRIC_PREFIX = "metric."


class RegistryError(LookupError):
    """A model reference that does not resolve; the message says what exists."""


@dataclass(frozen=True)
class Resolved:
    name: str
    version: ModelVersion

    @property
    def number(self) -> str:
        """The version as a string (MLflow returns int or str depending on the call)."""
        return str(self.version.version)

    @property
    def metrics(self) -> dict[str, float]:
        return {k[len(METRIC_PREFIX) :]: float(v) for k, v in self.version.tags.items() if k.startswith(METRIC_PREFIX)}


def parse_ref(ref: str) -> tuple[str, str]:
    """'name@alias' or 'name/3' or 'name' (= name@champion) → (name, alias-or-version)."""
    if "@" in ref:
        name, alias = ref.split("@", 1)
        return name, alias
    if "/" in ref:
        name, version = ref.rsplit("/", 1)
        return name, version
    return ref, CHAMPION


def resolve(client: MlflowClient, ref: str) -> Resolved:
    name, which = parse_ref(ref)
    try:
        version = (
            client.get_model_version(name, which) if which.isdigit() else client.get_model_version_by_alias(name, which)
        )
    except MlflowException:
        known = sorted(m.name for m in client.search_registered_models())
        hint = f"registered models: {', '.join(known)}" if known else "no model is registered yet: run `genforge run`"
        raise RegistryError(f"{ref} does not resolve in the registry at {mlflow.get_registry_uri()} ({hint})") from None
    return Resolved(name, version)


def champion(client: MlflowClient, name: str) -> Resolved | None:
    try:
        return resolve(client, f"{name}@{CHAMPION}")
    except RegistryError:
        return None


def find_version(client: MlflowClient, name: str, run_key: str) -> ModelVersion | None:
    """The version registered for exactly this data + config + code, if any (re-runs register nothing new)."""
    try:
        versions = client.search_model_versions(f"name = '{name}'")
    except MlflowException:
        return None
    return next((v for v in versions if v.tags.get("genforge.run_key") == run_key), None)


def register(
    client: MlflowClient, name: str, model_uri: str, run_id: str, tags: dict[str, str], metrics: dict[str, float]
) -> ModelVersion:
    try:
        client.create_registered_model(
            name, description=f"GenForge model {name}; aliases: champion, challenger, previous"
        )
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    all_tags = {**tags, **{f"{METRIC_PREFIX}{k}": f"{v:.6g}" for k, v in metrics.items()}}
    return client.create_model_version(name, model_uri, run_id=run_id, tags=all_tags)


def apply_decision(
    client: MlflowClient, audit_experiment: str, name: str, version: str, decision: Decision
) -> list[str]:
    """challenger → this version always; on 'promote', previous → old champion and champion → this version.

    Every alias move is written to the audit experiment, since MLflow keeps no alias history.
    """
    client.set_model_version_tag(name, version, "genforge.decision", decision.action)
    client.set_model_version_tag(name, version, "genforge.decision_reasons", "; ".join(decision.reasons)[:5000])
    moves = [(CHALLENGER, version)]
    if decision.action == "promote":
        old = champion(client, name)
        if old is not None and old.number != str(version):
            moves.insert(0, (PREVIOUS, old.number))
        moves.append((CHAMPION, version))
    lines = []
    for alias, target in moves:
        before = _alias_target(client, name, alias)
        client.set_registered_model_alias(name, alias, target)
        _audit(client, audit_experiment, name, alias, before, target, decision)
        lines.append(f"{alias}: {before or '—'} → {target}")
    return lines


def aliases_of(client: MlflowClient, name: str, version: str) -> list[str]:
    return sorted(client.get_model_version(name, version).aliases or [])


def _alias_target(client: MlflowClient, name: str, alias: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def _audit(
    client: MlflowClient, experiment_id: str, name: str, alias: str, before: str | None, after: str, decision: Decision
) -> None:
    who = f"{getpass.getuser()}@{socket.gethostname()}"
    tags = {
        "mlflow.runName": f"{name}@{alias} → v{after}",
        "model": name,
        "alias": alias,
        "from_version": before or "",
        "to_version": after,
        "who": who,
        "action": decision.action,
        "why": "; ".join(decision.reasons)[:5000],
    }
    run = client.create_run(experiment_id, tags=tags)
    client.set_terminated(run.info.run_id)


def history(client: MlflowClient, audit_experiment_id: str, name: str) -> list[dict]:
    runs = client.search_runs(
        [audit_experiment_id], f"tags.model = '{name}'", order_by=["attributes.start_time ASC"], max_results=10_000
    )
    return [
        {
            "when": r.info.start_time,
            **{k: r.data.tags.get(k, "") for k in ("alias", "from_version", "to_version", "action", "who", "why")},
        }
        for r in runs
    ]


def summary(client: MlflowClient) -> list[dict]:
    """One row per registered model: aliases, latest version, data version and headline metrics."""
    rows = []
    for model in client.search_registered_models():
        versions = client.search_model_versions(f"name = '{model.name}'")
        by_alias = {alias: v for alias, v in (model.aliases or {}).items()}
        latest = max((int(v.version) for v in versions), default=0)
        best = champion(client, model.name)
        rows.append(
            {
                "name": model.name,
                "versions": len(versions),
                "latest": latest,
                "aliases": by_alias,
                "data_md5": best.version.tags.get("genforge.data_md5", "") if best else "",
                "metrics": best.metrics if best else {},
            }
        )
    return rows


def metadata(resolved: Resolved) -> str:
    v = resolved.version
    return json.dumps(
        {
            "name": resolved.name,
            "version": resolved.number,
            "aliases": list(v.aliases or []),
            "source": v.source,
            "run_id": v.run_id,
            "tags": dict(v.tags),
        },
        indent=2,
        sort_keys=True,
    )


def training_checkpoints(client: MlflowClient, ref: str, dst: Path) -> SourcesRef:
    """Download the per-epoch generator snapshots of `ref`'s training run. The detector trains on all of them
    (the final one is the registered version itself, the generator it must catch) except the second-to-last,
    which it never sees: the hardest held-out generator, closest in quality to the champion."""
    resolved = resolve(client, ref)
    run_id = resolved.version.tags.get("genforge.train_run_id")
    if not run_id:
        raise RegistryError(f"{ref} has no genforge.train_run_id tag: it was not trained by a GenForge pipeline")
    folder = Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="checkpoint", dst_path=str(dst)))
    epochs = sorted(folder.glob("epoch_*.pt"))
    if len(epochs) < 2:
        raise RegistryError(
            f"{ref} (v{resolved.number}) left {len(epochs)} epoch checkpoint(s); a detector needs at least 2 "
            "(it trains on some and is tested on one it never saw): train the generator for 2+ epochs"
        )
    train = [*epochs[:-2], epochs[-1]]
    return SourcesRef(resolved.name, resolved.number, run_id, tuple(str(p) for p in train), str(epochs[-2]))
