"""`genforge`: the command line. Heavy imports (torch, prefect, dvc) happen inside the commands that need them;
the consumer commands (pull, generate, models) never import torch."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.table import Table

from components.metrics import read
from components.workspace import Workspace
from flows.stack import app as stack_app

app = typer.Typer(
    help="GenForge: versioned data → training → evaluation → ONNX export → gated promotion.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Get, materialise and version the dataset (DVC).", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(stack_app, name="stack")  # the team stack: PostgreSQL + the MLflow and Prefect servers
# Piped output (logs, CI, tests) gets a wide console so tables are not folded at 80 columns.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, soft_wrap=True)

ROOT = typer.Option(None, "--root", help="Project folder (a git + DVC repo); default: $GENFORGE_ROOT or the cwd.")


def _workspace(root: Path | None) -> Workspace:
    ws = Workspace.at(root)
    ws.apply_environment()
    return ws


def _client(ws: Workspace):
    from components import tracking

    return tracking.configure(ws)


def _one_line(message: str) -> str:
    """A message folded onto one line (a config error lists one field per line): `a:` + `- b` → `a: b`; else `; `."""
    parts = [line.strip().removeprefix("- ") for line in str(message).splitlines() if line.strip()]
    folded = parts[0] if parts else ""
    for part in parts[1:]:
        folded += f" {part}" if folded.endswith(":") else f"; {part}"
    return folded


class _LineTrackingStream:
    """sys.stderr, remembering whether its last write ended a line. Prefect's log shipper reports a failed upload
    to a server without a final newline; the one `error:` line must still start a line of its own."""

    def __init__(self, stream):
        self._stream, self.at_line_start = stream, True

    def write(self, text: str) -> int:
        if text:
            self.at_line_start = text.endswith("\n")
        return self._stream.write(text)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


_tracked_stderr: _LineTrackingStream | None = None
"""The stderr main() installed (None when the CLI runs without main(), e.g. in-process tests)."""


def _print_error(message: object) -> None:
    from rich.markup import escape

    if _tracked_stderr is not None and not _tracked_stderr.at_line_start:
        _tracked_stderr.write("\n")
    err.print(f"[bold red]error:[/] {escape(_one_line(str(message)))}", highlight=False)


def _exit_now(message: str) -> NoReturn:
    """From a watchdog thread: one line, exit 2 at once (no cleanup can reach a server that is gone)."""
    _print_error(message)
    sys.stderr.flush()
    sys.stdout.flush()
    os._exit(2)


def _fail(message: str) -> NoReturn:
    """A user error: one red line on stderr, exit 2."""
    _print_error(message)
    raise typer.Exit(2)


def _png_output(path: Path, option: str = "-o") -> None:
    """The image commands write PNG: refuse another suffix before any work (PIL would fail after it)."""
    if path.suffix.lower() != ".png":
        _fail(f"{option} {path}: the output is a PNG image; give a file name ending in .png")


@contextmanager
def _model(ref: str, root: Path | None) -> Iterator[Path]:
    """The main ONNX file of a model given as NAME@ALIAS or NAME/VERSION (pulled into a temporary folder,
    sha256-checked), as a pulled folder, or as a .onnx file. Its other files (encoder.onnx, reverse.onnx,
    tokenizer.json) lie beside it."""
    if Path(ref).is_dir():
        yield Path(ref) / "model.onnx"
    elif ref.endswith(".onnx"):
        if not Path(ref).is_file():
            _fail(f"no such ONNX model file: {ref}; give an existing .onnx file, a pulled folder or NAME@ALIAS")
        yield Path(ref)
    else:
        import tempfile

        from components.registry.pull import pull as pull_model

        with tempfile.TemporaryDirectory() as tmp:
            yield pull_model(_client(_workspace(root)), ref, Path(tmp) / "model")[0]


@app.command()
def run(
    config: Path = typer.Argument(Path("configs/dcgan-fashion.yaml"), help="Pipeline config YAML."),
    resume: bool = typer.Option(False, "--resume", help="Continue training from the last checkpoint of this config."),
    force: bool = typer.Option(False, "--force", help="Ignore cached step results and recompute them."),
    rebuild_data: bool = typer.Option(False, "--rebuild-data", help="Materialise data/ from the source again."),
    set_: list[str] = typer.Option(
        [], "--set", help="FIELD=VALUE on top of the config (repeatable), e.g. --set train.epochs=2."
    ),
    root: Path | None = ROOT,
) -> None:
    """Run the whole pipeline (data, train, evaluate, export, promote) for CONFIG."""
    ws = _workspace(root)
    from components.families import load_config
    from components.overrides import parse_overrides

    overrides = parse_overrides(set_)
    load_config(config if config.is_absolute() or config.exists() else ws.root / config, overrides)  # fail fast
    from flows import prefect_api
    from flows.pipeline import pipeline

    _no_user_error_tracebacks()
    if os.environ.get("PREFECT_API_URL"):  # unreachable servers fail here, in seconds, before any work
        prefect_api.check_api(os.environ["PREFECT_API_URL"])
    _client(ws)
    user_server = os.environ.get("PREFECT_API_URL")
    watch = prefect_api.watched(user_server, _exit_now) if user_server else contextlib.nullcontext()
    with prefect_api.api(), watch:
        try:
            summary = pipeline(str(config), str(ws.root), resume=resume, force=force, rebuild_data=rebuild_data,
                               overrides=overrides or None)  # fmt: skip
        finally:
            _drain_prefect_logs()
    _print_summary(summary)


@app.command()
def sweep(
    config: Path = typer.Argument(..., help="Pipeline config YAML."),
    set_: list[str] = typer.Option(
        ..., "--set", help="FIELD=VALUE[,VALUE…] to sweep (repeatable): every combination is trained."
    ),
    workers: int = typer.Option(2, "--workers", min=1, help="Processes of the local Dask cluster."),
    dask_address: str | None = typer.Option(
        None, "--dask-address", help="tcp://HOST:PORT of an existing Dask scheduler (instead of a local cluster)."
    ),
    root: Path | None = ROOT,
) -> None:
    """Train, evaluate and export every combination of the --set values on Dask, then promote the best one."""
    ws = _workspace(root)
    from components.families import load_config
    from flows import prefect_api

    load_config(config if config.is_absolute() or config.exists() else ws.root / config)  # fail fast
    from flows.sweep import parse_sets, task_runner
    from flows.sweep import sweep as sweep_flow

    parse_sets(set_)
    _no_user_error_tracebacks()
    if os.environ.get("PREFECT_API_URL"):
        prefect_api.check_api(os.environ["PREFECT_API_URL"])
    _client(ws)
    with prefect_api.api():
        runner = task_runner(workers, dask_address)
        try:
            summary = sweep_flow.with_options(task_runner=runner)(str(config), list(set_), str(ws.root))
        finally:  # as `run`: send the last log records while the API still answers
            _drain_prefect_logs()
    out.print(summary["table"], markup=False)
    out.print(f"best: {summary['best']} ({summary['metric']})")
    version = f" version {summary['version']}" if summary["version"] else ""
    out.print(f"{summary['model']}{version}: {summary['decision']}")
    for reason in summary["reasons"]:
        out.print(f"  • {reason}", markup=False)


def _drain_prefect_logs() -> None:
    """Send the flow's last log records while the API still answers (else: "Error logging to API" once the
    temporary server is gone); never hides the run's own outcome."""
    from prefect.logging.handlers import APILogWorker

    with suppress(Exception):
        APILogWorker.drain_all(timeout=5)


