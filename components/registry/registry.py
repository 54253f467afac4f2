"""The MLflow side of promotion: register versions with lineage tags, move aliases, keep the audit trail."""

from __future__ import annotations

import getpass
import json
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

import mlflow
from components import faults
from components.checksums import sha256_file
from components.errors import CheckpointError, UserError
from components.metrics import headline_of
from components.refs import Decision, SourcesRef
from mlflow import MlflowClient

CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous"
METRIC_PREFIX = "metric."


class RegistryError(UserError, LookupError):
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
    # A logged model's URI (models:/m-…) must travel with its id: a tracking server checks it (SQLite does not).
    model_id = model_uri.removeprefix("models:/") if model_uri.startswith("models:/m-") else None
    return client.create_model_version(name, model_uri, run_id=run_id, tags=all_tags, model_id=model_id)


def apply_decision(
    client: MlflowClient, audit_experiment: str, name: str, version: str, decision: Decision
) -> list[str]:
    """challenger → this version always; on 'promote', previous → old champion and champion → this version.

    Idempotent: a move already made is not made again, so a re-run after a crash completes what is left. Every
    move is written to the audit experiment (MLflow keeps no alias history) as a run opened before the alias moves
    and finished after: a finished record is a move that happened, with the version that really held the alias.
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
        record = _pending_audit(client, audit_experiment, name, alias, target)
        if before == str(target):
            if record is not None:  # moved, then killed before its record was closed
                client.set_terminated(record.info.run_id, "FINISHED")
            continue
        if record is None:
            record = _audit(client, audit_experiment, name, alias, before, target, decision)
        else:
            client.set_tag(record.info.run_id, "from_version", before or "")
        faults.point(f"promote:before-{alias}")
        client.set_registered_model_alias(name, alias, target)
        faults.point(f"promote:after-{alias}")
        client.set_terminated(record.info.run_id, "FINISHED")
        lines.append(f"{alias}: {before or '—'} → {target}")
    for stale in _pending_audits(client, audit_experiment, name):  # intents a re-decision made moot
        client.set_terminated(stale.info.run_id, "KILLED")
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
):
    """Open the audit record of one alias move (RUNNING until the move is made)."""
    who = f"{getpass.getuser()}@{socket.gethostname()}"
    tags = {
        "mlflow.runName": f"{name}@{alias} → v{after}",
        "model": name,
        "alias": alias,
        "from_version": before or "",
        "to_version": str(after),
        "who": who,
        "action": decision.action,
        "why": "; ".join(decision.reasons)[:5000],
    }
    return client.create_run(experiment_id, tags=tags)


def _pending_audits(client: MlflowClient, experiment_id: str, name: str) -> list:
    return client.search_runs(
        [experiment_id], f"tags.model = '{name}' and attributes.status = 'RUNNING'", max_results=1000
    )


def _pending_audit(client: MlflowClient, experiment_id: str, name: str, alias: str, target: str):
    found = [
        r
        for r in _pending_audits(client, experiment_id, name)
        if r.data.tags.get("alias") == alias and r.data.tags.get("to_version") == str(target)
    ]
    return found[0] if found else None


def history(client: MlflowClient, audit_experiment_id: str, name: str) -> list[dict]:
    """The alias moves that happened (finished audit records), oldest first."""
    runs = client.search_runs(
        [audit_experiment_id],
        f"tags.model = '{name}' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time ASC"],
        max_results=10_000,
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
                "headline": headline_of(best.version.tags) if best else [],
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


def _verified_checkpoints(client: MlflowClient, ref: str, dst: Path) -> tuple[Resolved, str, Path]:
    """Download the training checkpoints of `ref` and check each against the sha256 recorded at registration,
    before anything opens them: a file the store swapped or added is refused, naming it."""
    resolved = resolve(client, ref)
    run_id = resolved.version.tags.get("genforge.train_run_id")
    if not run_id:
        raise RegistryError(f"{ref} has no genforge.train_run_id tag: it was not trained by a GenForge pipeline")
    recorded = json.loads(resolved.version.tags.get("genforge.checkpoints") or "{}")
    if not recorded:
        raise RegistryError(
            f"{ref} (v{resolved.number}) records no checkpoint checksums (genforge.checkpoints): it was registered by "
            "an older GenForge; re-run its pipeline so that its checkpoints can be verified before they are opened"
        )
    dst.mkdir(parents=True, exist_ok=True)
    fresh = tempfile.mkdtemp(prefix=f"v{resolved.number}-", dir=dst)  # never mixed with an earlier download
    folder = Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="checkpoint", dst_path=fresh))
    for file in sorted(folder.iterdir()):
        if file.name not in recorded:
            raise CheckpointError(f"{file} was not among the checkpoints recorded when {ref} was registered: refused")
        actual = sha256_file(file)
        if actual != recorded[file.name]:
            raise CheckpointError(
                f"{file} has sha256 {actual[:16]}…, not the {recorded[file.name][:16]}… recorded when {ref} was "
                "registered: the artifact store was altered; refusing to open it"
            )
    return resolved, run_id, folder


def final_checkpoint(client: MlflowClient, ref: str, dst: Path) -> Path:
    """The verified final checkpoint (last.pt) of `ref`'s training run: to re-score a champion in a new space."""
    _, _, folder = _verified_checkpoints(client, ref, dst)
    if not (folder / "last.pt").is_file():
        raise RegistryError(f"{ref}'s training run logged no last.pt checkpoint")
    return folder / "last.pt"


def training_checkpoints(client: MlflowClient, ref: str, dst: Path) -> SourcesRef:
    """Download the weight snapshots (epoch_*.pt) of `ref`'s training run, each verified against its sha256."""
    resolved, run_id, folder = _verified_checkpoints(client, ref, dst)
    snapshots = sorted(folder.glob("epoch_*.pt"))
    if not snapshots:
        raise RegistryError(f"{ref} (v{resolved.number}) logged no epoch_*.pt weight snapshot")
    return SourcesRef(resolved.name, resolved.number, run_id, tuple(str(p) for p in snapshots))
