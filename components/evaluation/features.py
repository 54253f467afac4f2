"""The evaluator feature network: trained once per data version and evaluation config, cached on disk, loaded
everywhere else. It depends on the evaluation seed (cfg.evaluation.seed) only, never on a run's training seed: two
runs that differ only in `seed` are scored in one feature space."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from components.atomic import atomic_path
from components.config import EvaluatorConfig
from components.models.evaluator import EVALUATOR_VERSION, EvaluatorCNN
from components.models.fitting import build_seeded, fit_classifier, predict
from components.models.tensors import pick_device, to_tensor


@dataclass
class Evaluator:
    model: EvaluatorCNN
    test_accuracy: float
    path: Path
    cached: bool

    def features(self, images: torch.Tensor) -> np.ndarray:
        """images (N, 1, 28, 28) in [-1, 1] → (N, 128) float64."""
        return predict(self.model.features, images)

    def classify(self, images: torch.Tensor) -> np.ndarray:
        return predict(self.model, images).argmax(axis=1)


def cache_key(dataset_md5: str, cfg: EvaluatorConfig, seed: int) -> str:
    """Short sha256 of what the evaluator's weights depend on: data version, architecture, settings and `seed`, the
    evaluation seed (cfg.evaluation.seed)."""
    blob = json.dumps(
        {"data": dataset_md5, "arch": EVALUATOR_VERSION, "cfg": cfg.model_dump(), "seed": seed}, sort_keys=True
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def load_or_train(
    cache_dir: Path,
    dataset_md5: str,
    cfg: EvaluatorConfig,
    seed: int,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
) -> Evaluator:
    """Reuse the evaluator of this data version and settings; train (and cache atomically) only when there is none.

    `seed` is the evaluation seed (cfg.evaluation.seed), never a run's training seed. Building and training run on
    their own seeded RNG (build_seeded, fit_classifier): the weights neither depend on nor change the process's RNG.
    """
    path = Path(cache_dir) / f"evaluator-{cache_key(dataset_md5, cfg, seed)}.pt"
    model = build_seeded(EvaluatorCNN, seed)  # initial weights from `seed` alone, whatever ran before
    if path.is_file():
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state["weights"])
        return Evaluator(model.to(pick_device()).eval(), float(state["test_accuracy"]), path, cached=True)
    images, labels = train
    x, y = to_tensor(images[: cfg.train_subset]), torch.from_numpy(labels[: cfg.train_subset].astype(np.int64))
    fit_classifier(model, x, y, cfg.epochs, cfg.batch_size, cfg.lr, seed=seed, label="evaluator")
    evaluator = Evaluator(model, 0.0, path, cached=False)
    evaluator.test_accuracy = float((evaluator.classify(to_tensor(test[0])) == test[1]).mean())
    with atomic_path(path) as tmp:  # never a half-written cache entry, also with two sweep children writing it
        torch.save({"weights": model.state_dict(), "test_accuracy": evaluator.test_accuracy}, tmp)
    return evaluator
