"""The conditional GAN pipeline config: class-conditional DCGAN, gated on conditional accuracy too."""

from __future__ import annotations

from typing import Literal

from components.config import Bound, CGANConfig, PipelineConfig, PromotionConfig, TrainConfig


class CGANPipelineConfig(PipelineConfig):
    name: str = "cgan-fashion"
    family: Literal["cgan"] = "cgan"
    dataset: Literal["fashion-mnist"] = "fashion-mnist"
    model: CGANConfig = CGANConfig()
    train: TrainConfig = TrainConfig()
    promotion: PromotionConfig = PromotionConfig(
        thresholds={
            "fid": Bound(max=100.0),
            "conditional_accuracy": Bound(min=0.5),
        },
    )
