"""DCGAN: an unconditional image generator, trained adversarially and scored by FID/KID and a C2ST."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from components.families.base import EvalJob, Family, TrainJob
from components.families.dcgan.config import DCGANPipelineConfig

if TYPE_CHECKING:
    from torch import nn

    from components.evaluation.result import Evaluation
    from components.training.result import TrainResult

# The generators' table (components/evaluation/evaluate.py), most telling first.
GENERATOR_HEADLINE = (
    "fid",
    "kid",
    "c2st_auc",
    "precision",
    "recall",
    "exact_copy_fraction",
    "near_copy_fraction",
    "evaluator_test_accuracy",
)


class DCGAN(Family):
    batch_statistics = True  # BatchNorm in both networks
    name = "dcgan"
    config_class = DCGANPipelineConfig
    headline = GENERATOR_HEADLINE

    def train(self, cfg: DCGANPipelineConfig, job: TrainJob) -> TrainResult:
        from components.data.shards import load_split
        from components.training.gan_trainer import GANTrainer

        images, _ = load_split(job.dataset_dir, "train")
        trainer = GANTrainer(cfg, images, job.checkpoint_dir, on_log=job.on_log, on_epoch=job.on_epoch)
        return trainer.fit(resume=job.resume)

    def load(self, checkpoint: str | Path) -> nn.Module:
        from components.training.gan_trainer import load_generator

        return load_generator(checkpoint)

    def evaluate(self, cfg: DCGANPipelineConfig, job: EvalJob) -> Evaluation:
        from components.evaluation.evaluate import evaluate_generator

        return evaluate_generator(self.load(job.checkpoint), job.dataset_dir, job.dataset_md5, cfg, job.cache_dir)
