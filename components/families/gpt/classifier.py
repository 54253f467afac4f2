"""GPT, classification half (dataset sentiment-zh): a GPT trunk, pretrained or pulled from the registry, with a class
head, fine-tuned with cross-entropy; scored by accuracy and macro F1 against the same head on a from-scratch trunk
and a bag-of-character-n-grams logistic regression.
components/families/gpt/steps.py dispatches here for `task: classify`.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from components import checkpoints
from components.evaluation.result import Evaluation
from components.families.base import TrainJob
from components.families.gpt.config import GPTPipelineConfig
from components.models.gpt import GPTClassifier, GPTConfig
from components.serving_text import encode_labelled
from components.text.tokenizer import BPETokenizer
from components.training.lm_trainer import LMTrainer
from components.training.result import TrainResult


class ClassifierTrainer(LMTrainer):
    """Fine-tune trunk + head with cross-entropy on seeded random batches of labelled texts (the LM recipe's
    optimiser and schedule, on the shared loop); one weight snapshot, the final weights."""

    rate_key = "examples_per_s"

    def __init__(self, model: GPTClassifier, tokens: np.ndarray, lengths: np.ndarray, labels: np.ndarray, *args,
                 **kwargs):  # fmt: skip
        super().__init__(model, *args, **kwargs)
        self.rate_key = f"{self.prefix}examples_per_s"
        self.x, self.n, self.y = torch.from_numpy(tokens), torch.from_numpy(lengths), torch.from_numpy(labels)

    def epoch_ends(self) -> list[int]:
        return [self.t.max_steps]

    def units_per_step(self) -> int:
        return self.t.batch_size // self.world

    def batch_loss(self) -> torch.Tensor:
        ix = self.local(torch.randint(len(self.x), (self.t.batch_size,), generator=self.gen))
        width = int(self.n[ix].max())
        return F.cross_entropy(self.model(self.x[ix, :width], self.n[ix]), self.y[ix])


def classifier_from_state(
    state: dict, key: str = "classifier", cls: type[GPTClassifier] = GPTClassifier
) -> GPTClassifier:
    model = cls(GPTConfig(**state["gpt_config"]), state["n_classes"], state["pooling"], state["class_names"])
    model.load_state_dict(state[key])
    return model.eval()


def train_classifier(cfg: GPTPipelineConfig, job: TrainJob, base: dict | None, tokenizer_json: str,
                     gpt_config: GPTConfig, started: float) -> TrainResult:  # fmt: skip
    from components.data.text_dataset import load_records

    records = load_records(job.dataset_dir, "train")
    classes = json.loads((Path(job.dataset_dir) / "meta.json").read_text()).get("classes") or sorted(
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

    def snapshot(step: int) -> dict:  # what a later fine-tune of this classifier would pull
        return {**common, "classifier": model.state_dict()}

    data = (tokens, lengths, labels, cfg.train, cfg.seed, common["config"], job.checkpoint_dir, job.on_log)
    run = ClassifierTrainer(model, *data, snapshot).fit(job.resume)
    state = {**common, "classifier": model.state_dict(), "history": run.history}
    if base is not None:
        sources = job.sources
        state["sources"] = {"model": sources.model, "version": sources.version, "run_id": sources.run_id}
        if cfg.train.compare_scratch:
            scratch = build()
            ClassifierTrainer(scratch, *data, prefix="scratch_").fit(job.resume)
            state["scratch_classifier"] = scratch.state_dict()
    path = job.checkpoint_dir / "last.pt"
    checkpoints.save(path, state)
    return TrainResult(path, run.epochs_done, run.steps, time.perf_counter() - started, run.history)


def predict_classes(model: GPTClassifier, tokens: np.ndarray, lengths: np.ndarray, batch: int = 256) -> np.ndarray:
    """Predicted labels, in batches, on the device the model is on."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    with torch.no_grad():
        for i in range(0, len(tokens), batch):
            n = torch.from_numpy(lengths[i : i + batch])
            x = torch.from_numpy(tokens[i : i + batch, : int(n.max())])
            out.append(model(x.to(device), n.to(device)).argmax(dim=1).cpu().numpy())
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
    """Accuracy and macro F1 on the held-out reviews (and of the from-scratch twin), beside the n-gram baseline;
    the networks run on the device `model` is on."""
    from components.data.text_dataset import load_records

    device = next(model.parameters()).device
    tokenizer = BPETokenizer.from_str(state["tokenizer"])
    train, held = load_records(dataset_dir, "train"), load_records(dataset_dir, "held_out")
    truth = np.array([int(r["label"]) for r in held], dtype=np.int64)
    tokens, lengths = encode_labelled(tokenizer, [r["text"] for r in held], model.block_size)
    metrics = _scores("", truth, predict_classes(model, tokens, lengths))
    if "scratch_classifier" in state:
        metrics |= _scores(
            "scratch_",
            truth,
            predict_classes(classifier_from_state(state, "scratch_classifier").to(device), tokens, lengths),
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
