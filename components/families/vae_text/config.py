"""The sentence VAE's pipeline config: People's Daily sentences (the corpus and split of gpt-peoplesdaily), a
transformer sentence VAE with KL annealing and word dropout, gates on the ELBO per character and a minimum KL."""

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
    TextDataConfig,
)
from components.families.vae_text.model import TextVAEConfig


class TextVAETrainConfig(EpochTrainConfig):
    epochs: int = Field(3, gt=0)
    batch_size: int = Field(64, gt=0)
    lr: float = Field(1e-3, gt=0)
    log_every: int = Field(50, gt=0)
    kl_warmup_steps: int = Field(600, ge=0)
    """Steps over which the KL weight rises linearly from 0 to 1 (Bowman et al.'s annealing); 0 = no annealing."""
    word_dropout: float = Field(0.25, ge=0, lt=1)
    """Probability that a decoder input character is replaced by UNK (Bowman et al.'s word dropout)."""
    free_bits: float = Field(0.25, ge=0)
    """Nats of KL each latent dimension is charged at least in training (Kingma et al. 2016); 0 = off."""


class TextVAEEvaluationConfig(Section):
    num_samples: int = Field(200, ge=10, le=5000)
    """Sentences drawn from the prior (C2ST against as many held-out sentences, memorisation)."""
    temperature: float = Field(1.0, ge=0)
    """Sampling temperature of the prior samples (0 = greedy)."""
    interpolations: int = Field(3, ge=0, le=20)
    """Pairs of held-out sentences whose latent path (7 points) is logged as text."""
    memorisation_ngram: int = Field(8, gt=0)
    seed: int = Field(0, ge=0)


class TextVAEPipelineConfig(PipelineConfig):
    name: str = "vae-news-zh"
    family: Literal["vae-text"] = "vae-text"
    dataset: Literal["peoplesdaily"] = "peoplesdaily"
    data: TextDataConfig = TextDataConfig()
    model: TextVAEConfig = TextVAEConfig()
    train: TextVAETrainConfig = TextVAETrainConfig()
    evaluation: TextVAEEvaluationConfig = TextVAEEvaluationConfig()
    export: ExportConfig = ExportConfig(parity_atol=1e-3)
    promotion: PromotionConfig = PromotionConfig(
        thresholds={"kl_per_sentence": Bound(min=2.0), "exact_copy_fraction": Bound(max=0.5)},
        improvement=Improvement(metric="heldout_nats_per_char", mode="min", significant=False),
    )
