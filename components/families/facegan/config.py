"""The face GAN's pipeline config: ORL faces, a 64×64 DCGAN trained with DiffAugment, quality against people it
never saw (standard Inception features), and a privacy gate on identity leakage."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from components.config import Bound, Improvement, PipelineConfig, PromotionConfig, Section, TrainConfig
from components.data.orl import OrlDataConfig
from components.families.facegan.model import FaceGANConfig

Augmentation = Literal["color", "translation", "cutout"]


class FaceTrainConfig(TrainConfig):
    epochs: int = Field(150, gt=0)
    batch_size: int = Field(32, gt=0)
    diffaugment: tuple[Augmentation, ...] = ("color", "translation", "cutout")
    """DiffAugment's policy (Zhao et al. 2020), applied to every image the discriminator sees; () trains without
    it (the ablation)."""
    snapshots: int = Field(10, ge=1)
    """Weight snapshots kept over training (epoch_*.pt, evenly spaced, the last = the final weights): the
    privacy–quality curve scores each one, and a detector can learn from them."""


class FaceEvaluationConfig(Section):
    features: Literal["inception", "identity"] = "inception"
    """KID/FID feature space: the standard FID Inception network (needs `python -m components.evaluation.inception
    fetch`), or the identity network's embedding (fast, download-free; comparable only with itself)."""
    num_samples: int = Field(80, ge=10, le=10_000)
    """Generated faces scored (the reference is every held-out photo: 8 people × 10)."""
    bootstrap: int = Field(200, ge=10)
    near_threshold: float = Field(2.0, ge=0, le=255)
    c2st_epochs: int = Field(10, gt=0)
    seed: int = Field(0, ge=0)
    """Seed of every evaluation network, split and bootstrap (never the training seed)."""
    curve: bool = True
    """Also score every weight snapshot: the privacy–quality curve (KID and identity match rate over training)."""


class PrivacyConfig(Section):
    far: float = Field(0.05, gt=0, lt=0.5)
    """Declared false-accept rate: the verification threshold lets this share of unseen people's photos match a
    training person. A generated face above the threshold counts as that person's."""
    identity_epochs: int = Field(20, gt=0)
    """Epochs of the identity-embedding network (trained once per data version, cached)."""


class FaceGANPipelineConfig(PipelineConfig):
    name: str = "facegan-orl"
    family: Literal["facegan"] = "facegan"
    dataset: Literal["orl-faces"] = "orl-faces"
    data: OrlDataConfig = OrlDataConfig()
    model: FaceGANConfig = FaceGANConfig()
    train: FaceTrainConfig = FaceTrainConfig()
    evaluation: FaceEvaluationConfig = FaceEvaluationConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    promotion: PromotionConfig = PromotionConfig(
        thresholds={
            "identity_match_rate": Bound(max=0.15),  # set after the default run (see README, Privacy)
            "exact_copy_fraction": Bound(max=0.0),
        },
        improvement=Improvement(metric="kid", mode="min", significant=False),
    )