def _no_user_error_tracebacks() -> None:
    """Prefect logs a failed task's exception with its traceback on the console; a UserError (a diverged training,
    a bad config) is reported by main() in one line instead, so its console records are dropped (the Prefect API
    still receives them, traceback included)."""
    import logging

    from prefect.logging.handlers import PrefectConsoleHandler

    from components.errors import UserError

    class DropUserErrors(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return not (record.exc_info and isinstance(record.exc_info[1], UserError))

    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler) and not any(
            type(f).__name__ == "DropUserErrors" for f in handler.filters
        ):
            handler.addFilter(DropUserErrors())


def _print_summary(s: dict) -> None:
    for line in s.get("reaped", []):
        out.print(f"cleaned up: {line}")
    state = (
        f"unchanged (already registered; its decision: {s['decision']})" if s["already_registered"] else s["decision"]
    )
    table = Table(title=f"{s['model']} v{s['version']}: {state}", show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("95 % CI", justify="right")
    table.add_column("real floor", justify="right")
    for m in read(s["metrics"], [*s["headline"], "onnx_parity"]):
        interval = f"[{m.low:.4g}, {m.high:.4g}]" if m.interval else ""
        table.add_row(m.name, f"{m.value:.4g}", interval, "" if m.floor is None else f"{m.floor:.4g}")
    out.print(table)
    for reason in s["reasons"]:
        out.print(f"  • {reason}")
    out.print(f"registered model : [bold]{s['model']}[/] version {s['version']} (aliases: {s['aliases'] or 'none'})")
    if s["sample_grid"]:  # a classifier has none
        out.print(f"samples          : {s['sample_grid']}")
    out.print(f"data version     : {s['data']['dvc_md5']} ({s['data']['pointer']})")
    where = s["tracking_uri"] if s["tracking_uri"].startswith("http") else "genforge ui"
    out.print(f"dashboard        : {where}   → experiment '{s['experiment']}', run {s['pipeline_run_id']}")
    out.print(f"pull the champion: genforge pull {s['model']}@champion -o models/{s['model']}")


@data_app.command("fetch")
def data_fetch(
    source_dir: Path | None = typer.Option(None, help="Folder holding the four IDX .gz files."),
    root: Path | None = ROOT,
) -> None:
    """Find (or download) and verify the raw Fashion-MNIST IDX files."""
    from components.data import fashion_mnist

    ws = _workspace(root)
    folder = fashion_mnist.locate(str(source_dir) if source_dir else None, ws.state_dir / "raw" / "fashion-mnist")
    data = fashion_mnist.load(folder)
    out.print(
        f"Fashion-MNIST OK in {folder}: {len(data.train_images)} train + {len(data.test_images)} test images, "
        "checksums verified"
    )


@data_app.command("build")
def data_build(
    config: Path = typer.Option(Path("configs/dcgan-fashion.yaml"), help="Config with the data section."),
    root: Path | None = ROOT,
) -> None:
    """Materialise the config's dataset under data/, `dvc add` data/ and `dvc push` it to the default remote.
    A new version (a changed md5) is announced to Prefect when PREFECT_API_URL is set: the event
    genforge.dataset.versioned, which the deployments reading that dataset retrain on (prefect.yaml)."""
    from components.data import versioning
    from components.data.dataset import prepare
    from components.families import load_config
    from flows import events

    ws = _workspace(root)
    cfg = load_config(ws.root / config if not config.is_absolute() else config)
    if events.api_url():  # the event is part of the job: an unreachable server fails here, before the build
        from flows.prefect_api import check_api

        check_api(events.api_url())
    previous = versioning.pinned_md5(ws.root, cfg.dataset)
    ref = prepare(ws.root, cfg.data, rebuild=True, dataset=cfg.dataset)
    pointer = versioning.pointer(ws.root, cfg.dataset).relative_to(ws.root)
    out.print(f"data/{cfg.dataset} versioned: md5 {ref.dvc_md5} ({pointer}), content {ref.dataset_md5}")
    out.print(f"commit it to pin this version: git add {pointer} && git commit -m 'data: …'")
    details = {"dataset_md5": ref.dataset_md5, "pointer": str(pointer), "git_rev": ref.rev, "config": str(config)}
    if events.dataset_versioned(cfg.dataset, ref.dvc_md5, previous, details):
        out.print(
            f"event {events.DATASET_VERSIONED} sent ({events.dataset_resource_id(cfg.dataset)}, was "
            f"{previous or 'unversioned'}): the deployments triggered by it retrain"
        )


@data_app.command("status")
def data_status(
    dataset: str | None = typer.Option(None, "--dataset", help="Check this dataset only (e.g. fashion-mnist)."),
    verify: bool = typer.Option(
        False, "--verify", help="Hash the bytes on disk (as every run does) instead of trusting DVC's mtime cache."
    ),
    root: Path | None = ROOT,
) -> None:
    """Show each dataset's pinned version (data.dvc, data/<dataset>.dvc) and whether data/ on disk matches it."""
    from components.data import versioning

    ws = _workspace(root)
    datasets = [dataset] if dataset else versioning.pinned_datasets(ws.root)
    if dataset and versioning.pinned_md5(ws.root, dataset) is None:
        name = versioning.pointer(ws.root, dataset).relative_to(ws.root)
        out.print(f"{dataset} is not versioned yet (no {name}): run `genforge data build`")
        raise typer.Exit(1)
    if not datasets:
        out.print("no dataset is versioned yet (no data.dvc, no data/*.dvc): run `genforge data build`")
        raise typer.Exit(1)
    stale = []
    for dataset in datasets:
        current = versioning.is_current(ws.root, dataset, verify=verify)
        stale += [] if current else [dataset]
        out.print(
            f"{versioning.pointer(ws.root, dataset).relative_to(ws.root)} pins "
            f"{versioning.pinned_md5(ws.root, dataset)}; data/{dataset} on disk is "
            f"{'current' if current else 'MISSING or CHANGED'} (git {versioning.git_rev(ws.root, dataset)})"
        )
    if stale:
        out.print(
            "restore with `genforge data build --config <a config of that dataset>` (or `dvc pull` where the "
            f"remote holds it): {', '.join(stale)}"
        )
        raise typer.Exit(1)


@app.command()
def models(
    history: str | None = typer.Option(None, "--history", help="Print the alias history of this model."),
    root: Path | None = ROOT,
) -> None:
    """Registered models with aliases, versions, data version and headline metrics."""
    from components import tracking
    from components.registry import registry

    ws = _workspace(root)
    client = _client(ws)
    if history:
        audit = tracking.experiment_id(client, ws, tracking.AUDIT_EXPERIMENT)
        table = Table(title=f"alias history of {history}")
        for col in ("when (UTC)", "alias", "from", "to", "action", "who", "why"):
            table.add_column(col)
        for row in registry.history(client, audit, history):
            when = dt.datetime.fromtimestamp(row["when"] / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
            table.add_row(
                when, row["alias"], row["from_version"] or "—", row["to_version"], row["action"], row["who"], row["why"]
            )
        out.print(table)
        return
    table = Table(title=f"registered models ({ws.tracking_uri})")
    for col in ("name", "versions", "aliases", "data md5", "champion's headline metrics"):
        table.add_column(col)
    for row in registry.summary(client):
        aliases = ", ".join(f"@{a}=v{v}" for a, v in sorted(row["aliases"].items()))
        shown = read(row["metrics"], row["headline"], everything=not row["headline"])[:5]  # older versions: no list
        metrics = "  ".join(f"{m.name} {m.value:.4g}" for m in shown)
        table.add_row(row["name"], str(row["versions"]), aliases, row["data_md5"][:12], metrics or "—")
    out.print(table)


@app.command()
def pull(
    ref: str = typer.Argument(..., help="NAME@ALIAS or NAME/VERSION, e.g. dcgan-fashion-mnist@champion"),
    output: Path = typer.Option(..., "-o", "--output", help="A new folder to write model.onnx and genforge.json into."),
    force: bool = typer.Option(
        False, "--force", help="Replace a previous pull in that folder (only the files its genforge.json lists)."
    ),
    root: Path | None = ROOT,
) -> None:
    """Download a registered ONNX model and its metadata; verify its sha256 against the registry tag."""
    from components.registry.pull import check_target
    from components.registry.pull import pull as pull_model

    check_target(output, force)  # before any store is opened: a refused folder costs nothing
    path, resolved = pull_model(_client(_workspace(root)), ref, output, force=force)
    out.print(
        f"{resolved.name} v{resolved.number} → {path} (sha256 verified); metadata in {path.parent / 'genforge.json'}"
    )


@app.command()
def generate(
    ref: str = typer.Argument(..., help="NAME@ALIAS, NAME/VERSION, or a local .onnx file"),
    n: int = typer.Option(64, "-n", min=1, max=4096, help="How many images (or audio clips)."),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="PNG grid to write (default grid.png); audio models: a folder of WAVs (samples/)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the latents (numpy)."),
    label: int | None = typer.Option(
        None, "--label", help="Class to draw (conditional models, e.g. cgan); default: one row per class."
    ),
    prompt: str | None = typer.Option(None, "--prompt", help="Language models: the text to continue."),
    max_new_tokens: int = typer.Option(200, "--max-new-tokens", min=1, help="Language models: tokens to add."),
    temperature: float = typer.Option(1.0, "--temperature", min=0.0, help="Language models: 0 = greedy."),
    top_k: int = typer.Option(200, "--top-k", min=1, help="Language models: sample among the k likeliest tokens."),
    int8: bool = typer.Option(
        False, "--int8", help="Language models: run the INT8 graph (model.int8.onnx) registered beside model.onnx."
    ),
    interpolate: tuple[str, str] | None = typer.Option(
        None, "--interpolate", help="Sentence VAEs: two sentences; prints the path between them in latent space."
    ),
    root: Path | None = ROOT,
) -> None:
    """Sample with onnxruntime only (no torch), from the registry, a pulled folder or a .onnx file: a PNG grid of an
    image generator, WAV files of an audio generator, sentences of a sentence VAE (or, with --interpolate, the path
    between two), or the continuation of --prompt by a language model (printed; its folder holds tokenizer.json)."""
    from components.images import save_png
    from components.serving import generate_grid, session

    if output is not None and output.suffix.lower() not in ("", ".png"):  # before a model is pulled
        _fail(f"-o {output}: give a .png file (image models) or a folder (audio models)")
    with _model(ref, root) as path:
        tokenizer = path.parent / "tokenizer.json"
        try:
            if tokenizer.is_file():  # a language model: print the continuation
                from components.serving_text import sample

                if int8:
                    path = path.parent / "model.int8.onnx"
                    if not path.is_file():
                        _fail(
                            f"{ref} has no INT8 graph (model.int8.onnx): it is registered only when its held-out loss "
                            "stays within the config's export.int8_max_loss_increase; drop --int8"
                        )
                text = sample(path, tokenizer, prompt or "", max_new_tokens, temperature, top_k, seed)
                typer.echo((prompt or "") + text)  # plain: generated text must not be read as console markup
                return
            if int8:
                _fail(f"--int8 is for language models; {ref} is an image generator")
            from components.serving_audio import generate_waveforms, is_audio, write_wavs
            from components.serving_sentences import SentenceVAE, is_sentence_vae

            if is_sentence_vae(session(path)):
                vae = SentenceVAE(path)
                lines = vae.interpolate(*interpolate) if interpolate else vae.sample(n, seed, temperature)
                for line in lines:
                    typer.echo(line)  # plain: generated text must not be read as console markup
                return
            if interpolate:
                _fail(f"--interpolate is for sentence VAEs; {ref} is not one")

            if is_audio(session(path)):
                folder = output or Path("samples")
                if folder.suffix.lower() == ".png":
                    _fail(f"-o {folder}: {ref} generates audio; give a folder for its WAV files")
                written = write_wavs(generate_waveforms(path, n, seed), folder)
                out.print(f"{len(written)} clips from {ref} (seed {seed}) → {folder}/ ({written[0].name} …)")
                return
            output = output or Path("grid.png")
            if output.suffix.lower() != ".png":
                _fail(f"-o {output}: {ref} generates images; give a file name ending in .png")
            picture = generate_grid(path, n, seed, label)
        except ValueError as exc:
            _fail(str(exc))
    save_png(picture, output, scale=2)
    what = f"class {label}" if label is not None else "samples"
    out.print(f"{n} {what} from {ref} (seed {seed}) → {output}")


@app.command()
def classify(
    ref: str = typer.Argument(..., help="NAME@ALIAS, NAME/VERSION, or a pulled folder (model.onnx + tokenizer.json)"),
    texts: list[str] = typer.Argument(..., help="Texts to classify, e.g. 质量很好"),
    root: Path | None = ROOT,
) -> None:
    """Classify texts with a registered text classifier — a GPT's (gpt-sentiment-zh) or an encoder's
    (encoder-sentiment-zh) — with onnxruntime and numpy only, no torch: one line per text, tab-separated: text,
    predicted class, its probability."""
    from components import serving_encoder, serving_text

    with _model(ref, root) as path:
        try:
            kind = serving_encoder.metadata(path).get("genforge.kind")
            if kind == "char-classifier":
                probabilities, names = serving_encoder.classify(path, texts)
            elif kind == "text-classifier":
                probabilities = serving_text.classify(path, path.parent / "tokenizer.json", texts)
                names = serving_text.classes(path) or [str(i) for i in range(probabilities.shape[1])]
            else:
                _fail(f"{ref} is not a text classifier (its graph is a {kind or 'graph of unknown kind'})")
        except ValueError as exc:
            _fail(str(exc))
    for text, p in zip(texts, probabilities, strict=True):
        typer.echo(f"{text}\t{names[int(p.argmax())]}\t{p.max():.4f}")


@app.command()
def ner(
    ref: str = typer.Argument(..., help="NAME@ALIAS, NAME/VERSION, or a pulled folder (model.onnx + vocab.json)"),
    texts: list[str] = typer.Argument(..., help="Texts to tag, e.g. 江泽民在北京会见了联合国秘书长"),
    root: Path | None = ROOT,
) -> None:
    """Named entities (PER, LOC, ORG) of texts with a registered tagger (ner-peoplesdaily), onnxruntime and numpy
    only: per text, the text, then one line per entity: start, end (character offsets, end exclusive), type, the
    characters — tab-separated."""
    from components import serving_encoder

    with _model(ref, root) as path:
        try:
            found = serving_encoder.entities(path, texts)
        except ValueError as exc:
            _fail(str(exc))
    for text, entities in zip(texts, found, strict=True):
        typer.echo(text)
        for start, end, kind, chars in entities:
            typer.echo(f"{start}\t{end}\t{kind}\t{chars}")


@app.command()
def report(
    ref: str = typer.Argument(..., help="NAME@ALIAS or NAME/VERSION, e.g. dcgan-fashion-mnist@champion"),
    output: Path = typer.Option(Path("reports"), "-o", "--output", help="Folder for report.md and its pictures."),
    against: str | None = typer.Option(None, help="Compare with this version instead of the current champion."),
    root: Path | None = ROOT,
) -> None:
    """Regenerate a version's evaluation report (metric table beside the champion's, pictures) from the registry."""
    from components.registry import report as reports
    from components.registry.registry import resolve

    client = _client(_workspace(root))
    folder = output / resolve(client, ref).name
    path, text = reports.build(client, ref, folder, against)
    typer.echo(text)  # plain: markdown's [..](..) must not be read as console markup
    out.print(f"report → {path}")


@app.command()
def detect(
    images: list[Path] = typer.Argument(..., help="Image files (PNG, JPEG); grey, resized to the model's input."),
    model: str = typer.Option("detector-fashion-mnist@champion", "--model", help="Detector: NAME@ALIAS or .onnx"),
    root: Path | None = ROOT,
) -> None:
    """Print the probability that each image is AI-generated (onnxruntime only, no torch)."""
    from components.serving import detect as run_detector

    missing = [str(p) for p in images if not p.is_file()]
    if missing:
        _fail(f"no such image file: {', '.join(missing)}")
    with _model(model, root) as path:
        try:
            probabilities = run_detector(path, images)
        except ValueError as exc:  # BadInputError included: an unreadable image or model file
            _fail(str(exc))
    for image, p in zip(images, probabilities, strict=True):
        verdict = "generated" if p > 0.5 else "real"
        typer.echo(f"{image}\t{p:.4f}\t{verdict}")  # plain, tab-separated: easy to pipe into other tools


@app.command()
def repair(
    ref: str = typer.Argument(..., help="NAME@ALIAS, NAME/VERSION, or a folder with model.onnx + encoder.onnx (a VAE)"),
    image: Path = typer.Argument(..., help="Image to repair (PNG, JPEG); grey, resized to the model's 28×28."),
    mask: str = typer.Option(
        ..., "--mask", help="Box to fill, x0,y0,x1,y1 in pixels of the 28×28 image (x = column; x1, y1 exclusive)."
    ),
    output: Path = typer.Option(Path("repaired.png"), "-o", "--output", help="PNG of the repaired image."),
    panel: Path | None = typer.Option(None, "--panel", help="Also write a before / masked / after strip (PNG)."),
    steps: int = typer.Option(20, "--steps", min=1, max=1000, help="Encode–decode rounds of the repair."),
    root: Path | None = ROOT,
) -> None:
    """Fill a masked box of an image with a VAE (onnxruntime only, no torch): the same algorithm as its evaluation."""
    from components.images import grid, save_png, to_uint8
    from components.repair import MaskError, box_mask, masked_view, parse_box
    from components.serving import repair as run_repair

    try:
        box = parse_box(mask, (28, 28))
    except MaskError as exc:
        _fail(f"{exc} (--mask)")
    _png_output(output)
    if panel is not None:
        _png_output(panel, "--panel")
    if not image.is_file():
        _fail(f"no such image file: {image}")
    with _model(ref, root) as path:
        encoder = path.parent / "encoder.onnx"
        missing = [file.name for file in (path, encoder) if not file.is_file()]
        if missing:
            _fail(f"{ref} is not a VAE: {', '.join(missing)} missing in {path.parent}")
        try:
            repaired = run_repair(path, encoder, [image], box, steps=steps)
        except ValueError as exc:  # BadInputError included: an unreadable image or model file
            _fail(str(exc))
    save_png(to_uint8(repaired)[0, ..., 0], output)
    out.print(f"{image} repaired in box {mask} by {ref} → {output}")
    if panel is not None:
        import numpy as np

        from components.serving import load_images

        before = load_images([image], (28, 28))
        strip = np.concatenate([before, masked_view(before, box_mask(box)), repaired])
        save_png(grid(to_uint8(strip), ncol=3), panel, scale=4)
        out.print(f"before / masked / after → {panel}")


@app.command()
def translate(
    ref: str = typer.Argument(..., help="NAME@ALIAS, NAME/VERSION, or a folder holding model.onnx + reverse.onnx"),
    image: Path = typer.Argument(..., help="Input image (PNG, JPEG; RGBA is composited on white, resized to 64×64)."),
    output: Path = typer.Option(Path("translated.png"), "-o", "--output", help="PNG to write (64×64 RGB)."),
    reverse: bool = typer.Option(False, "--reverse", help="Translate B → A (reverse.onnx) instead of A → B."),
    root: Path | None = ROOT,
) -> None:
    """Translate an image with a registered CycleGAN (onnxruntime only, no torch): Google → Twitter emoji style,
    or back with --reverse."""
    from components.errors import UserError
    from components.images import save_png
    from components.serving import translate as run_translator

    _png_output(output)
    if not image.is_file():
        _fail(f"no such image file: {image}")
    graph = "reverse.onnx" if reverse else "model.onnx"
    with _model(ref, root) as path:
        if not (path.parent / graph).is_file():
            _fail(f"{ref} has no {graph}: not a GenForge CycleGAN (model.onnx + reverse.onnx)")
        try:
            translated = run_translator(path.parent / graph, [image])[0]
        except UserError as exc:  # an unreadable image or model file: the message names it
            _fail(str(exc))
        except ValueError as exc:
            _fail(f"{ref}: {exc}")
    save_png(translated, output)
    out.print(f"{image} → {output} ({'B → A, reverse.onnx' if reverse else 'A → B, model.onnx'} of {ref})")


@app.command()
def ui(port: int = typer.Option(5000, help="Port on 127.0.0.1."), root: Path | None = ROOT) -> None:
    """Open the MLflow UI on the embedded store (127.0.0.1 only); on a tracking server, print its address."""
    ws = _workspace(root)
    uri = ws.tracking_uri
    if uri.startswith(("http://", "https://")):  # the team stack: its server is the dashboard
        _client(ws)  # checked: reachable, credentials accepted
        out.print(f"MLflow UI: {uri}  (the tracking server of MLFLOW_TRACKING_URI; log in as MLFLOW_TRACKING_USERNAME)")
        return
    out.print(f"MLflow UI on http://127.0.0.1:{port}  (store {uri}); Ctrl-C stops it")
    raise typer.Exit(
        subprocess.call(
            [
                sys.executable,
                "-m",
                "mlflow",
                "ui",
                "--backend-store-uri",
                uri,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            env=os.environ,
        )
    )


def _redeliver_lost_ctrl_c(unraisable) -> None:
    """sys.unraisablehook: Python prints and drops an exception it cannot raise — one from a finaliser (`__del__`)
    or a weakref callback. A Ctrl-C that lands there would be lost and the run would go on to register a version;
    it is sent again 0.2 s later, when it lands in ordinary code."""
    import os
    import signal
    import threading

    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
    sys.__unraisablehook__(unraisable)


def main() -> None:
    """Console entry point: user errors (components.errors.UserError) print one clear line and exit 2, no
    traceback; anything else is a bug and keeps its traceback."""
    import logging

    from components.errors import UserError

    sys.unraisablehook = _redeliver_lost_ctrl_c
    global _tracked_stderr
    if _tracked_stderr is None:
        _tracked_stderr = sys.stderr = _LineTrackingStream(sys.stderr)

    # MLflow announces the creation of a new embedded store's tables on stderr: noise, not news.
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
    try:
        app()
    except UserError as exc:
        _print_error(exc)
        sys.exit(2)
    except Exception:
        gone = _server_gone()
        if gone is None:
            raise  # a bug: keep its traceback
        _print_error(
            f"{gone} — it stopped answering during the command; once it is back, run the command again "
            "(finished pipeline steps are served from the cache)"
        )
        sys.exit(2)


def _server_gone() -> str | None:
    """After an unexpected failure: the message of a configured server that no longer answers, if one does not."""
    from components.errors import ServerUnreachable

    try:
        if os.environ.get("PREFECT_API_URL"):
            from flows.prefect_api import check_api

            check_api(os.environ["PREFECT_API_URL"])
        uri = os.environ.get("MLFLOW_TRACKING_URI", "")
        if uri.startswith(("http://", "https://")):
            from components.tracking import check_server

            check_server(uri)
    except ServerUnreachable as exc:
        return str(exc)
    return None
