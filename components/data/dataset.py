"""The data step: raw source → deterministic shards under data/<dataset>/ → DVC-versioned (data/<dataset>.dvc)
DataRef."""

from __future__ import annotations

import logging
from pathlib import Path

from components.config import DataConfig
from components.data import fashion_mnist, shards, versioning
from components.refs import DataRef

log = logging.getLogger(__name__)


def build_fashion_mnist(root: Path, cfg: DataConfig) -> Path:
    """Locate + verify the IDX files, then (only if all four are good) write the shards."""
    folder = fashion_mnist.locate(cfg.source_dir, root / ".genforge" / "raw" / "fashion-mnist")
    data = fashion_mnist.load(folder, verify_checksums=cfg.verify_checksums)
    meta = {
        "dataset": "fashion-mnist",
        "licence": fashion_mnist.LICENCE,
        "source": fashion_mnist.SOURCE_PACKAGE if folder == fashion_mnist.DEBIAN_DIR else "IDX files",
        "idx_sha256": data.checksums,
        "image_shape": [28, 28],
        "dtype": "uint8",
        "classes": [
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ],
    }
    splits = {"train": (data.train_images, data.train_labels), "test": (data.test_images, data.test_labels)}
    return shards.write_dataset(root / "data" / "fashion-mnist", splits, cfg.shard_size, meta)


def _builder(dataset: str):
    """dataset name → function(root, data config) that materialises data/<dataset>/ (deterministic bytes)."""
    if dataset == "fashion-mnist":
        return build_fashion_mnist
    if dataset == "emoji-google2twitter":
        from components.data import emoji

        return emoji.build
    if dataset == "orl-faces":
        from components.data import orl

        return orl.build
    if dataset == "asterisk-speech":
        from components.data import speech

        return speech.build
    from components.data import text_dataset

    if dataset in text_dataset.PACKAGE_OF:
        return text_dataset.builder(dataset)
    raise ValueError(f"no builder for dataset {dataset!r}")


def prepare(root: Path, cfg: DataConfig, rebuild: bool = False, dataset: str = "fashion-mnist") -> DataRef:
    """Make data/<dataset> match its source and its pointer data/<dataset>.dvc: reuse it when DVC says it is
    current, else build it, `dvc add` it and push it."""
    dataset_dir = root / "data" / dataset
    # By content hash, never mtimes: a byte changed on disk (mtime kept or not) is rebuilt from the verified source.
    if rebuild or not dataset_dir.is_dir() or not versioning.is_current(root, dataset, verify=True):
        if dataset_dir.is_dir() and not rebuild and versioning.pinned_md5(root, dataset):
            log.warning("data/%s on disk does not hash to its pinned md5: rebuilding it from the source", dataset)
        log.info("materialising %s into %s", dataset, dataset_dir)
        _builder(dataset)(root, cfg)
        pinned_before = versioning.pinned_md5(root, dataset)
        dvc_md5 = versioning.add_and_push(root, dataset)
        if pinned_before and pinned_before != dvc_md5:
            log.warning(
                "data version changed: data/%s.dvc now pins %s (was %s); commit it", dataset, dvc_md5, pinned_before
            )
    return current_ref(root, dataset)


def current_ref(root: Path, dataset: str = "fashion-mnist") -> DataRef:
    dataset_dir = root / "data" / dataset
    dvc_md5 = versioning.pinned_md5(root, dataset)
    if dvc_md5 is None or not dataset_dir.is_dir():
        raise shards.DataMissingError(f"no versioned {dataset} data in {root}: run `genforge data build`")
    return DataRef(str(dataset_dir), dvc_md5, shards.dataset_md5(dataset_dir), versioning.git_rev(root, dataset))
