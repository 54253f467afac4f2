"""The CycleGAN pipeline config: the emoji data, the paper's losses and schedule, gates against doing nothing."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from components.config import (
    Bound,
    CycleGANConfig,
    EmojiDataConfig,
    Improvement,
    PipelineConfig,
    PromotionConfig,
    TrainConfig,
)


class CycleGANTrainConfig(TrainConfig):
    epochs: int = Field(7, gt=0)
    batch_size: int = Field(8, gt=0)
    lambda_cycle: float = Field(10.0, ge=0)
    lambda_identity: float = Field(5.0, ge=0)
    """Weight of ‖G_AB(b) − b‖₁ + ‖G_BA(a) − a‖₁ (the paper: half of lambda_cycle); keeps colours where they fit."""
    decay_from: float = Field(0.5, ge=0, le=1)
    """Fraction of the steps after which the learning rate decays linearly to 0 (the paper: halfway)."""


class CycleGANPipelineConfig(PipelineConfig):
    name: str = "cyclegan-emoji"
    family: Literal["cyclegan"] = "cyclegan"
    dataset: Literal["emoji-google2twitter"] = "emoji-google2twitter"
    data: EmojiDataConfig = EmojiDataConfig()
    model: CycleGANConfig = CycleGANConfig()
    train: CycleGANTrainConfig = CycleGANTrainConfig()
    promotion: PromotionConfig = PromotionConfig(
        # Beat doing nothing: closer to the true Twitter counterpart (L1) and harder to tell from real Twitter (C2ST)
        # than the untranslated Google input is (gain = identity baseline − translation); KID as a sanity bound.
        thresholds={
            "l1_ab_gain": Bound(min=0.0),
            "c2st_auc_gain": Bound(min=0.0),
            "kid_b": Bound(max=0.15),
        },
        improvement=Improvement(metric="l1_ab", mode="min", significant=False),
    )
