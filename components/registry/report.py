"""The report of a registered version, built from the registry alone: `genforge report` and the promote step."""

from __future__ import annotations

import shutil
from pathlib import Path

from mlflow.exceptions import MlflowException

import mlflow
from components.evaluation.report import markdown
from components.metrics import headline_of
from components.registry.registry import champion, resolve
from mlflow import MlflowClient

# Pictures of the train run shown in every report (the evaluate run's pictures are all shown: each family logs its
# own — class grid, reconstructions and repairs, translation triplets, ROC).
TRAIN_PICTURES = ("loss_curves.png",)


def _eval_pictures(client: MlflowClient, run_id: str | None) -> list[str]:
    """The evaluate run's PNGs: samples first, the ROC last, the family's own pictures between."""
    if not run_id:
        return []
    names = [a.path for a in client.list_artifacts(run_id) if not a.is_dir and a.path.endswith(".png")]
    return sorted(names, key=lambda n: (n != "samples.png", n == "roc.png", n))


def _fetch(run_id: str | None, artifact: str, target: Path) -> bool:
    if not run_id:
        return False
    try:
        local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact, dst_path=str(target.parent))
    except (MlflowException, OSError):
        return False  # this family or run has no such picture
    shutil.move(local, target)
    return True


def build(client: MlflowClient, ref: str, out_dir: Path, against: str | None = None) -> tuple[Path, str]:
    """Write report.md + pictures for `ref` into out_dir, beside `against` (default: the current champion,
    unless it is this very version). Returns the path and the markdown text."""
    this = resolve(client, ref)
    other = resolve(client, against) if against else champion(client, this.name)
    if not against and other is not None and other.number == this.number:
        previous = client.get_model_version_by_alias(this.name, "previous") if _has_alias(client, this.name) else None
        other = resolve(client, f"{this.name}/{previous.version}") if previous else None
    out_dir.mkdir(parents=True, exist_ok=True)
    pictures = []
    eval_run = this.version.tags.get("genforge.eval_run_id")
    wanted = [(eval_run, name) for name in _eval_pictures(client, eval_run)]
    wanted += [(this.version.tags.get("genforge.train_run_id"), name) for name in TRAIN_PICTURES]
    for run_id, name in wanted:
        if _fetch(run_id, name, out_dir / f"challenger_{name}"):
            pictures.append(f"challenger_{name}")
        if (
            name == "samples.png"
            and other
            and _fetch(other.version.tags.get("genforge.eval_run_id"), name, out_dir / "champion_samples.png")
        ):
            pictures.append("champion_samples.png")
    texts = {}  # a text model's samples at a fixed seed and prompt (samples.txt of its evaluate run)
    if _fetch(eval_run, "samples.txt", out_dir / "samples.txt"):
        texts["samples (fixed seed and prompt)"] = (out_dir / "samples.txt").read_text(encoding="utf-8")
    tags = this.version.tags
    text = markdown(
        this.name,
        this.number,
        this.metrics,
        other.metrics if other else None,
        other.number if other else None,
        tags.get("genforge.decision", "?"),
        [r for r in tags.get("genforge.decision_reasons", "").split("; ") if r],
        pictures,
        texts,
        headline_of(tags),
    )
    (out_dir / "report.md").write_text(text, encoding="utf-8")
    return out_dir / "report.md", text


def _has_alias(client: MlflowClient, name: str) -> bool:
    return "previous" in (client.get_registered_model(name).aliases or {})
