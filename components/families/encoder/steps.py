"""The encoder family's train and load: pretraining (ELECTRA or BERT), continued pretraining from a registered base,
and the two fine-tunes (entity tagger, review classifier) from a registered encoder, each beside the same head on a
from-scratch encoder trained for the same steps.

A checkpoint holds the vocabulary, the architecture, the task's weights and — for a pretraining — the whole
pretraining model (generator included), so a continued pretraining resumes the objective where the base stopped.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from components import checkpoints
from components.data.text_dataset import load_documents, load_records
from components.families.base import TrainJob
from components.families.encoder.config import EncoderPipelineConfig
from components.models.encoder import (
    BertMLM,
    Electra,
    Encoder,
    EncoderConfig,
    SequenceClassifier,
    TokenTagger,
)
from components.models.tensors import pick_device
from components.text import corruption
from components.text.chars import CLS, SEP, CharVocab
from components.text.entities import TAGS, bio, pieces
from components.training.lm_trainer import LMTrainer
from components.training.result import TrainResult

FAMILY = "encoder"
IGNORE = -100  # tag of [CLS], [SEP] and padding: not scored


# ---- checkpoints -------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=2)
def _load(path: str, mtime_ns: int, size: int) -> dict:
    return checkpoints.load_family(path, FAMILY, "cpu")


def read(checkpoint: str | Path) -> dict:
    """A checkpoint's state, loaded once per file version; shared between callers: read it, never change it."""
    path = Path(checkpoint).resolve()
    stat = path.stat()
    return _load(str(path), stat.st_mtime_ns, stat.st_size)


def pretraining_model(objective: str, arch: EncoderConfig, vocab_size: int, generator_layers: int):
    return Electra(arch, vocab_size, generator_layers) if objective == "electra" else BertMLM(arch, vocab_size)


def head_of(state: dict, key: str = "head") -> torch.nn.Module:
    """The task's exported module of a checkpoint: the pretraining head (replaced-token detector or masked LM), the
    tagger or the classifier."""
    arch, vocab = EncoderConfig.model_validate(state["encoder_config"]), CharVocab(tuple(state["vocab"]))
    if state["task"] == "pretrain":
        model = pretraining_model(state["objective"], arch, vocab.size, state["generator_layers"])
        model.load_state_dict(state["pretraining_model"])
        head = model.discriminator if state["objective"] == "electra" else model.mlm
        return head.eval()
    if state["task"] == "ner":
        head = TokenTagger(Encoder(arch, vocab.size), tuple(state["labels"]))
    else:
        head = SequenceClassifier(Encoder(arch, vocab.size), tuple(state["labels"]))
    head.load_state_dict(state[key])
    return head.eval()


# ---- data --------------------------------------------------------------------------------------------------------


def tagged_pieces(dataset_dir: Path, split: str, max_chars: int) -> list[tuple[str, list[str]]]:
    """(piece, BIO tags) of every paragraph of a peoplesdaily-ner split."""
    out = []
    for record in load_records(dataset_dir, split):
        for text, entities in pieces(record["text"], [tuple(e) for e in record["entities"]], max_chars):
            out.append((text, bio(len(text), entities)))
    return out


def encode_tags(vocab: CharVocab, items: list[tuple[str, list[str]]], width: int) -> tuple[np.ndarray, ...]:
    """(tokens, lengths, tag ids) with IGNORE at [CLS], [SEP] and padding."""
    tokens, lengths = vocab.encode([text for text, _ in items], width)
    index = {t: i for i, t in enumerate(TAGS)}
    tags = np.full(tokens.shape, IGNORE, dtype=np.int64)
    for row, (_, row_tags) in enumerate(items):
        kept = row_tags[: width - 2]
        tags[row, 1 : 1 + len(kept)] = [index[t] for t in kept]
    return tokens, lengths, tags


# ---- trainers ----------------------------------------------------------------------------------------------------


