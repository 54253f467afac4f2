"""CycleGAN: unpaired style translation (Google → Twitter emoji) and back; two graphs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from components.families.base import EvalJob, Family, TrainJob
from components.families.cyclegan.config import CycleGANPipelineConfig

if TYPE_CHECKING:
    from torch import nn

    from components.evaluation.result import Evaluation
    from components.training.result import TrainResult


class CycleGAN(Family):
    """Two ResNet generators (Zhu et al. 2017): model.onnx translates A → B, reverse.onnx B → A."""

    name = "cyclegan"
    config_class = CycleGANPipelineConfig
    headline = ("l1_ab", "l1_ab_identity", "kid_b", "kid_b_identity", "c2st_auc", "c2st_auc_identity")
    graphs = ("model", "reverse")

    def check_ready(self, cfg: CycleGANPipelineConfig, state_dir: Path) -> None:
        if cfg.evaluation.features == "inception":  # fetched into <state>/inception by `… inception fetch`
            from components.evaluation.inception import locate_weights

            locate_weights(Path(state_dir) / "inception")

    def train(self, cfg: CycleGANPipelineConfig, job: TrainJob) -> TrainResult:
        from components.families.cyclegan import steps

        return steps.train(cfg, job)

    def load(self, checkpoint: str | Path) -> nn.Module:
        from components.families.cyclegan import steps

        return steps.load(checkpoint)

    def evaluate(self, cfg: CycleGANPipelineConfig, job: EvalJob) -> Evaluation:
        from components.families.cyclegan import steps

        return steps.evaluate(self.load(job.checkpoint), cfg, job)

    def extra_graphs(self, checkpoint: str | Path) -> dict[str, nn.Module]:
        from components.families.cyclegan import steps

        return steps.extra_graphs(checkpoint)
