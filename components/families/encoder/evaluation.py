"""The encoder family's evaluation, per task, on held-out text only; every seed is the evaluation's.

- pretrain: a seeded corruption of held-out windows. Masked-character accuracy and loss (BERT: of the MLM;
  ELECTRA: of its generator), and for ELECTRA the discriminator's replaced-token detection (accuracy, ROC AUC).
- ner: entity-level precision / recall / F1 (seqeval, CoNLL rules), overall and per type, with a bootstrap interval
  over the held-out pieces; beside the same tagger on a from-scratch encoder and a CRF on character features.
- classify: accuracy and macro F1 with a bootstrap interval; beside the from-scratch twin and a TF-IDF character
  n-gram logistic regression.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from components.families.encoder import crf
from components.families.encoder.config import EncoderPipelineConfig
from components.families.encoder.steps import head_of, pretraining_loss, pretraining_model, tagged_pieces
from components.models.encoder import EncoderConfig
from components.text.chars import CLS, SEP, CharVocab
from components.text.entities import TAGS, spans

BOOTSTRAP = 1000


def _bootstrap(values: np.ndarray, statistic, seed: int) -> tuple[float, float]:
    """95 % percentile interval of statistic(rows) over resamples of the rows."""
    rng = np.random.default_rng(seed)
    draws = [statistic(values[rng.integers(0, len(values), len(values))]) for _ in range(BOOTSTRAP)]
    return float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))


# ---- pretrain ----------------------------------------------------------------------------------------------------


@torch.no_grad()
def pretrain_metrics(state: dict, documents: list[str], cfg: EncoderPipelineConfig, device) -> dict[str, float]:
    arch, vocab = EncoderConfig.model_validate(state["encoder_config"]), CharVocab(tuple(state["vocab"]))
    model = pretraining_model(state["objective"], arch, vocab.size, state["generator_layers"])
    model.load_state_dict(state["pretraining_model"])
    model.to(device).eval()
    width = arch.block_size - 2
    stream = [i for doc in documents for i in [*vocab.ids(doc), SEP]]
    n = min(cfg.evaluation.heldout_windows, len(stream) // width)
    if n == 0:
        raise ValueError(f"the held-out text is shorter than one window of {width} characters")
    chars = torch.tensor(stream[: n * width]).view(n, width)
    tokens = torch.cat([torch.full((n, 1), CLS), chars, torch.full((n, 1), SEP)], dim=1)
    lengths = torch.full((n,), width + 2)
    gen = torch.Generator().manual_seed(cfg.evaluation.seed)
    correct, nats, count, rtd_scores, rtd_labels = 0, 0.0, 0, [], []
    for lo in range(0, n, 128):
        t, ln = tokens[lo : lo + 128], lengths[lo : lo + 128]
        _, chosen, logits, labels, d_logits = pretraining_loss(model, state["objective"], cfg.pretrain, t, ln, gen,
                                                               device)  # fmt: skip
        picked, target = logits.cpu(), t[chosen]
        correct += int((picked.argmax(dim=1) == target).sum())
        nats += float(torch.nn.functional.cross_entropy(picked, target, reduction="sum"))
        count += int(chosen.sum())
        if labels is not None:  # every position is real (full windows)
            rtd_scores.append(d_logits.cpu().flatten().numpy())
            rtd_labels.append(labels.flatten().numpy())
    metrics = {"heldout_masked_accuracy": correct / count, "heldout_masked_nats": nats / count,
               "heldout_windows": float(n), "params": float(state["params"])}  # fmt: skip
    if rtd_scores:
        from sklearn.metrics import roc_auc_score

        scores, labels = np.concatenate(rtd_scores), np.concatenate(rtd_labels)
        metrics["rtd_auc"] = float(roc_auc_score(labels, scores))
        metrics["rtd_accuracy"] = float(((scores > 0) == (labels > 0.5)).mean())
        metrics["replaced_share"] = float(labels.mean())
    return metrics


# ---- ner ---------------------------------------------------------------------------------------------------------


@torch.no_grad()
def predict_tags(model, vocab: CharVocab, texts: list[str], width: int, batch: int = 256) -> list[list[str]]:
    device = next(model.parameters()).device
    out = []
    for lo in range(0, len(texts), batch):
        tokens, lengths = vocab.encode(texts[lo : lo + batch], width)
        logits = model(torch.from_numpy(tokens).to(device), torch.from_numpy(lengths).to(device)).cpu()
        for row, n in zip(logits.argmax(dim=-1).numpy(), lengths, strict=True):
            out.append([TAGS[i] for i in row[1 : n - 1]])
    return out


def entity_scores(truth: list[list[str]], predicted: list[list[str]], prefix: str = "") -> dict[str, float]:
    """seqeval's entity-level micro precision / recall / F1 and per-type F1 (CoNLL's rules, its default mode)."""
    from seqeval.metrics import classification_report

    report = classification_report(truth, predicted, output_dict=True, zero_division=0)
    micro = report["micro avg"]
    out = {
        f"{prefix}precision": micro["precision"],
        f"{prefix}recall": micro["recall"],
        f"{prefix}f1": micro["f1-score"],
    }
    for kind in ("PER", "LOC", "ORG"):
        out[f"{prefix}f1_{kind}"] = report.get(kind, {}).get("f1-score", 0.0)
    return {k: float(v) for k, v in out.items()}


def piece_counts(truth: list[list[str]], predicted: list[list[str]]) -> np.ndarray:
    """(pieces, 3): true positives, predicted entities, true entities — what F1 is summed from (bootstrap)."""
    rows = []
    for t, p in zip(truth, predicted, strict=True):
        a, b = set(spans(t)), set(spans(p))
        rows.append((len(a & b), len(b), len(a)))
    return np.array(rows, dtype=np.float64).reshape(-1, 3)


def f1_of_counts(counts: np.ndarray) -> float:
    tp, n_pred, n_true = counts.sum(axis=0)
    return float(2 * tp / (n_pred + n_true)) if n_pred + n_true else 0.0


def ner_metrics(state: dict, dataset_dir: Path, cfg: EncoderPipelineConfig, device, cache_dir: Path, md5: str):
    vocab, width = CharVocab(tuple(state["vocab"])), state["encoder_config"]["block_size"]
    held = tagged_pieces(dataset_dir, "held_out", width - 2)
    texts, truth = [t for t, _ in held], [tags for _, tags in held]
    predicted = predict_tags(head_of(state).to(device), vocab, texts, width)
    metrics = entity_scores(truth, predicted)
    counts = piece_counts(truth, predicted)
    ci = {"f1": _bootstrap(counts, f1_of_counts, cfg.evaluation.seed)}
    if "scratch_head" in state:
        scratch = predict_tags(head_of(state, "scratch_head").to(device), vocab, texts, width)
        metrics |= entity_scores(truth, scratch, "scratch_")
        metrics["f1_gain_over_scratch"] = metrics["f1"] - metrics["scratch_f1"]
    train = tagged_pieces(dataset_dir, "train", width - 2)
    tagger = crf.load_or_train(cache_dir, md5, train, cfg.evaluation.crf_iterations, cfg.evaluation.crf_c2)
    metrics |= entity_scores(truth, crf.predict(tagger, texts), "crf_")
    metrics["f1_gain_over_crf"] = metrics["f1"] - metrics["crf_f1"]
    metrics |= {"n_test_pieces": float(len(held)), "n_test_entities": float(counts[:, 2].sum()),
                "params": float(state["params"])}  # fmt: skip
    example = "\n".join(_show(t, p) for t, p in list(zip(texts, predicted, strict=True))[:20])
    return metrics, ci, {"entities.txt": example + "\n"}


def _show(text: str, tags: list[str]) -> str:
    found = ", ".join(f"{text[s:e]}/{k}" for s, e, k in spans(tags))
    return f"{text}\n  → {found or '(none)'}"


# ---- classify ----------------------------------------------------------------------------------------------------


@torch.no_grad()
def predict_classes(model, vocab: CharVocab, texts: list[str], width: int, batch: int = 256) -> np.ndarray:
    device = next(model.parameters()).device
    out = []
    for lo in range(0, len(texts), batch):
        tokens, lengths = vocab.encode(texts[lo : lo + batch], width)
        out.append(model(torch.from_numpy(tokens).to(device), torch.from_numpy(lengths).to(device)).argmax(1).cpu())
    return torch.cat(out).numpy()


def _class_scores(prefix: str, truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import f1_score

    return {f"{prefix}accuracy": float((truth == predicted).mean()),
            f"{prefix}f1_macro": float(f1_score(truth, predicted, average="macro"))}  # fmt: skip


def classify_metrics(state: dict, dataset_dir: Path, cfg: EncoderPipelineConfig, device):
    from components.data.text_dataset import load_records
    from components.families.gpt.classifier import ngram_baseline

    vocab, width = CharVocab(tuple(state["vocab"])), state["encoder_config"]["block_size"]
    train, held = load_records(dataset_dir, "train"), load_records(dataset_dir, "held_out")
    texts, truth = [r["text"] for r in held], np.array([int(r["label"]) for r in held])
    predicted = predict_classes(head_of(state).to(device), vocab, texts, width)
    metrics = _class_scores("", truth, predicted)
    ci = {"accuracy": _bootstrap((truth == predicted).astype(np.float64), np.mean, cfg.evaluation.seed)}
    if "scratch_head" in state:
        scratch = predict_classes(head_of(state, "scratch_head").to(device), vocab, texts, width)
        metrics |= _class_scores("scratch_", truth, scratch)
        metrics["accuracy_gain_over_scratch"] = metrics["accuracy"] - metrics["scratch_accuracy"]
    baseline = ngram_baseline([r["text"] for r in train], np.array([int(r["label"]) for r in train]), texts,
                              cfg.evaluation.baseline_ngrams, cfg.evaluation.seed)  # fmt: skip
    metrics |= _class_scores("ngram_", truth, baseline)
    metrics["accuracy_gain_over_ngram"] = metrics["accuracy"] - metrics["ngram_accuracy"]
    metrics |= {"n_test": float(len(truth)), "params": float(state["params"])}
    return metrics, ci, {}


def text_metrics_file(metrics: dict[str, float]) -> str:
    return json.dumps({k: round(v, 6) for k, v in metrics.items()}, indent=2) + "\n"
