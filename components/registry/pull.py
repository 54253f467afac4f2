"""Consumer side: pull a registered ONNX model and verify it. Imports MLflow and onnxruntime, never torch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mlflow
from components.checksums import sha256_file
from components.registry.registry import Resolved, metadata, resolve
from mlflow import MlflowClient

ONNX_FILE = "model.onnx"


class IntegrityError(RuntimeError):
    """The pulled file is not the one the registry recorded."""


def pull(client: MlflowClient, ref: str, out_dir: str | Path) -> tuple[Path, Resolved]:
    """Download the ONNX model of `ref` (name@alias or name/version) into out_dir and check the sha256 of
    model.onnx and of every other file the version records (genforge.files: encoder.onnx, tokenizer.json, …).

    Written to a temp folder first: a failed or tampered download leaves out_dir untouched.
    """
    resolved = resolve(client, ref)
    out_dir = Path(out_dir)
    staging = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{resolved.name}/{resolved.number}", dst_path=str(staging)
        )
        tags = resolved.version.tags
        expected = {ONNX_FILE: tags.get("genforge.onnx_sha256"), **json.loads(tags.get("genforge.files") or "{}")}
        for name, digest in expected.items():
            actual = sha256_file(staging / name) if (staging / name).is_file() else "missing"
            if digest != actual:
                raise IntegrityError(
                    f"{ref}: {name} has sha256 {actual}, but the registry recorded {digest}; "
                    "the artifact store was altered — do not use this file"
                )
        (staging / "genforge.json").write_text(metadata(resolved) + "\n")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if out_dir.exists():
        shutil.rmtree(out_dir)
    staging.rename(out_dir)
    return out_dir / ONNX_FILE, resolved
