"""The AIGC detector: a CNN that tells real images from generated ones.

Trained on real images and samples of several checkpoints of a registered generator (its per-epoch snapshots,
of rising quality, the final one being the registered champion), with blur / JPEG / resize corruptions so it
cannot lean on trivial artefacts (Wang et al., CVPR 2020). Scored by average precision and AUC in distribution
(held-out images of the training generators) and across generators (a checkpoint it never saw in training).
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFilter
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from components import checkpoints
from components.data.shards import load_split
from components.errors import UserError
from components.evaluation.evaluate import sample
from components.evaluation.result import Evaluation
from components.families.base import EvalJob, TrainJob
from components.families.detector.config import AugmentConfig, DetectorPipelineConfig
from components.images import grid, to_uint8
from components.models.detector import DetectorCNN, DetectorProbability
from components.models.fitting import fit_classifier, predict
from components.models.tensors import to_tensor
from components.refs import SourcesRef
from components.training.result import TrainResult


class SourceTooShortError(UserError, ValueError):
    """The source generator has too few checkpoints to train on some and test on another."""


@dataclass(frozen=True)
class SourceSplit:
    """The generator snapshots a detector trains on (all but the second-to-last; the last is the registered
    version itself, the generator it must catch) and the one it is tested on and never sees: the hardest held-out
    generator, closest in quality to the champion."""

    model: str
    version: str
    run_id: str
    train: tuple[str, ...]
    held_out: str

    @classmethod
    def of(cls, sources: SourcesRef) -> SourceSplit:
        snapshots = sources.snapshots
        if len(snapshots) < 2:
            raise SourceTooShortError(
                f"{sources.model} v{sources.version} left {len(snapshots)} epoch checkpoint(s); a detector needs at "
                "least 2 (it trains on some and is tested on one it never saw): train the generator for 2+ epochs"
            )
        return cls(sources.model, sources.version, sources.run_id, (*snapshots[:-2], snapshots[-1]), snapshots[-2])


@dataclass
class DetectorData:
    x_train: np.ndarray  # uint8 (N, S, S), augmented
    y_train: np.ndarray  # 1 = generated
    x_test: np.ndarray  # held-out images of the same sources, clean
    y_test: np.ndarray
    x_cross: np.ndarray  # real test images + samples of the held-out generator, clean
    y_cross: np.ndarray


def augment(images: np.ndarray, cfg: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """Each image independently: Gaussian blur, JPEG re-encoding and down-up resizing, each with its probability."""
    out = np.empty_like(images)
    for i, image in enumerate(images):
        picture = Image.fromarray(image)
        if rng.random() < cfg.blur:
            picture = picture.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.2, 1.0))))
        if rng.random() < cfg.jpeg:
            buffer = io.BytesIO()
            picture.save(buffer, format="JPEG", quality=int(rng.integers(30, 96)))
            picture = Image.open(io.BytesIO(buffer.getvalue())).convert("L")
        if rng.random() < cfg.resize:
            side = int(rng.integers(14, 25))
            picture = picture.resize((side, side), Image.BICUBIC).resize(images.shape[1:][::-1], Image.BICUBIC)
        out[i] = np.asarray(picture)
    return out


def _samples(checkpoint: str, n: int, seed: int) -> np.ndarray:
    """n grey images from a registered generator's snapshot, whatever its family (the checkpoint names it)."""
    from components.families import get

    images = sample(get(checkpoints.load(checkpoint, "cpu")["family"]).load(checkpoint), n, seed=seed)
    return to_uint8(images.numpy())[..., 0]  # (n, S, S)