class PretrainTrainer(LMTrainer):
    """Random windows of the character stream (documents joined by [SEP]), each read as [CLS] window [SEP]; BERT's
    or ELECTRA's loss on a seeded corruption of them."""

    family = FAMILY

    def __init__(self, model, ids: np.ndarray, objective: str, p, *args, **kwargs):
        super().__init__(model, *args, **kwargs)
        self.objective, self.p = objective, p
        self.width = model.encoder.block_size
        if len(ids) < self.width:
            raise ValueError(f"the pretraining text is {len(ids)} characters; block_size {self.width} needs more")
        self.data = torch.from_numpy(np.asarray(ids, dtype=np.int64))
        self.offsets = torch.arange(self.width - 2)
        self.rate_key = f"{self.prefix}chars_per_s"

    def units_per_step(self) -> int:
        return self.t.batch_size // self.world * (self.width - 2)

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        ix = self.local(torch.randint(len(self.data) - len(self.offsets), (self.t.batch_size,), generator=self.gen))
        chars = self.data[ix[:, None] + self.offsets]
        ends = torch.tensor([[CLS]]).expand(len(ix), 1), torch.tensor([[SEP]]).expand(len(ix), 1)
        tokens = torch.cat([ends[0], chars, ends[1]], dim=1)
        return tokens, torch.full((len(ix),), self.width, dtype=torch.long)

    def batch_loss(self) -> torch.Tensor:
        tokens, lengths = self.batch()
        return pretraining_loss(self.model, self.objective, self.p, tokens, lengths, self.gen, self.device)[0]


def pretraining_loss(model, objective: str, p, tokens, lengths, gen: torch.Generator, device) -> tuple:
    """(loss, chosen (B, T), masked-LM logits (N, V) at the chosen positions, replaced labels (B, T) or None,
    detector logits (B, T) or None) of one batch; the corruption is drawn on the CPU from `gen`."""
    chosen = corruption.choose(tokens, lengths, p.mask_rate, gen)
    vocab_size = model.encoder.vocab_size
    on = lambda x: x.to(device)  # noqa: E731
    if objective == "mlm":
        inputs = corruption.bert_corrupt(tokens, chosen, vocab_size, gen)
        logits = model.mlm.logits_at(on(inputs), on(lengths), on(chosen))
        return corruption.mlm_loss(logits, on(tokens), on(chosen)), chosen, logits, None, None
    masked = tokens.masked_fill(chosen, corruption.MASK)
    g_logits = model.generator.logits_at(on(masked), on(lengths), on(chosen))
    corrupted, labels = corruption.electra_replace(tokens, chosen, g_logits, gen)
    d_logits = model.discriminator(on(corrupted), on(lengths))
    rtd = corruption.rtd_loss(d_logits, on(labels), on(lengths))
    loss = corruption.mlm_loss(g_logits, on(tokens), on(chosen)) + p.rtd_weight * rtd
    return loss, chosen, g_logits, labels, d_logits


class _LabelledTrainer(LMTrainer):
    """Seeded random batches of labelled texts (tokens, lengths, labels); a subclass scores them."""

    family = FAMILY

    def __init__(self, model, tokens: np.ndarray, lengths: np.ndarray, labels: np.ndarray, *args, **kwargs):
        super().__init__(model, *args, **kwargs)
        self.x, self.n, self.y = torch.from_numpy(tokens), torch.from_numpy(lengths), torch.from_numpy(labels)
        self.rate_key = f"{self.prefix}texts_per_s"

    def units_per_step(self) -> int:
        return self.t.batch_size // self.world

    def batch_loss(self) -> torch.Tensor:
        ix = self.local(torch.randint(len(self.x), (self.t.batch_size,), generator=self.gen))
        width = int(self.n[ix].max())
        x, n = self.x[ix, :width].to(self.device), self.n[ix].to(self.device)
        return self.loss(self.model(x, n), (self.y[ix, :width] if self.y.dim() == 2 else self.y[ix]).to(self.device))


class TaggerTrainer(_LabelledTrainer):
    """Cross-entropy over the characters' tags ([CLS], [SEP] and padding ignored)."""

    def loss(self, logits: torch.Tensor, tags: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.flatten(0, 1), tags.flatten(), ignore_index=IGNORE)


class ClassifierTrainer(_LabelledTrainer):
    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, labels)


# ---- train -------------------------------------------------------------------------------------------------------


def _start(cfg: EncoderPipelineConfig, job: TrainJob) -> tuple[dict | None, CharVocab, EncoderConfig]:
    """(base checkpoint or None, vocabulary, architecture): the base's own, else new ones from the training text."""
    if job.sources is None:
        if cfg.task != "pretrain":
            raise ValueError(f"{cfg.name}: a {cfg.task} fine-tune needs sources.model (a registered encoder)")
        vocab = CharVocab.build(load_documents(job.dataset_dir, "train"), cfg.pretrain.vocab_min_count)
        return None, vocab, cfg.model
    base = read(job.sources.snapshots[-1])
    if base.get("task") != "pretrain":
        raise ValueError(
            f"{job.sources.model} v{job.sources.version} is not a pretrained encoder: cannot start from it"
        )
    return base, CharVocab(tuple(base["vocab"])), EncoderConfig.model_validate(base["encoder_config"])


