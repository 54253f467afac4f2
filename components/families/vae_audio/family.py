"""Speech VAE: spectrograms of 2-second telephone prompts from a latent prior, rendered to WAV with Griffin-Lim;
two graphs (decoder, encoder)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from components.families.base import EvalJob, Family, TrainJob
from components.families.vae_audio.config import AudioVAEPipelineConfig

if TYPE_CHECKING:
    from torch import nn

    from components.evaluation.result import Evaluation
    from components.training.result import TrainResult


class AudioVAE(Family):
    """A convolutional VAE over log-magnitude spectrograms: model.onnx decodes z → spectrogram, encoder.onnx
    encodes; the consumer renders audio with components/audio.py (numpy Griffin-Lim)."""

    name = "vae-audio"
    config_class = AudioVAEPipelineConfig
    headline = (
        "heldout_nats_per_second", "recon_lsd_db", "fid", "kid", "c2st_auc", "kl_nats", "active_units",
        "nearest_train_distance_ratio", "exact_copy_fraction",
    )  # fmt: skip
    graphs = ("model", "encoder")

    def train(self, cfg: AudioVAEPipelineConfig, job: TrainJob) -> TrainResult:
        from components.families.vae_audio import steps

        return steps.train(cfg, job)

    def load(self, checkpoint: str | Path) -> nn.Module:
        from components.families.vae_audio.trainer import load_audio_vae

        return load_audio_vae(checkpoint).decoder

    def evaluate(self, cfg: AudioVAEPipelineConfig, job: EvalJob) -> Evaluation:
        from components.families.vae_audio import steps

        return steps.evaluate(cfg, job)

    def extra_graphs(self, checkpoint: str | Path) -> dict[str, nn.Module]:
        from components.families.vae_audio.trainer import load_audio_vae

        return {"encoder": load_audio_vae(checkpoint).encoder}
