"""The GenForge pipeline as one Prefect flow: data → train → evaluate → export → promote.

Wiring only: each task opens its nested MLflow run, calls a component, and returns a small reference.
Train, evaluate and export are cached on (data md5, the config sections they read, code version, store), so an
unchanged re-run skips them; promote is idempotent (a version already registered for the same key is reused).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import asdict
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.context import TaskRunContext, get_run_context

from components import faults, tracking
from components.config import PipelineConfig
from components.families import distributed, load_config
from components.families import of as family_of
from components.families.base import EvalJob, TrainJob
from components.refs import DataRef, Decision, EvalReport, ExportRef, RunRef, SourcesRef
from components.workspace import Workspace, code_version

DEFAULT_CONFIG = "configs/dcgan-fashion.yaml"


def _key(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def train_key(cfg: PipelineConfig, data: DataRef, ws: Workspace, sources: SourcesRef | None = None) -> str:
    """Data + the config sections training reads + code + store (+ the source model's training run, if any)."""
    family = family_of(cfg)
    source = sources.run_id if sources else ""
    parts = [
        "train",
        data.dataset_md5,
        cfg.section_hash(*family.train_sections),
        code_version(),
        ws.tracking_uri,
        source,
    ]
    world = cfg.train.distributed.world_size
    if family.batch_statistics and world > 1:
        parts.append(f"world={world}")  # per-process batch statistics: other results than 1 process
    return _key(*parts)


def eval_sections(cfg: PipelineConfig) -> tuple[str, ...]:
    """The config sections the evaluate step reads: `evaluation`, plus a family's own (a VAE's `repair`)."""
    return family_of(cfg).eval_sections


def export_sections(cfg: PipelineConfig) -> tuple[str, ...]:
    return family_of(cfg).export_sections


def _after_train_key(step: str, sections):
    """Cache key of a step that reads a trained model plus some config sections (the task name is in the key)."""

    def key_fn(context: TaskRunContext, params: dict) -> str:
        names = sections(params["cfg"]) if callable(sections) else sections
        return _key(step, params["run"].train_key, params["cfg"].section_hash(*names), code_version())

    return key_fn


def _train_cache_key(context: TaskRunContext, params: dict) -> str:
    return train_key(params["cfg"], params["data"], Workspace(Path(params["root"])), params["sources"])


def _open(root: str) -> tuple[Workspace, object]:
    ws = Workspace(Path(root))
    ws.apply_environment()
    return ws, tracking.configure(ws)


def _transient_io_error(task, task_run, state) -> bool:
    """Retry downloads and DVC pushes that failed on I/O; a bad source file fails at once with its message."""
    from components.data.fashion_mnist import SourceError
    from components.data.shards import DataMissingError

    try:
        state.result()
    except (SourceError, DataMissingError):
        return False
    except OSError:
        return True
    except Exception:  # any other error is a bug or bad input: retrying cannot help
        return False
    return False


@task(name="data", retries=2, retry_delay_seconds=[2, 5], retry_condition_fn=_transient_io_error)
def data_step(root: str, cfg: PipelineConfig, rebuild: bool = False) -> DataRef:
    """Materialise and version the dataset (the only step with I/O that can fail transiently: download, push)."""
    from components.data.dataset import prepare

    return prepare(Path(root), cfg.data, rebuild=rebuild, dataset=cfg.dataset)


@task(name="sources", retries=2, retry_delay_seconds=[2, 5], retry_condition_fn=_transient_io_error)
def sources_step(root: str, cfg: PipelineConfig) -> SourcesRef:
    """For families that learn from other registered models (the detector): fetch their checkpoints."""
    from components.registry import registry

    ws, client = _open(root)
    ref = f"{cfg.sources.model}@champion"
    try:
        return registry.training_checkpoints(client, ref, ws.state_dir / "sources" / cfg.sources.model)
    except registry.RegistryError as exc:
        hint = " or ".join(f"`genforge run {path}`" for path in _configs_registering(ws, cfg.sources.model))
        raise registry.RegistryError(
            f"{cfg.name} starts from {ref}: {exc}. Register {cfg.sources.model} first" + (f": {hint}" if hint else "")
        ) from None


def _configs_registering(ws: Workspace, model_name: str) -> list[str]:
    """The workspace's configs/*.yaml whose pipeline registers `model_name` (for a hint)."""
    found = []
    for path in sorted((ws.root / "configs").glob("*.yaml")):
        try:
            if load_config(path).model_name == model_name:
                found.append(str(path.relative_to(ws.root)))
        except Exception:  # noqa: BLE001 — a hint must not fail on an unrelated broken config
            continue
    return found


@task(name="train", cache_key_fn=_train_cache_key, persist_result=True)
def train_step(
    root: str,
    cfg: PipelineConfig,
    data: DataRef,
    sources: SourcesRef | None,
    experiment: str,
    parent: str,
    resume: bool,
) -> RunRef:
    from components.checksums import sha256_file
    from components.evaluation.report import loss_curves
    from components.images import grid, to_uint8

    ws, client = _open(root)
    key = train_key(cfg, data, ws, sources)
    tags = {"genforge.step": "train", "genforge.train_key": key}
    if sources:
        tags |= {"genforge.source_model": sources.model, "genforge.source_version": sources.version}
    with tracking.run(client, experiment, "train", parent, tags) as step:
        step.log_params({"seed": cfg.seed, "model": cfg.model.model_dump(), "train": cfg.train.model_dump()})
        step.log_dataset(data, cfg.dataset)
        job = TrainJob(
            Path(data.path),
            ws.state_dir / "checkpoints" / key,
            sources,
            on_log=lambda row: step.log_metrics({k: v for k, v in row.items() if k != "step"}, step=row["step"]),
            on_epoch=lambda epoch, samples: step.log_image(grid(to_uint8(samples)), "samples", epoch),
            resume=resume,
        )
        result = distributed.train(family_of(cfg), cfg, job)
        step.log_metrics({"train_seconds": result.seconds, "epochs_done": result.epochs_done, "steps": result.steps})
        if result.history:
            step.log_artifact(loss_curves(result.history, result.checkpoint.parent / "loss_curves.png"))
        checksums = {}
        for checkpoint in sorted(result.checkpoint.parent.glob("*.pt")):
            step.log_artifact(checkpoint, "checkpoint")
            checksums[checkpoint.name] = sha256_file(checkpoint)
        step.set_tags({"genforge.checkpoints": json.dumps(checksums, sort_keys=True)})
        return RunRef(step.run_id, str(result.checkpoint), cfg.config_hash, key, checksums)


@task(name="evaluate", cache_key_fn=_after_train_key("evaluate", eval_sections), persist_result=True)
def evaluate_step(
    root: str, cfg: PipelineConfig, data: DataRef, run: RunRef, experiment: str, parent: str
) -> EvalReport:
    from components.evaluation.report import roc
    from components.images import save_png

    ws, client = _open(root)
    out = ws.state_dir / "evaluations" / _key(run.train_key, cfg.section_hash(*eval_sections(cfg)))
    out.mkdir(parents=True, exist_ok=True)
    with tracking.run(client, experiment, "evaluate", parent, {"genforge.step": "evaluate"}) as step:
        step.log_params({"evaluation": cfg.evaluation.model_dump()})
        job = EvalJob(Path(run.checkpoint_uri), Path(data.path), data.dataset_md5, ws.state_dir / "cache")
        result = family_of(cfg).evaluate(cfg, job)
        step.log_metrics(result.metrics)
        artifacts = {
            name: str(save_png(image, out / f"{name}.png", scale=2)) for name, image in result.pictures.items()
        }
        if result.roc is not None:
            fpr, tpr, auc, title = result.roc
            artifacts["roc"] = str(roc(fpr, tpr, auc, out / "roc.png", title))
        for path in artifacts.values():
            step.log_artifact(path)
        for name, body in result.extras.get("texts", {}).items():  # a text model's samples, its metrics as JSON
            (out / name).write_text(body, encoding="utf-8")
            step.log_artifact(str(out / name))
            artifacts.setdefault(Path(name).stem, str(out / name))
        for name, body in result.media.items():  # e.g. audio/sample_00.wav: the dashboard plays it
            path = out / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
            step.log_artifact(str(path), str(Path(name).parent) if Path(name).parent != Path(".") else None)
        return EvalReport(result.metrics, result.ci, artifacts, step.run_id)


@task(name="export", cache_key_fn=_after_train_key("export", export_sections), persist_result=True)
def export_step(root: str, cfg: PipelineConfig, data: DataRef, run: RunRef, experiment: str, parent: str) -> ExportRef:
    """Every graph of the family to ONNX with parity checked: the sampling graph is the logged MLflow model
    (model.onnx); the family's other graphs (a VAE's encoder, a CycleGAN's reverse generator) and files (a
    tokenizer, a quantised variant that kept its quality on the held-out data) travel in the same model folder,
    each with its sha256 on the registered version."""
    import onnx

    import mlflow
    from components.checksums import sha256_file
    from components.tracking import log_onnx_model

    ws, client = _open(root)
    family = family_of(cfg)
    model = family.load(run.checkpoint_uri)
    extra = family.extra_graphs(run.checkpoint_uri)
    family.check_graphs(extra)
    with (
        tracking.run(client, experiment, "export", parent, {"genforge.step": "export"}) as step,
        tempfile.TemporaryDirectory() as tmp,
    ):
        diffs = {}
        for name, graph in {"model": model, **extra}.items():
            diffs[name] = family.export_graph(graph, Path(tmp) / f"{name}.onnx", cfg.export)
        diff = max(diffs.values())
        passed = diff <= cfg.export.parity_atol
        step.log_metrics({"onnx_parity": diff, "onnx_parity_passed": float(passed)})
        if extra:
            step.log_metrics({f"onnx_parity_{name}": d for name, d in diffs.items()})
        inputs, outputs = model.onnx_io()
        example = {k: v.numpy() for k, v in zip(model.input_names, model.example_inputs(2), strict=True)}
        with step.activate():
            info = log_onnx_model(onnx.load(str(Path(tmp) / "model.onnx")), inputs, outputs, example, cfg.family)
        files = [Path(tmp) / f"{name}.onnx" for name in extra]
        files += family.extra_files(run.checkpoint_uri, Path(tmp) / "files")
        # Derived graphs (an INT8 one), registered only within the family's declared quality margin.
        variants, measured = family.export_variants(
            cfg, Path(tmp) / "model.onnx", run.checkpoint_uri, Path(data.path), Path(tmp) / "variants"
        )
        files += variants
        step.log_metrics(measured)
        for file in files:
            client.log_model_artifact(info.model_id, str(file))
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=info.model_uri, dst_path=str(Path(tmp) / "got")))
        sha = sha256_file(local / "model.onnx")
        checksums = {file.name: sha256_file(local / file.name) for file in files}
        step.set_tags({"genforge.onnx_sha256": sha, "genforge.model_uri": info.model_uri})
        return ExportRef(info.model_uri, sha, diff, passed, step.run_id, checksums, measured)


