"""The AIGC detector: a CNN trained on real images and a registered generator's snapshots."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from components.families.base import EvalJob, Family, TrainJob
from components.families.detector.config import DetectorPipelineConfig

if TYPE_CHECKING:
    from torch import nn

    from components.evaluation.result import Evaluation
    from components.training.result import TrainResult


class Detector(Family):
    """Real-vs-generated CNN (Wang et al. 2020); learns from the champion of `sources.model`."""

    data_parallel = False  # small CNNs trained in seconds by components/models/fitting.py, not the loop

    name = "detector"
    config_class = DetectorPipelineConfig
    headline = ("ap_in", "ap_cross", "auc_cross", "accuracy_cross")
    train_sections = ("family", "dataset", "seed", "model", "train", "sources")

    def train(self, cfg: DetectorPipelineConfig, job: TrainJob) -> TrainResult:
        from components.families.detector import steps

        return steps.train(cfg, job)

    def load(self, checkpoint: str | Path) -> nn.Module:
        from components.families.detector import steps

        return steps.load(checkpoint)

    def evaluate(self, cfg: DetectorPipelineConfig, job: EvalJob) -> Evaluation:
        from components.families.detector import steps

        return steps.evaluate(self.load(job.checkpoint), cfg, job)

    def needs_sources(self, cfg: DetectorPipelineConfig) -> bool:
        return True
