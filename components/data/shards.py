"""Materialised datasets: byte-for-byte deterministic .npy shards plus a meta.json, written atomically."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np

from components.errors import UserError


class DataMissingError(UserError, FileNotFoundError):
    """The materialised dataset is not there; run `genforge data build`."""


def write_dataset(out_dir: Path, splits: dict[str, tuple[np.ndarray, np.ndarray]], shard_size: int, meta: dict) -> Path:
    """Write {split: (images, labels)} as images-/labels- shards; same input → same bytes → same DVC md5.

    Written into a sibling temp folder and renamed at the end, so a failure never leaves a half-built dataset.
    """
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    counts = {}
    for split, (images, labels) in sorted(splits.items()):
        counts[split] = len(images)
        for i, start in enumerate(range(0, len(images), shard_size)):
            # np.save writes a fixed header and raw bytes: no timestamps, unlike np.savez's zip entries.
            np.save(tmp / f"{split}-images-{i:03d}.npy", np.ascontiguousarray(images[start : start + shard_size]))
            np.save(tmp / f"{split}-labels-{i:03d}.npy", np.ascontiguousarray(labels[start : start + shard_size]))
    (tmp / "meta.json").write_text(json.dumps({**meta, "counts": counts}, indent=2, sort_keys=True) + "\n")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    tmp.rename(out_dir)
    return out_dir


def load_split(dataset_dir: Path, split: str, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All shards of a split concatenated: images (N, 28, 28) uint8 and labels (N,)."""
    image_files = sorted(Path(dataset_dir).glob(f"{split}-images-*.npy"))
    if not image_files:
        raise DataMissingError(
            f"no '{split}' shards in {dataset_dir}: materialise the dataset first with `genforge data build`"
        )
    images = np.concatenate([np.load(p) for p in image_files])
    labels = np.concatenate([np.load(p.with_name(p.name.replace("-images-", "-labels-"))) for p in image_files])
    return (images[:limit], labels[:limit]) if limit else (images, labels)


def dataset_md5(dataset_dir: Path) -> str:
    """md5 over the dataset's file names and bytes, in sorted order."""
    digest = hashlib.md5()
    files = sorted(p for p in Path(dataset_dir).rglob("*") if p.is_file())
    if not files:
        raise DataMissingError(f"{dataset_dir} holds no files: run `genforge data build`")
    for path in files:
        digest.update(path.relative_to(dataset_dir).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