def eval_space(cfg: PipelineConfig, data: DataRef) -> str:
    """The feature space this run's scores live in: data version + every evaluation section (never the seed)."""
    from components.evaluation.space import evaluation_space

    others = tuple(s for s in eval_sections(cfg) if s != "evaluation")
    return evaluation_space(data.dataset_md5, cfg.evaluation, cfg.section_hash(*others) if others else "")


@task(name="promote")
def promote_step(
    root: str,
    cfg: PipelineConfig,
    data: DataRef,
    run: RunRef,
    report: EvalReport,
    export: ExportRef,
    experiment: str,
    parent: str,
    flow_run_id: str,
    sources: SourcesRef | None = None,
) -> Decision:
    from prefect.artifacts import create_markdown_artifact

    from components.registry import promote, registry
    from components.registry import report as reports

    ws, client = _open(root)
    name = cfg.model_name
    family = family_of(cfg)

    def rescore(champion: registry.Resolved) -> dict[str, float]:
        """The champion's final checkpoint (sha256-verified) scored by this run's evaluation: one feature space."""
        checkpoint = registry.final_checkpoint(client, f"{name}/{champion.number}", ws.state_dir / "rescore" / name)
        job = EvalJob(checkpoint, Path(data.path), data.dataset_md5, ws.state_dir / "cache")
        return family.evaluate(cfg, job).metrics

    tags = promote.lineage(data, run, report, export, sources, family.headline, parent, flow_run_id)
    candidate = promote.candidate(cfg, run, report, export, eval_sections(cfg), eval_space(cfg, data), tags)
    with tracking.run(client, experiment, "promote", parent, {"genforge.step": "promote"}) as step:
        audit = tracking.experiment_id(client, ws, tracking.AUDIT_EXPERIMENT)
        decision, moves = promote.promote(
            client, audit, candidate, cfg.promotion, promote.lock_dir_of(ws.mlflow_dir), rescore
        )
        state = "unchanged" if decision.already_registered else decision.action
        step.set_tags({"genforge.decision": state, "genforge.version": decision.version})
        if decision.already_registered:
            return decision
        step.log_text("\n".join(decision.reasons + tuple(moves)) + "\n", "decision.txt")
        # The report compares with the champion this version was decided against (it may be itself now).
        decided_against = client.get_model_version(name, decision.version).tags.get("genforge.decided_against")
        against = f"{name}/{decided_against}" if decided_against else None
        path, text = reports.build(client, f"{name}/{decision.version}", Path(tempfile.mkdtemp()) / "report", against)
        for file in sorted(path.parent.iterdir()):
            step.log_artifact(file, "report")
        create_markdown_artifact(
            markdown=text, key=f"{name}-report", description=f"{name} v{decision.version}: {decision.action}"
        )
        return decision


