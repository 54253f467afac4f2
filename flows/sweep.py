"""A sweep: one config, several values of some of its fields, every combination trained, evaluated and exported as
Prefect tasks on a Dask cluster (prefect-dask's DaskTaskRunner), then one promotion for the best.

    genforge sweep configs/vae-fashion.yaml --set train.lr=1e-3,2e-3 --set seed=0,1 --workers 2

Each combination ("child") is its own MLflow run under the sweep's parent run, with the usual train / evaluate /
export runs nested under it (cached like any pipeline's: a child equal to an earlier run is served from the cache).
The data step runs once, before the children. No child registers anything: when all have finished, the best by
the promotion gate's metric (promotion.improvement: metric and mode) goes through the ordinary promote step — so
children never race for the champion. A failed child fails alone; the sweep reports it and promotes among the rest.
The parent run holds the summary table (sweep.md, sweep.json) and a picture of the metric against each swept field.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from prefect import flow, task
from prefect.context import get_run_context

from components import overrides, tracking
from components.config import PipelineConfig
from components.errors import UserError
from components.families import load_config
from components.families import of as family_of
from components.refs import DataRef, EvalReport, ExportRef, RunRef, SourcesRef
from components.workspace import Workspace, code_version
from flows.pipeline import data_step, evaluate_step, export_step, promote_step, sources_step, train_step


def parse_sets(sets: list[str]) -> dict[str, list]:
    """["train.lr=1e-4,2e-4", "seed=0,1"] → {"train.lr": [0.0001, 0.0002], "seed": [0, 1]} (values read as YAML)."""
    grid: dict[str, list] = {}
    for item in sets:
        key, values = overrides.split(item, "train.lr=1e-4,2e-4")
        if key.split(".")[0] in ("data", "dataset", "family", "name"):
            raise UserError(f"--set {key}: a sweep varies training, not the data or the model's identity")
        grid[key] = [overrides.value(text) for text in values.split(",")]
    return grid


def combinations(grid: dict[str, list]) -> list[dict[str, object]]:
    """Every combination of the swept values, in a fixed order: [{"train.lr": 1e-4, "seed": 0}, …]."""
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(grid[k] for k in keys))]


def label(values: dict[str, object]) -> str:
    return ",".join(f"{k}={v}" for k, v in values.items())


@dataclass(frozen=True)
class ChildResult:
    values: dict
    cfg: PipelineConfig
    run_id: str
    run: RunRef
    report: EvalReport
    export: ExportRef


@task(name="sweep-child")
def child_task(
    root: str,
    cfg: PipelineConfig,
    values: dict,
    data: DataRef,
    sources: SourcesRef | None,
    experiment: str,
    parent: str,
) -> ChildResult:
    """Train, evaluate and export one combination under its own MLflow run (on a Dask worker)."""
    _own_gpu()
    ws = Workspace.at(root)
    ws.apply_environment()
    client = tracking.configure(ws)
    tags = {"genforge.sweep_child": label(values), "genforge.step": "sweep-child"}
    with tracking.run(client, experiment, label(values), parent, tags) as child:
        child.log_params({key.replace(".", "_"): value for key, value in values.items()})
        run = train_step(root, cfg, data, sources, experiment, child.run_id, False)
        report = evaluate_step(root, cfg, data, run, experiment, child.run_id)
        export = export_step(root, cfg, data, run, experiment, child.run_id)
        child.log_metrics({**report.metrics, **export.metrics, "onnx_parity": export.parity})
    return ChildResult(values, cfg, child.run_id, run, report, export)


def _own_gpu() -> None:
    """Where a worker sees several GPUs (a LocalCluster on a GPU machine), worker k takes GPU k mod their number:
    `device: auto` then means that one. (dask-cuda's clusters give each worker one GPU already.)"""
    import torch

    if torch.cuda.device_count() < 2:
        return
    from distributed import get_worker

    try:
        name = get_worker().name
    except ValueError:  # not on a Dask worker
        return
    if isinstance(name, int):
        torch.cuda.set_device(name % torch.cuda.device_count())


def best(results: list[ChildResult], metric: str, mode: str) -> ChildResult:
    scored = [r for r in results if metric in r.report.metrics and r.export.passed]
    if not scored:
        raise UserError(
            f"no child of the sweep has the gate's metric {metric} and a passing export: nothing to promote"
        )
    key = (lambda r: r.report.metrics[metric]) if mode == "min" else (lambda r: -r.report.metrics[metric])
    return min(scored, key=key)


def _picture(rows: list[dict], swept: list[str], metric: str, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(swept), figsize=(4 * len(swept), 3.2), squeeze=False)
    for ax, key in zip(axes[0], swept, strict=True):
        done = [r for r in rows if r["status"] == "done"]
        xs = [str(r["values"][key]) for r in done]
        ys = [r["metric"] for r in done]
        ax.scatter(xs, ys)
        for r in done:
            low, high = r["interval"] or (r["metric"], r["metric"])
            ax.vlines(str(r["values"][key]), low, high, alpha=0.5)
        ax.set_xlabel(key)
        ax.set_ylabel(metric)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _table(rows: list[dict], swept: list[str], metric: str) -> str:
    head = "| " + " | ".join([*swept, metric, "95 % CI", "status"]) + " |"
    lines = [head, "|" + " --- |" * (len(swept) + 3)]
    for r in rows:
        interval = "" if not r["interval"] else f"[{r['interval'][0]:.4g}, {r['interval'][1]:.4g}]"
        value = "" if r["metric"] is None else f"{r['metric']:.4g}"
        cells = [str(r["values"][k]) for k in swept] + [value, interval, r["status"]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


@flow(name="genforge-sweep")
def sweep(config: str, sets: list[str], root: str | None = None) -> dict:
    """Run every combination of `sets` over CONFIG as tasks of this flow's task runner, then promote the best."""
    ws = Workspace.at(root)
    ws.apply_environment()
    config_path = Path(config) if Path(config).is_absolute() or Path(config).exists() else ws.root / config
    grid = parse_sets(sets)
    children = [(values, load_config(config_path, overrides.nested(values))) for values in combinations(grid)]
    base = children[0][1]
    family_of(base).check_ready(base, ws.state_dir)
    client = tracking.configure(ws)
    experiment = tracking.experiment_id(client, ws, base.name)
    flow_run_id = str(get_run_context().flow_run.id)
    metric, mode = base.promotion.improvement.metric, base.promotion.improvement.mode
    tags = {"genforge.sweep": json.dumps(grid), "prefect.flow_run_id": flow_run_id, "genforge.step": "sweep"}
    tags["genforge.code_version"] = code_version()
    with tracking.run(client, experiment, f"{base.name}-sweep", tags=tags) as parent:
        root_s = str(ws.root)
        data = data_step(root_s, base)
        parent.log_dataset(data, base.dataset)
        sources = sources_step(root_s, base) if family_of(base).needs_sources(base) else None
        futures = [
            child_task.submit(root_s, cfg, values, data, sources, experiment, parent.run_id) for values, cfg in children
        ]
        results, rows = [], []
        for (values, _), future in zip(children, futures, strict=True):
            future.wait()
            state = future.state
            if state.is_completed():
                result: ChildResult = state.result()
                results.append(result)
                value = result.report.metrics.get(metric)
                rows.append({"values": values, "metric": value, "interval": result.report.ci.get(metric),
                             "status": "done", "run_id": result.run_id})  # fmt: skip
            else:
                rows.append({"values": values, "metric": None, "interval": None, "status": f"failed: {state.message}",
                             "run_id": None})  # fmt: skip
        if not results:
            raise UserError(f"every child of the sweep failed; the first: {rows[0]['status']}")
        winner = best(results, metric, mode)
        for row in rows:
            if row["run_id"] == winner.run_id:
                row["status"] = "best"
        swept = list(grid)
        with tempfile.TemporaryDirectory() as tmp:
            table = _table(rows, swept, metric)
            (Path(tmp) / "sweep.md").write_text(table)
            (Path(tmp) / "sweep.json").write_text(json.dumps(rows, indent=1, default=str))
            for name in ("sweep.md", "sweep.json"):
                parent.log_artifact(Path(tmp) / name)
            parent.log_artifact(_picture(rows, swept, metric, Path(tmp) / "sweep.png"))
        parent.set_tags({"genforge.sweep_best": label(winner.values)})
        decision = promote_step(root_s, winner.cfg, data, winner.run, winner.report, winner.export, experiment,
                                winner.run_id, flow_run_id, sources)  # fmt: skip
        parent.set_tags({"genforge.decision": decision.action, "genforge.version": decision.version or ""})
    return {
        "model": base.model_name,
        "metric": metric,
        "table": table,
        "rows": rows,
        "best": label(winner.values),
        "decision": decision.action,
        "version": decision.version,
        "reasons": list(decision.reasons),
        "sweep_run_id": parent.run_id,
    }


def task_runner(workers: int, address: str | None):
    """prefect-dask's runner: an existing cluster at `address`, else a LocalCluster of `workers` processes (one
    thread each: every child already uses train.num_threads torch threads)."""
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True})
