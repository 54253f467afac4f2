"""Conditional GAN: class-conditional images, scored like DCGAN plus conditional accuracy and per-class FID."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from components.families.base import EvalJob, Family, TrainJob
from components.families.cgan.config import CGANPipelineConfig
from components.families.dcgan.family import GENERATOR_HEADLINE

if TYPE_CHECKING:
    from torch import nn

    from components.evaluation.result import Evaluation
    from components.training.result import TrainResult


class CGAN(Family):
    """A DCGAN told which class to draw (Mirza & Osindero 2014); one registered graph takes (z, label)."""

    batch_statistics = True  # BatchNorm in both networks

    name = "cgan"
    config_class = CGANPipelineConfig
    headline = ("conditional_accuracy", "intra_fid", *GENERATOR_HEADLINE)

    def train(self, cfg: CGANPipelineConfig, job: TrainJob) -> TrainResult:
        from components.families.cgan import steps

        return steps.train(cfg, job)

    def load(self, checkpoint: str | Path) -> nn.Module:
        from components.families.cgan import steps

        return steps.load(checkpoint)

    def evaluate(self, cfg: CGANPipelineConfig, job: EvalJob) -> Evaluation:
        from components.families.cgan import steps

        return steps.evaluate(self.load(job.checkpoint), cfg, job)
