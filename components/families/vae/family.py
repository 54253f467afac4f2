"""VAE: images from a latent prior, reconstructions and repairs; two graphs (decoder, encoder)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from components.families.base import EvalJob, Family, TrainJob
from components.families.vae.config import VAEPipelineConfig

if TYPE_CHECKING:
    from torch import nn

    from components.evaluation.result import Evaluation
    from components.training.result import TrainResult


class VAE(Family):
    """A convolutional VAE (Kingma & Welling 2014): model.onnx decodes, encoder.onnx encodes (repair needs both)."""

    name = "vae"
    config_class = VAEPipelineConfig
    headline = ("test_bpd", "repair_mse_vae", "repair_mse_mean_fill", "fid", "kid", "c2st_auc", "exact_copy_fraction")
    eval_sections = ("evaluation", "repair")  # a changed repair setting re-evaluates (and re-decides), not retrains
    graphs = ("model", "encoder")

    def train(self, cfg: VAEPipelineConfig, job: TrainJob) -> TrainResult:
        from components.families.vae import steps

        return steps.train(cfg, job)

    def load(self, checkpoint: str | Path) -> nn.Module:
        from components.families.vae import steps

        return steps.load(checkpoint)

    def evaluate(self, cfg: VAEPipelineConfig, job: EvalJob) -> Evaluation:
        from components.families.vae import steps

        return steps.evaluate(self.load(job.checkpoint), cfg, job)

    def extra_graphs(self, checkpoint: str | Path) -> dict[str, nn.Module]:
        from components.families.vae import steps

        return steps.extra_graphs(checkpoint)
