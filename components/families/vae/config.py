"""The VAE pipeline config: its training schedule, the repair evaluation, and gates on bits/dim and repair."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from components.config import (
    Bound,
    EpochTrainConfig,
    Improvement,
    PipelineConfig,
    PromotionConfig,
    Section,
    VAEConfig,
)


class VAETrainConfig(EpochTrainConfig):
    epochs: int = Field(10, gt=0)
    lr: float = Field(1e-3, gt=0)


class RepairConfig(Section):
    num_images: int = Field(200, gt=0)
    """Test images masked and repaired in the evaluation."""
    mask_size: int = Field(12, gt=0, le=28)
    """Side of the square hole (pixels), placed at a seeded position inside the image."""
    steps: int = Field(20, gt=0, le=1000)
    """Encode → decode → paste rounds of the repair (components/repair.py; `genforge repair --steps`)."""


class VAEPipelineConfig(PipelineConfig):
    name: str = "vae-fashion"
    family: Literal["vae"] = "vae"
    dataset: Literal["fashion-mnist"] = "fashion-mnist"
    model: VAEConfig = VAEConfig()
    train: VAETrainConfig = VAETrainConfig()
    repair: RepairConfig = RepairConfig()
    promotion: PromotionConfig = PromotionConfig(
        # From the default run (configs/vae-fashion.yaml): test_bpd 3.59, fid 20.8, kid 0.27, repair gain 0.092.
        thresholds={
            "test_bpd": Bound(max=3.8),
            "fid": Bound(max=30.0),
            "kid": Bound(max=0.4),
            "repair_gain_over_mean_fill": Bound(min=0.03),
            "exact_copy_fraction": Bound(max=0.0),
        },
        improvement=Improvement(metric="test_bpd", mode="min", significant=False),
    )