def _reap(client) -> list[str]:
    """Runs left RUNNING by GenForge processes that died (kill -9, OOM): MLflow runs KILLED, flow runs CRASHED."""
    from flows.prefect_api import mark_crashed

    reaped = tracking.reap_dead_runs(client)
    flow_runs = sorted({r.data.tags["prefect.flow_run_id"] for r in reaped if "prefect.flow_run_id" in r.data.tags})
    crashed = mark_crashed(flow_runs, "its process died before the run ended (found by the next genforge run)")
    lines = [
        f"MLflow run {r.info.run_name} ({r.info.run_id}) of dead process {r.data.tags.get(tracking.OWNER_PID)}: KILLED"
        for r in reaped
    ] + [f"Prefect flow run {f}: CRASHED" for f in crashed]
    for line in lines:
        get_run_logger().warning("cleaned up after a dead run: %s", line)
    return lines


@flow(name="genforge-pipeline")
def pipeline(
    config: str = DEFAULT_CONFIG,
    root: str | None = None,
    resume: bool = False,
    force: bool = False,
    rebuild_data: bool = False,
    overrides: dict | None = None,
) -> dict:
    """Run the five steps for one config (`overrides` merged on top: `genforge run --set`); returns a summary
    (model, version, decision, metrics, where to look)."""
    ws = Workspace.at(root)
    ws.apply_environment()
    config_path = Path(config) if Path(config).is_absolute() or Path(config).exists() else ws.root / config
    cfg = load_config(config_path, overrides)
    family_of(cfg).check_ready(cfg, ws.state_dir)  # before any run is logged: missing weights stop it here
    client = tracking.configure(ws)
    reaped = _reap(client)
    experiment = tracking.experiment_id(client, ws, cfg.name)
    flow_run_id = str(get_run_context().flow_run.id)
    refresh = {"refresh_cache": True} if force else {}
    tags = {
        "genforge.config": str(config_path),
        "genforge.config_hash": cfg.config_hash,
        "prefect.flow_run_id": flow_run_id,
        "genforge.code_version": code_version(),
    }
    if overrides:
        tags["genforge.overrides"] = json.dumps(overrides, sort_keys=True)
    with tracking.run(client, experiment, f"{cfg.name}-pipeline", tags=tags) as parent:
        parent.log_params(cfg.model_dump(mode="json"))
        root_s = str(ws.root)
        data = data_step(root_s, cfg, rebuild=rebuild_data)
        faults.point("after:data")
        parent.log_dataset(data, cfg.dataset)
        parent.set_tags({"genforge.data_md5": data.dvc_md5, "genforge.git_commit": data.rev})
        sources = sources_step(root_s, cfg) if family_of(cfg).needs_sources(cfg) else None
        if sources:
            parent.set_tags({"genforge.source_model": sources.model, "genforge.source_version": sources.version})
        run = train_step.with_options(**refresh)(root_s, cfg, data, sources, experiment, parent.run_id, resume)
        faults.point("after:train")
        report = evaluate_step.with_options(**refresh)(root_s, cfg, data, run, experiment, parent.run_id)
        faults.point("after:evaluate")
        export = export_step.with_options(**refresh)(root_s, cfg, data, run, experiment, parent.run_id)
        faults.point("after:export")
        decision = promote_step(root_s, cfg, data, run, report, export, experiment, parent.run_id, flow_run_id, sources)
        faults.point("after:promote")
        parent.log_metrics({**report.metrics, **export.metrics, "onnx_parity": export.parity})
        parent.set_tags({"genforge.decision": decision.action, "genforge.version": decision.version or ""})
    from components.data import versioning
    from components.registry import registry

    aliases = registry.aliases_of(client, cfg.model_name, decision.version) if decision.version else []
    return {
        "model": cfg.model_name,
        "aliases": ", ".join(f"@{a}" for a in aliases),
        "version": decision.version,
        "decision": decision.action,
        "reasons": list(decision.reasons),
        "already_registered": decision.already_registered,
        "metrics": report.metrics | export.metrics | {"onnx_parity": export.parity},
        "headline": list(family_of(cfg).headline),
        "sample_grid": report.artifacts.get("samples"),
        "pipeline_run_id": parent.run_id,
        "experiment": cfg.name,
        "tracking_uri": ws.tracking_uri,
        "reaped": reaped,
        "data": asdict(data) | {"pointer": str(versioning.pointer(ws.root, cfg.dataset).relative_to(ws.root))},
    }
