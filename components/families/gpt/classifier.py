"""GPT, classification half (dataset sentiment-zh): a GPT trunk, pretrained or pulled from the registry, with a class
head, fine-tuned with cross-entropy; scored by accuracy and macro F1 against the same head on a from-scratch trunk
and a bag-of-character-n-grams logistic regression.
components/families/gpt/steps.py dispatches here for `task: classify`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from components import checkpoints
from components.errors import check_finite
from components.evaluation.result import Evaluation
from components.families.gpt.config import GPTPipelineConfig
from components.models.gpt import GPTClassifier, GPTConfig
from components.progress import Progress
from components.serving_text import encode_labelled
from components.text.tokenizer import BPETokenizer
from components.training.result import TrainResult


def fit_classifier_head(
    model: GPTClassifier, tokens: np.ndarray, lengths: np.ndarray, labels: np.ndarray, cfg: GPTPipelineConfig,
    on_log: Callable | None = None, prefix: str = "",
) -> list[dict]:  # fmt: skip
    """Fine-tune trunk + head with cross-entropy on seeded random batches (the LM recipe's optimiser and schedule)."""
    from torch.nn import functional as F

    from components.training.lm_trainer import lr_at, optimizer

    t = cfg.train
    opt = optimizer(model, t)
    gen = torch.Generator().manual_seed(cfg.seed)
    x, n, y = torch.from_numpy(tokens), torch.from_numpy(lengths), torch.from_numpy(labels)
    history, window = [], []
    progress = Progress(f"train ({prefix.rstrip('_')})" if prefix else "train", t.max_steps)
    model.train()
    for step in range(t.max_steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, t)
        ix = torch.randint(len(x), (t.batch_size,), generator=gen)
        width = int(n[ix].max())
        loss = F.cross_entropy(model(x[ix, :width], n[ix]), y[ix])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), t.grad_clip)
        opt.step()
        window.append(loss.item())
        check_finite(step + 1, **{f"{prefix}loss": window[-1]})  # NaN/inf: stop before anything is saved
        progress.update(1, loss=window[-1])
        if (step + 1) % t.log_every == 0 or step + 1 == t.max_steps:
            row = {"step": step + 1, f"{prefix}loss": float(np.mean(window))}
            history.append(row)
            window = []
            if on_log:
                on_log(row)
    return history


def classifier_from_state(
    state: dict, key: str = "classifier", cls: type[GPTClassifier] = GPTClassifier
) -> GPTClassifier:
    model = cls(GPTConfig(**state["gpt_config"]), state["n_classes"], state["pooling"], state["class_names"])
    model.load_state_dict(state[key])
    return model.eval()


def train_classifier(cfg, dataset_dir, checkpoint_dir, sources, base, tokenizer_json, gpt_config, on_log, started):
    from components.data.text_dataset import load_records

    records = load_records(dataset_dir, "train")
    classes = json.loads((Path(dataset_dir) / "meta.json").read_text()).get("classes") or sorted(
        {str(r["label"]) for r in records}
    )
    tokenizer = BPETokenizer.from_str(tokenizer_json)
    tokens, lengths = encode_labelled(tokenizer, [r["text"] for r in records], gpt_config.block_size)
    labels = np.array([int(r["label"]) for r in records], dtype=np.int64)

    def build() -> GPTClassifier:
        torch.manual_seed(cfg.seed)
        return GPTClassifier(gpt_config, len(classes), cfg.classifier.pooling, classes)

    model = build()
    if base is not None:
        model.gpt.load_state_dict(base["model"])
    history = fit_classifier_head(model, tokens, lengths, labels, cfg, on_log)
    common = {
        "family": "gpt",
        "kind": "classifier",
        "config": cfg.model_dump(mode="json"),
        "gpt_config": asdict(gpt_config),
        "tokenizer": tokenizer_json,
        "dataset": cfg.dataset,
        "n_classes": len(classes),
        "pooling": cfg.classifier.pooling,
        "class_names": classes,
        "steps": cfg.train.max_steps,
        "params": sum(p.numel() for p in model.parameters()),
    }
    # One weight snapshot: the final weights (what a later fine-tune of this classifier would pull).
    checkpoints.save(checkpoint_dir / "epoch_001.pt", {**common, "classifier": model.state_dict()})
    state = {**common, "classifier": model.state_dict(), "history": history}
    if base is not None:
        state["sources"] = {"model": sources.model, "version": sources.version, "run_id": sources.run_id}
        if cfg.train.compare_scratch:
            scratch = build()
            fit_classifier_head(scratch, tokens, lengths, labels, cfg, on_log, prefix="scratch_")
            state["scratch_classifier"] = scratch.state_dict()
    path = checkpoint_dir / "last.pt"
    checkpoints.save(path, state)
    return TrainResult(path, 1, cfg.train.max_steps, time.perf_counter() - started, history)


@torch.no_grad()
def predict_classes(model: GPTClassifier, tokens: np.ndarray, lengths: np.ndarray, batch: int = 256) -> np.ndarray:
    model.eval()
    out = []
    for i in range(0, len(tokens), batch):
        n = torch.from_numpy(lengths[i : i + batch])
        out.append(model(torch.from_numpy(tokens[i : i + batch, : int(n.max())]), n).argmax(dim=1).numpy())
    return np.concatenate(out)


def ngram_baseline(
    train_texts: list[str], train_labels: np.ndarray, test_texts: list[str], ngrams: tuple[int, int], seed: int = 0
) -> np.ndarray:
    """Bag of character n-grams (TF-IDF) + logistic regression: the classical baseline's predictions."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=tuple(ngrams), sublinear_tf=True)
    clf = LogisticRegression(max_iter=2000, random_state=seed).fit(vectorizer.fit_transform(train_texts), train_labels)
    return clf.predict(vectorizer.transform(test_texts))


def _scores(prefix: str, truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import f1_score

    return {
        f"{prefix}accuracy": float((truth == predicted).mean()),
        f"{prefix}f1_macro": float(f1_score(truth, predicted, average="macro")),
    }


def evaluate_classifier(model, state, dataset_dir: Path, cfg: GPTPipelineConfig) -> Evaluation:
    from components.data.text_dataset import load_records

    tokenizer = BPETokenizer.from_str(state["tokenizer"])
    train, held = load_records(dataset_dir, "train"), load_records(dataset_dir, "held_out")
    truth = np.array([int(r["label"]) for r in held], dtype=np.int64)
    tokens, lengths = encode_labelled(tokenizer, [r["text"] for r in held], model.block_size)
    metrics = _scores("", truth, predict_classes(model, tokens, lengths))
    if "scratch_classifier" in state:
        metrics |= _scores(
            "scratch_", truth, predict_classes(classifier_from_state(state, "scratch_classifier"), tokens, lengths)
        )
    baseline = ngram_baseline(
        [r["text"] for r in train], np.array([int(r["label"]) for r in train]), [r["text"] for r in held],
        cfg.classifier.baseline_ngrams, cfg.evaluation.seed,  # the evaluation's seed, never the training seed
    )  # fmt: skip
    metrics |= _scores("ngram_", truth, baseline)
    metrics |= {"n_test": float(len(truth)), "params": float(state["params"]), "train_steps": float(state["steps"])}
    metrics["accuracy_gain_over_ngram"] = metrics["accuracy"] - metrics["ngram_accuracy"]
    texts = {"text_metrics.json": json.dumps({k: round(v, 6) for k, v in metrics.items()}, indent=2) + "\n"}
    return Evaluation(metrics, {}, extras={"texts": texts})
