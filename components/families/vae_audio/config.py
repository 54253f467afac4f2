"""The speech VAE's pipeline config: telephone prompts in five languages, a spectrogram VAE, and gates on the
held-out ELBO per second and the evaluator's FID."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from components.config import (
    Bound,
    EpochTrainConfig,
    ExportConfig,
    Improvement,
    PipelineConfig,
    PromotionConfig,
    Section,
)
from components.data.speech import SpeechDataConfig
from components.families.vae_audio.model import AudioVAEConfig


class AudioTrainConfig(EpochTrainConfig):
    epochs: int = Field(30, gt=0)
    batch_size: int = Field(32, gt=0)
    lr: float = Field(1e-3, gt=0)
    log_every: int = Field(20, gt=0)


class AudioEvaluationConfig(Section):
    num_samples: int = Field(256, ge=10, le=5000)
    """Prior samples scored against the held-out clips (FID/KID at equal N: compare at the same setting)."""
    bootstrap: int = Field(200, ge=10)
    evaluator_epochs: int = Field(8, gt=0)
    """Epochs of the language classifier whose embedding is the FID/KID feature space (cached per data version)."""
    c2st_epochs: int = Field(5, gt=0)
    wav_samples: int = Field(8, ge=0, le=64)
    """Prior samples and reconstructions rendered as WAV files on the evaluate run (the MLflow UI plays them)."""
    seed: int = Field(0, ge=0)
    """Seed of every evaluation network, latent draw and bootstrap (never the training seed)."""


class AudioVAEPipelineConfig(PipelineConfig):
    name: str = "vae-speech"
    family: Literal["vae-audio"] = "vae-audio"
    dataset: Literal["asterisk-speech"] = "asterisk-speech"
    data: SpeechDataConfig = SpeechDataConfig()
    model: AudioVAEConfig = AudioVAEConfig()
    train: AudioTrainConfig = AudioTrainConfig()
    evaluation: AudioEvaluationConfig = AudioEvaluationConfig()
    export: ExportConfig = ExportConfig(parity_atol=1e-3)  # log-magnitudes span ±10: 1e-3 is 1e-4 of the range
    promotion: PromotionConfig = PromotionConfig(
        thresholds={  # the default run's gates (configs/vae-speech.yaml: measured values there)
            "heldout_nats_per_second": Bound(max=12_000),
            "recon_lsd_db": Bound(max=7.0),
            "fid": Bound(max=400),
            "kl_nats": Bound(min=10),
            "active_units": Bound(min=4),
            "nearest_train_distance_ratio": Bound(min=0.5),
            "exact_copy_fraction": Bound(max=0.0),
        },
        improvement=Improvement(metric="heldout_nats_per_second", mode="min", significant=False),
    )
