"""DCGAN: an unconditional image generator, trained adversarially and scored by FID/KID and a C2ST."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torch import nn

from components.config import DCGANPipelineConfig
from components.data.shards import load_split
from components.evaluation.evaluate import evaluate_generator
from components.evaluation.result import Evaluation
from components.training.gan_trainer import GANTrainer, TrainResult, load_generator

TRAIN_SECTIONS = ("family", "dataset", "seed", "model", "train")
needs_sources = False


def train(
    cfg: DCGANPipelineConfig,
    dataset_dir: Path,
    checkpoint_dir: Path,
    sources,
    on_log: Callable,
    on_epoch: Callable,
    resume: bool,
) -> TrainResult:
    images, _ = load_split(dataset_dir, "train")
    return GANTrainer(cfg, images, checkpoint_dir, on_log=on_log, on_epoch=on_epoch).fit(resume=resume)


def load(checkpoint: str | Path) -> nn.Module:
    return load_generator(checkpoint)


def evaluate(
    model: nn.Module,
    checkpoint: str | Path,
    dataset_dir: Path,
    dataset_md5: str,
    cfg: DCGANPipelineConfig,
    cache_dir: Path,
) -> Evaluation:
    return evaluate_generator(model, dataset_dir, dataset_md5, cfg, cache_dir)
