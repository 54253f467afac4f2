"""The face GAN: faces at 64×64 from 32 people's photos, gated on not reproducing who they are."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from components.families.base import EvalJob, Family, TrainJob
from components.families.facegan.config import FaceGANPipelineConfig

if TYPE_CHECKING:
    from torch import nn

    from components.evaluation.result import Evaluation
    from components.training.result import TrainResult


class FaceGAN(Family):
    """A 64×64 DCGAN trained with DiffAugment on the ORL faces; KID against held-out people, identity leakage
    against the training people (components/evaluation/identity.py)."""

    batch_statistics = True  # BatchNorm in both networks

    name = "facegan"
    config_class = FaceGANPipelineConfig
    headline = ("kid", "identity_match_rate", "identity_match_ceiling", "fid", "c2st_auc", "exact_copy_fraction")
    eval_sections = ("evaluation", "privacy")

    def check_ready(self, cfg: FaceGANPipelineConfig, state_dir: Path) -> None:
        if cfg.evaluation.features == "inception":  # fetched into <state>/inception by `… inception fetch`
            from components.evaluation.inception import locate_weights

            locate_weights(Path(state_dir) / "inception")

    def train(self, cfg: FaceGANPipelineConfig, job: TrainJob) -> TrainResult:
        from components.families.facegan import steps

        return steps.train(cfg, job)

    def load(self, checkpoint: str | Path) -> nn.Module:
        from components.families.facegan import steps

        return steps.load(checkpoint)

    def evaluate(self, cfg: FaceGANPipelineConfig, job: EvalJob) -> Evaluation:
        from components.families.facegan import steps

        return steps.evaluate(self.load(job.checkpoint), cfg, job)