def build_data(cfg: DetectorPipelineConfig, dataset_dir: Path, sources: SourceSplit) -> DetectorData:
    """Deterministic in (config, sources): train and evaluate steps rebuild exactly the same sets."""
    t = cfg.train
    real = load_split(dataset_dir, "train")[0][: t.real_samples]
    fakes = [_samples(path, t.samples_per_source, seed=1000 + i) for i, path in enumerate(sources.train)]
    x = np.concatenate([real, *fakes])
    y = np.concatenate([np.zeros(len(real), np.int64), np.ones(sum(len(f) for f in fakes), np.int64)])
    order = np.random.default_rng(cfg.seed).permutation(len(x))
    n_test = int(len(x) * t.test_fraction)
    test, train = order[:n_test], order[n_test:]
    x_train = augment(x[train], t.augment, np.random.default_rng(cfg.seed + 1))

    real_test = load_split(dataset_dir, "test")[0][: max(n_test // 2, 1)]
    held_out = _samples(sources.held_out, len(real_test), seed=4242)
    x_cross = np.concatenate([real_test, held_out])
    y_cross = np.concatenate([np.zeros(len(real_test), np.int64), np.ones(len(held_out), np.int64)])
    return DetectorData(x_train, y[train], x[test], y[test], x_cross, y_cross)


def train(cfg: DetectorPipelineConfig, job: TrainJob) -> TrainResult:
    """Detector training is a few epochs long: `resume` restarts it (no mid-run checkpoints)."""
    dataset_dir, checkpoint_dir, sources = job.dataset_dir, job.checkpoint_dir, SourceSplit.of(job.sources)
    on_log = job.on_log
    started = time.perf_counter()
    torch.set_num_threads(cfg.train.num_threads)
    data = build_data(cfg, dataset_dir, sources)
    cnn = DetectorCNN(width=cfg.model.width)
    history: list[dict] = []

    def log(row: dict) -> None:
        history.append(row)
        on_log(row)

    t = cfg.train
    fit_classifier(
        cnn,
        to_tensor(data.x_train),
        torch.from_numpy(data.y_train),
        t.epochs,
        t.batch_size,
        t.lr,
        seed=cfg.seed,
        label="detector",
        on_epoch=log,
        lr_field="train.lr",
    )
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    path = checkpoint_dir / "last.pt"
    state = {
        "config": cfg.model_dump(mode="json"),
        "family": "detector",
        "detector": cnn.state_dict(),
        "image_size": int(data.x_train.shape[-1]),
        "sources": {
            "model": sources.model,
            "version": sources.version,
            "train": list(sources.train),
            "held_out": sources.held_out,
            "run_id": sources.run_id,
        },
        "history": history,
    }
    checkpoints.save(path, state)
    steps = t.epochs * -(-len(data.x_train) // t.batch_size)
    return TrainResult(path, t.epochs, steps, time.perf_counter() - started, history)


def load(checkpoint: str | Path) -> DetectorProbability:
    state = checkpoints.load(checkpoint, "cpu")
    cfg = DetectorPipelineConfig.model_validate(state["config"])
    cnn = DetectorCNN(width=cfg.model.width)
    cnn.load_state_dict(state["detector"])
    return DetectorProbability(cnn, state.get("image_size", 28)).eval()  # checkpoints before faces: 28


def _scores(model: DetectorProbability, images: np.ndarray) -> np.ndarray:
    return predict(model, to_tensor(images))


def evaluate(model: DetectorProbability, cfg: DetectorPipelineConfig, job: EvalJob) -> Evaluation:
    checkpoint, dataset_dir = job.checkpoint, job.dataset_dir
    recorded = checkpoints.load(checkpoint, "cpu")["sources"]
    sources = SourceSplit(
        recorded["model"], recorded["version"], recorded["run_id"], tuple(recorded["train"]), recorded["held_out"]
    )
    data = build_data(cfg, dataset_dir, sources)
    p_in, p_cross = _scores(model, data.x_test), _scores(model, data.x_cross)
    fpr, tpr, _ = roc_curve(data.y_cross, p_cross)
    metrics = {
        "ap_in": float(average_precision_score(data.y_test, p_in)),
        "auc_in": float(roc_auc_score(data.y_test, p_in)),
        "accuracy_in": float(((p_in > 0.5) == data.y_test).mean()),
        "ap_cross": float(average_precision_score(data.y_cross, p_cross)),
        "auc_cross": float(roc_auc_score(data.y_cross, p_cross)),
        "accuracy_cross": float(((p_cross > 0.5) == data.y_cross).mean()),
        "n_test_in": float(len(data.y_test)),
        "n_test_cross": float(len(data.y_cross)),
        "source_checkpoints": float(len(sources.train)),
    }
    # Picture: the held-out generator's images the detector finds most and least "generated", beside real ones.
    fake = data.x_cross[data.y_cross == 1]
    ranked = np.argsort(p_cross[data.y_cross == 1])
    panel = np.concatenate([data.x_cross[data.y_cross == 0][:16], fake[ranked[-16:]], fake[ranked[:16]]])
    title = f"{sources.model} v{sources.version}, {Path(sources.held_out).stem} (never seen in training): ROC"
    return Evaluation(
        metrics, {}, pictures={"examples": grid(panel, ncol=16)}, roc=(fpr, tpr, metrics["auc_cross"], title)
    )
