"""The encoder pipeline config. The dataset says the task, as for the GPT:

| dataset          | task     | registered as        | what it trains                                              |
| ---------------- | -------- | -------------------- | ----------------------------------------------------------- |
| peoplesdaily     | pretrain | encoder-peoplesdaily | ELECTRA or BERT pretraining on People's Daily               |
| reviews-zh       | pretrain | encoder-reviews-zh   | the same, continued on unlabelled reviews (domain-adaptive) |
| peoplesdaily-ner | ner      | ner-peoplesdaily     | a BIO tagger (PER / LOC / ORG) on a pretrained encoder      |
| sentiment-zh     | classify | encoder-sentiment-zh | a review classifier on a pretrained encoder                 |
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from components.config import (
    Bound,
    ExportConfig,
    GPTTrainConfig,
    Improvement,
    PipelineConfig,
    PromotionConfig,
    Section,
    TextDataConfig,
)
from components.models.encoder import EncoderConfig

TASK_OF = {"peoplesdaily": "pretrain", "reviews-zh": "pretrain", "peoplesdaily-ner": "ner", "sentiment-zh": "classify"}


class PretrainConfig(Section):
    objective: Literal["electra", "mlm"] = "mlm"
    """electra: replaced-token detection (a small generator corrupts, the encoder spots); mlm: BERT's masked-token
    prediction. A continued pretraining (a base in sources) keeps its base's objective."""
    mask_rate: float = Field(0.15, gt=0, lt=1)
    """Share of each text's characters chosen for corruption."""
    generator_layers: int = Field(1, gt=0)
    """ELECTRA's generator: blocks of the same width as the encoder, sharing its token embedding."""
    rtd_weight: float = Field(50.0, gt=0)
    """ELECTRA's λ: loss = generator MLM + λ · discriminator replaced-token detection."""
    vocab_min_count: int = Field(2, gt=0)
    """A character enters the vocabulary when the pretraining text has it this often ([UNK] otherwise)."""


class EncoderTrainConfig(GPTTrainConfig):
    max_steps: int = Field(2000, gt=0)
    batch_size: int = Field(32, gt=0)
    lr: float = Field(5e-4, gt=0)
    min_lr: float = Field(5e-5, ge=0)
    warmup_steps: int = Field(100, ge=0)
    weight_decay: float = Field(0.01, ge=0)


class EncoderSourcesConfig(Section):
    model: str | None = None
    """The registered encoder to start from (its champion): required by ner and classify; for pretrain, set it to
    continue pretraining on this dataset (domain-adaptive)."""


class EncoderEvaluationConfig(Section):
    seed: int = Field(0, ge=0)
    """Seed of the held-out corruption (pretrain) and of the baselines: every version is scored alike."""
    heldout_windows: int = Field(1000, ge=10)
    """Pretrain: held-out windows scored (masked-character accuracy, replaced-token detection)."""
    crf_iterations: int = Field(60, gt=0)
    """NER: L-BFGS iterations of the CRF baseline (CRFsuite), trained on the same training pieces."""
    crf_c2: float = Field(0.01, ge=0)
    baseline_ngrams: tuple[Annotated[int, Field(gt=0)], Annotated[int, Field(gt=0)]] = (1, 3)
    """Classify: character n-gram range of the TF-IDF logistic-regression baseline."""


class EncoderPipelineConfig(PipelineConfig):
    name: str = "encoder-peoplesdaily"
    family: Literal["encoder"] = "encoder"
    dataset: Literal["peoplesdaily", "reviews-zh", "peoplesdaily-ner", "sentiment-zh"] = "peoplesdaily"
    data: TextDataConfig = TextDataConfig()
    model: EncoderConfig = EncoderConfig()
    """Architecture of a pretraining from scratch; a run from a base takes the base's and ignores this section."""
    pretrain: PretrainConfig = PretrainConfig()
    train: EncoderTrainConfig = EncoderTrainConfig()
    sources: EncoderSourcesConfig = EncoderSourcesConfig()
    evaluation: EncoderEvaluationConfig = EncoderEvaluationConfig()
    export: ExportConfig = ExportConfig(parity_atol=1e-3)
    promotion: PromotionConfig = PromotionConfig(
        thresholds={"heldout_masked_accuracy": Bound(min=0.2)},
        improvement=Improvement(metric="heldout_masked_accuracy", mode="max", significant=False),
    )

    @property
    def task(self) -> str:
        return TASK_OF[self.dataset]

    @property
    def model_name(self) -> str:
        """encoder-<dataset>, but the tagger is ner-<corpus> (ner-peoplesdaily)."""
        if self.task == "ner":
            return "ner-" + self.dataset.removesuffix("-ner")
        return f"{self.family}-{self.dataset}"
