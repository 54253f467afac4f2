"""The detector pipeline config: its CNN, the corruptions it trains under, the generator it learns from."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from components.config import Bound, Improvement, PipelineConfig, PromotionConfig, RunnerConfig, Section


class DetectorModelConfig(Section):
    width: int = Field(32, gt=0)
    """Channels of the first conv (twice this in the second)."""


class AugmentConfig(Section):
    """Probabilities of each training-time corruption (Wang et al. 2020: blur + JPEG make detectors generalise)."""

    blur: float = Field(0.5, ge=0, le=1)
    jpeg: float = Field(0.5, ge=0, le=1)
    resize: float = Field(0.3, ge=0, le=1)


class DetectorTrainConfig(RunnerConfig):
    epochs: int = Field(5, gt=0)
    batch_size: int = Field(128, gt=0)
    lr: float = Field(1e-3, gt=0)
    samples_per_source: int = Field(3000, gt=0)
    """Generated images drawn from each training checkpoint of the source generator."""
    real_samples: int = Field(12000, gt=0)
    """Real training images (the first N of the train split)."""
    test_fraction: float = Field(0.2, gt=0, lt=1)
    augment: AugmentConfig = AugmentConfig()


class SourcesConfig(Section):
    model: str = "dcgan-fashion-mnist"
    """Registered generator: its champion's per-epoch checkpoints (the final one is the champion) train the
    detector, except the second-to-last, which it never sees in training (the cross-generator test)."""


class DetectorPipelineConfig(PipelineConfig):
    name: str = "detector-fashion"
    family: Literal["detector"] = "detector"
    dataset: Literal["fashion-mnist", "orl-faces"] = "fashion-mnist"
    """The real images; the generator of `sources` must draw the same kind (grey, the same size)."""
    model: DetectorModelConfig = DetectorModelConfig()
    train: DetectorTrainConfig = DetectorTrainConfig()
    sources: SourcesConfig = SourcesConfig()
    promotion: PromotionConfig = PromotionConfig(
        thresholds={"ap_in": Bound(min=0.9), "ap_cross": Bound(min=0.8)},
        improvement=Improvement(metric="ap_cross", mode="max", significant=False),
    )
