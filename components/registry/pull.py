"""Consumer side: pull a registered ONNX model and verify it. Imports MLflow and onnxruntime, never torch.

Pull writes only what it owns. The download is staged in a fresh folder beside the target, verified there, and
moved into place; an existing folder is used only when it holds nothing, or — with `force` — when a previous
pull's manifest (genforge.json) lists what may be replaced. Nothing else in it is ever touched.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import mlflow
from components.checksums import sha256_file
from components.errors import UserError
from components.registry.registry import Resolved, metadata, resolve
from mlflow import MlflowClient

ONNX_FILE = "model.onnx"
MANIFEST = "genforge.json"


class IntegrityError(UserError, RuntimeError):
    """The pulled file is not the one the registry recorded."""


class PullTargetError(UserError):
    """The output folder is one pull must not write into (the user's files are there, or it is not a folder)."""


def recorded_files(resolved: Resolved) -> dict[str, str]:
    """model.onnx and every other file the version records (genforge.files) → sha256; names must be plain."""
    tags = resolved.version.tags
    files = {ONNX_FILE: tags.get("genforge.onnx_sha256"), **json.loads(tags.get("genforge.files") or "{}")}
    for name in files:
        if not name or "/" in name or "\\" in name or name in (".", "..") or ".." in name:
            raise IntegrityError(
                f"{resolved.name} v{resolved.number} records a file named {name!r} in genforge.files: only plain file "
                "names are allowed; the registry entry was altered — do not use this version"
            )
    return files


def check_target(out_dir: Path, force: bool) -> list[str]:
    """Refuse targets pull must not write into; return the files a previous pull left there (to replace)."""
    raw = str(out_dir)
    resolved = out_dir.expanduser().resolve()
    home, cwd = Path.home().resolve(), Path.cwd().resolve()
    if raw in (".", "..", "/", "~") or resolved in (home, cwd, Path(resolved.anchor)) or resolved in cwd.parents:
        raise PullTargetError(
            f"-o {raw} is {resolved}, a folder pull will not write into: name a new folder, e.g. -o models/<name>"
        )
    if resolved.exists() and not resolved.is_dir():
        raise PullTargetError(f"-o {raw} is an existing file, not a folder: name a new folder")
    if not resolved.is_dir() or not any(resolved.iterdir()):
        return []
    present = sorted(p.name for p in resolved.iterdir())
    manifest = resolved / MANIFEST
    if not force:
        shown = ", ".join(present[:5]) + (f" and {len(present) - 5} more" if len(present) > 5 else "")
        raise PullTargetError(
            f"-o {raw} already holds {shown}: name a new folder, or pass --force to replace a previous pull there "
            "(only the files its genforge.json lists are replaced)"
        )
    try:
        owned = json.loads(manifest.read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        raise PullTargetError(
            f"-o {raw} holds files but no manifest of a previous pull ({MANIFEST} with a file list): --force replaces "
            "only what GenForge wrote; name a new folder"
        ) from None
    return [name for name in owned if isinstance(name, str) and "/" not in name and name not in ("", ".", "..")]


def pull(client: MlflowClient, ref: str, out_dir: str | Path, force: bool = False) -> tuple[Path, Resolved]:
    """Download the ONNX model of `ref` (name@alias or name/version) into out_dir and check the sha256 of model.onnx
    and of every other file the version records. A failed or tampered download leaves out_dir as it was."""
    out_dir = Path(out_dir)
    owned = check_target(out_dir, force)
    resolved = resolve(client, ref)
    expected = recorded_files(resolved)
    target = out_dir.expanduser().resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.pull-", dir=target.parent))  # ours alone to remove
    try:
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{resolved.name}/{resolved.number}", dst_path=str(staging)
        )
        for name, digest in expected.items():
            actual = sha256_file(staging / name) if (staging / name).is_file() else "missing"
            if digest != actual:
                raise IntegrityError(
                    f"{ref}: {name} has sha256 {actual}, but the registry recorded {digest}; "
                    "the artifact store was altered — do not use this file"
                )
        files = sorted(p.name for p in staging.iterdir() if p.is_file())
        meta = json.loads(metadata(resolved)) | {"files": sorted({*files, MANIFEST})}
        (staging / MANIFEST).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        _move_into_place(staging, target, owned)
    finally:
        if staging.exists():
            shutil.rmtree(staging)  # the staging folder was created above by this call: nothing of the user's
    return target / ONNX_FILE, resolved


def _move_into_place(staging: Path, target: Path, owned: list[str]) -> None:
    """A new (or empty) target: one atomic rename. A previous pull's folder: each file replaced atomically, and the
    files that only the old pull listed removed; everything else in the folder stays."""
    if not target.exists() or (target.is_dir() and not any(target.iterdir())):
        os.rename(staging, target)
        return
    new = {p.name for p in staging.iterdir() if p.is_dir() or p.is_file()}
    for name in sorted(new):
        if (staging / name).is_dir():
            continue  # the registry's model folders are flat; a nested folder is not ours to merge
        os.replace(staging / name, target / name)
    for name in owned:
        if name not in new and (target / name).is_file():
            (target / name).unlink()
