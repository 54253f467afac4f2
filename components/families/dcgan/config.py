"""The DCGAN pipeline config: the shared sections with the DCGAN architecture and Adam (paper betas)."""

from __future__ import annotations

from typing import Literal

from components.config import DCGANConfig, PipelineConfig, TrainConfig


class DCGANPipelineConfig(PipelineConfig):
    family: Literal["dcgan"] = "dcgan"
    dataset: Literal["fashion-mnist", "emoji-google2twitter"] = "fashion-mnist"
    model: DCGANConfig = DCGANConfig()
    train: TrainConfig = TrainConfig()
