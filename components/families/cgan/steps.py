"""Conditional GAN: class-conditional images, scored like DCGAN plus conditional accuracy and per-class FID/KID."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from components.data.shards import load_split
from components.evaluation.conditional import conditional_accuracy, per_class_distances
from components.evaluation.evaluate import evaluate_generator
from components.evaluation.result import Evaluation
from components.families.base import EvalJob, TrainJob
from components.families.cgan.config import CGANPipelineConfig
from components.images import grid, to_uint8
from components.training.gan_trainer import GANTrainer, load_generator
from components.training.result import TrainResult

GRID_SEED = 7  # latents of the one-row-per-class picture


def class_names(dataset_dir: Path, num_classes: int) -> list[str]:
    meta = Path(dataset_dir) / "meta.json"
    names = json.loads(meta.read_text()).get("classes") if meta.is_file() else None
    return names if names and len(names) == num_classes else [str(c) for c in range(num_classes)]


def train(cfg: CGANPipelineConfig, job: TrainJob) -> TrainResult:
    dataset_dir, checkpoint_dir = job.dataset_dir, job.checkpoint_dir
    on_log, on_epoch, resume = job.on_log, job.on_epoch, job.resume
    images, labels = load_split(dataset_dir, "train")
    if labels.max() >= cfg.model.num_classes:
        raise ValueError(
            f"the training labels go up to {int(labels.max())} but model.num_classes is {cfg.model.num_classes}; "
            "raise model.num_classes in the config"
        )
    classes = class_names(dataset_dir, cfg.model.num_classes)
    trainer = GANTrainer(cfg, images, checkpoint_dir, on_log=on_log, on_epoch=on_epoch, labels=labels, classes=classes)
    return trainer.fit(resume=resume)


def load(checkpoint: str | Path) -> nn.Module:
    return load_generator(checkpoint)


@torch.no_grad()
def class_grid(generator: nn.Module, per_class: int = 10, seed: int = GRID_SEED) -> np.ndarray:
    """uint8 picture with one row per class (row c: `per_class` samples asked for class c)."""
    k = generator.num_classes
    z = generator.example_inputs(k * per_class, seed=seed)[0]
    labels = torch.arange(k * per_class) // per_class
    return grid(to_uint8(generator.eval()(z, labels).numpy()), ncol=per_class)


def evaluate(model: nn.Module, cfg: CGANPipelineConfig, job: EvalJob) -> Evaluation:
    """DCGAN's table on balanced labels (comparable with DCGAN), then the conditional metrics on the same samples."""
    dataset_dir, dataset_md5, cache_dir = job.dataset_dir, job.dataset_md5, job.cache_dir
    result = evaluate_generator(model, dataset_dir, dataset_md5, cfg, cache_dir)
    x = result.extras
    k = cfg.model.num_classes
    requested = (torch.arange(len(x["samples"])) % k).numpy()  # the labels of example_inputs: balanced
    accuracy, per_class_acc = conditional_accuracy(x["evaluator"].classify(x["samples"]), requested, k)
    dist = per_class_distances(x["f_ref"], x["ref_labels"], x["f_samples"], requested, k)
    floor = per_class_distances(x["f_ref"], x["ref_labels"], x["f_floor"], x["floor_labels"], k)
    metrics = {
        **result.metrics,
        "conditional_accuracy": accuracy,
        "conditional_accuracy_ceiling": result.metrics["evaluator_test_accuracy"],
        "intra_fid": float(np.nanmean(dist["fid"])),
        "intra_kid": float(np.nanmean(dist["kid"])),
        "intra_fid_real_floor": float(np.nanmean(floor["fid"])),
        **{f"conditional_accuracy_class_{c}": float(per_class_acc[c]) for c in range(k)},
        **{f"fid_class_{c}": float(dist["fid"][c]) for c in range(k)},
        **{f"kid_class_{c}": float(dist["kid"][c]) for c in range(k)},
    }
    pictures = {**result.pictures, "samples": class_grid(model)}
    return Evaluation(metrics, result.ci, pictures, result.roc)