def train(cfg: EncoderPipelineConfig, job: TrainJob) -> TrainResult:
    started = time.perf_counter()
    torch.set_num_threads(cfg.train.num_threads)
    job.checkpoint_dir.mkdir(parents=True, exist_ok=True)
    if not job.resume:
        for old in [*job.checkpoint_dir.glob("*.pt"), *job.checkpoint_dir.glob("resume/*.pt")]:
            old.unlink()
    base, vocab, arch = _start(cfg, job)
    common = {"family": FAMILY, "task": cfg.task, "vocab": list(vocab.chars), "dataset": cfg.dataset,
              "encoder_config": arch.model_dump(mode="json"), "config": cfg.model_dump(mode="json")}  # fmt: skip
    if base is not None:
        s = job.sources
        common["sources"] = {"model": s.model, "version": s.version, "run_id": s.run_id}
    device = pick_device(cfg.train.device)
    runner = {"pretrain": _pretrain, "ner": _finetune, "classify": _finetune}[cfg.task]
    state, run = runner(cfg, job, base, vocab, arch, common, device)
    path = job.checkpoint_dir / "last.pt"
    checkpoints.save(path, {**state, "history": run.history, "steps": cfg.train.max_steps})
    return TrainResult(path, run.epochs_done, run.steps, time.perf_counter() - started, run.history)


def _cpu(module: torch.nn.Module) -> dict:
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}


def _pretrain(cfg, job, base, vocab, arch, common, device):
    objective = base["objective"] if base is not None else cfg.pretrain.objective
    layers = base["generator_layers"] if base is not None else cfg.pretrain.generator_layers
    torch.manual_seed(cfg.seed)
    model = pretraining_model(objective, arch, vocab.size, layers)
    if base is not None:
        model.load_state_dict(base["pretraining_model"])
    documents = load_documents(job.dataset_dir, "train")
    ids = [i for doc in documents for i in [*vocab.ids(doc), SEP]]
    common = {**common, "objective": objective, "generator_layers": layers}

    def snapshot(step: int) -> dict:
        return {**common, "pretraining_model": _cpu(model), "step": step}

    trainer = PretrainTrainer(model, np.array(ids), objective, cfg.pretrain, cfg.train, cfg.seed, common["config"],
                              job.checkpoint_dir, job.on_log, snapshot, device=device)  # fmt: skip
    run = trainer.fit(job.resume)
    return {
        **common,
        "pretraining_model": _cpu(model),
        "params": sum(p.numel() for p in model.encoder.parameters()),
    }, run


def _finetune(cfg, job, base, vocab, arch, common, device):
    """A head on the base's encoder, and the same head on a new encoder (scratch_*), the same steps and batches."""
    width = arch.block_size
    if cfg.task == "ner":
        labels = TAGS
        data = encode_tags(vocab, tagged_pieces(job.dataset_dir, "train", width - 2), width)
        build, trainer_class = (lambda enc: TokenTagger(enc, labels)), TaggerTrainer
    else:
        records = load_records(job.dataset_dir, "train")
        labels = ("negative", "positive")
        tokens, lengths = vocab.encode([r["text"] for r in records], width)
        data = (tokens, lengths, np.array([int(r["label"]) for r in records], dtype=np.int64))
        build, trainer_class = (lambda enc: SequenceClassifier(enc, labels)), ClassifierTrainer
    common = {**common, "labels": list(labels)}
    pretrained = base is not None

    def model(from_base: bool) -> torch.nn.Module:
        torch.manual_seed(cfg.seed)
        head = build(Encoder(arch, vocab.size))
        if from_base:
            trunk = pretraining_model(base["objective"], arch, vocab.size, base["generator_layers"])
            trunk.load_state_dict(base["pretraining_model"])
            head.encoder.load_state_dict(trunk.encoder.state_dict())
        return head

    head = model(pretrained)

    def snapshot(step: int) -> dict:
        return {**common, "head": _cpu(head), "step": step}

    args = (cfg.train, cfg.seed, common["config"], job.checkpoint_dir, job.on_log)
    run = trainer_class(head, *data, *args, snapshot, device=device).fit(job.resume)
    state = {**common, "head": _cpu(head), "params": sum(p.numel() for p in head.parameters())}
    if pretrained and cfg.train.compare_scratch:
        scratch = model(False)
        trainer_class(scratch, *data, *args, prefix="scratch_", device=device).fit(job.resume)
        state["scratch_head"] = _cpu(scratch)
    return state, run
