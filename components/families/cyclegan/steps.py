"""CycleGAN: unpaired style translation, Google Noto emoji (A) → Twitter Twemoji (B), and back.

Trained unpaired (each domain shuffled on its own); scored on held-out names, where the true counterpart is known:
L1 / PSNR / SSIM of G_AB(a) against the real b of the same name (and the reverse), cycle reconstruction, FID/KID in
the target domain, and a C2ST (real Twitter vs translated Google). Every score sits beside its identity baseline
(the untranslated input scored against the target): a translation is only useful where it beats doing nothing.

Feature network of FID/KID (evaluation.features):
  - inception (the default config's choice): the standard FID Inception (TF inception-2015-12-05, 2048-d pool3),
    ImageNet-trained on colour photos. Emoji are colour images with object content, which it encodes well; each
    64×64 image is bicubically upsampled to 299×299, as is standard for CIFAR-size FIDs. No domain network could be
    as neutral: one trained on these two styles would be scored by its own training data. With ~275 held-out images
    per domain, FID in 2048-d is strongly biased upwards (the covariance has rank < 275): compare FIDs only at equal
    N (eval_num_samples is logged), and read KID, which is unbiased, as the headline distance. Missing weights fail
    with the message that says to run `python -m components.evaluation.inception fetch` (no silent fallback: a
    changed feature space would make versions incomparable).
  - evaluator: a small Google-vs-Twitter style classifier trained on the train split, cached per data version. Fast
    and download-free (tests, smoke runs), but its numbers are comparable only with themselves.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import nn

from components.atomic import atomic_path
from components.data.shards import load_split
from components.evaluation import frechet
from components.evaluation.c2st import c2st
from components.evaluation.evaluate import cached_features
from components.evaluation.result import Evaluation
from components.families.base import EvalJob, TrainJob
from components.families.cyclegan.config import CycleGANPipelineConfig
from components.images import grid, to_uint8
from components.models.cyclegan import ResnetGenerator
from components.models.detector import DetectorCNN
from components.models.fitting import build_seeded, fit_classifier, predict
from components.models.tensors import to_tensor_rgb
from components.training.cyclegan_trainer import CycleGANTrainer, load_generators
from components.training.result import TrainResult

PANEL = 8  # held-out names in the translations picture
STYLE_EVALUATOR_VERSION = 2  # bump when the style classifier changes: part of its cache key
# v2: seeded initial weights from the evaluation seed (v1 took them from the process RNG and keyed on the training seed)


def train(cfg: CycleGANPipelineConfig, job: TrainJob) -> TrainResult:
    dataset_dir, checkpoint_dir = job.dataset_dir, job.checkpoint_dir
    on_log, on_epoch, resume = job.on_log, job.on_epoch, job.resume
    a, _ = load_split(dataset_dir, "google-train")  # labels (the names) are not read: training is unpaired
    b, _ = load_split(dataset_dir, "twitter-train")
    shown, _ = load_split(dataset_dir, "google-test", limit=PANEL)
    trainer = CycleGANTrainer(cfg, a, b, checkpoint_dir, on_log=on_log, on_epoch=on_epoch, sample_inputs=shown)
    return trainer.fit(resume=resume)


def load(checkpoint: str | Path) -> ResnetGenerator:
    """G_AB (Google → Twitter): the registered sampling graph, model.onnx."""
    return load_generators(checkpoint)[0]


def extra_graphs(checkpoint: str | Path) -> dict[str, nn.Module]:
    """G_BA (Twitter → Google), exported beside model.onnx as reverse.onnx."""
    return {"reverse": load_generators(checkpoint)[1]}


@torch.no_grad()
def translate(generator: nn.Module, images_uint8: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """uint8 (N, 64, 64, 3) → uint8 (N, 64, 64, 3): what a consumer gets (quantised like a saved PNG)."""
    generator.cpu().eval()
    out = predict(generator, to_tensor_rgb(images_uint8), batch_size=batch_size)
    return to_uint8(out)


def _paired_test(dataset_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Held-out A and B images in the same name order (labels = name indices): the pairing, for evaluation only."""
    a, la = load_split(dataset_dir, "google-test")
    b, lb = load_split(dataset_dir, "twitter-test")
    if not np.array_equal(la, lb):
        where = {int(label): i for i, label in enumerate(lb)}
        missing = [int(label) for label in la if int(label) not in where]
        if missing:
            raise ValueError(f"{dataset_dir}: google-test and twitter-test hold different names; rebuild the data")
        b = b[[where[int(label)] for label in la]]
    return a, b


# --- pixel metrics -------------------------------------------------------------------------------------------------


def _unit(images_uint8: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images_uint8)).permute(0, 3, 1, 2).double() / 255.0


def per_image_l1(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mean absolute difference per image, on the 0–1 scale."""
    return np.abs(x.astype(np.float64) - y.astype(np.float64)).mean(axis=(1, 2, 3)) / 255.0


def pixel_scores(x: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """L1, PSNR (dB) and SSIM of uint8 images against their true counterparts, averaged over images."""
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    p, t = _unit(x), _unit(target)
    psnr = peak_signal_noise_ratio(p, t, data_range=1.0, dim=(1, 2, 3), reduction="none")
    psnr = torch.clamp(psnr, max=100.0)  # an exact match is +inf: cap it so the mean stays finite
    ssim = structural_similarity_index_measure(p, t, data_range=1.0, reduction="none")
    return {"l1": float(per_image_l1(x, target).mean()), "psnr": float(psnr.mean()), "ssim": float(ssim.mean())}


def bootstrap_mean(values: np.ndarray, rounds: int, seed: int, level: float = 0.95) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    means = np.array([values[rng.integers(0, len(values), len(values))].mean() for _ in range(rounds)])
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


# --- feature network -----------------------------------------------------------------------------------------------


def _style_evaluator(
    cache_dir: Path, dataset_md5: str, cfg: CycleGANPipelineConfig, dataset_dir: Path
) -> tuple[str, Callable[[np.ndarray], np.ndarray]]:
    """A small CNN that tells Google from Twitter emoji, trained on the train split and cached per data version and
    evaluation config; its pooled penultimate layer is the feature space. Built and trained from the evaluation seed
    alone (never the run's training seed, never the process's RNG state): every version is scored in one space."""
    ev, seed = cfg.evaluation.evaluator, cfg.evaluation.seed
    blob = json.dumps(
        {"data": dataset_md5, "v": STYLE_EVALUATOR_VERSION, "cfg": ev.model_dump(), "seed": seed}, sort_keys=True
    )
    key = hashlib.sha256(blob.encode()).hexdigest()[:16]
    path = Path(cache_dir) / f"style-evaluator-{key}.pt"
    model = build_seeded(partial(DetectorCNN, channels=3), seed)
    if path.is_file():
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    else:
        a = load_split(dataset_dir, "google-train")[0][: ev.train_subset]
        b = load_split(dataset_dir, "twitter-train")[0][: ev.train_subset]
        x = torch.cat([to_tensor_rgb(a), to_tensor_rgb(b)])
        y = torch.cat([torch.zeros(len(a), dtype=torch.long), torch.ones(len(b), dtype=torch.long)])
        fit_classifier(model, x, y, ev.epochs, ev.batch_size, ev.lr, seed=seed, label="style-evaluator")
        with atomic_path(path) as tmp:
            torch.save(model.state_dict(), tmp)
    features = model.eval().net[:-1]  # up to the pooled, flattened (B, 64) vector

    def extract(images_uint8: np.ndarray) -> np.ndarray:
        return predict(features, to_tensor_rgb(images_uint8), batch_size=256)

    return path.stem, extract


def feature_extractor(
    cfg: CycleGANPipelineConfig, cache_dir: Path, dataset_md5: str, dataset_dir: Path
) -> tuple[str, Callable[[np.ndarray], np.ndarray]]:
    if cfg.evaluation.features == "inception":
        from components.evaluation.inception import FEATURES_ID, InceptionFeatures

        # <state>/inception: the folder `python -m components.evaluation.inception fetch` fills by default.
        return FEATURES_ID, InceptionFeatures.following(Path(cache_dir).parent / "inception", cfg.train.device).features
    return _style_evaluator(cache_dir, dataset_md5, cfg, dataset_dir)


# --- the evaluate step ---------------------------------------------------------------------------------------------


def evaluate(model: nn.Module, cfg: CycleGANPipelineConfig, job: EvalJob) -> Evaluation:
    checkpoint, dataset_dir, dataset_md5, cache_dir = job.checkpoint, job.dataset_dir, job.dataset_md5, job.cache_dir
    ev = cfg.evaluation
    g_ab, g_ba = model, load_generators(checkpoint)[1]
    real_a, real_b = _paired_test(dataset_dir)
    n = min(ev.num_samples, len(real_a))
    real_a, real_b = real_a[:n], real_b[:n]

    fake_b, fake_a = translate(g_ab, real_a), translate(g_ba, real_b)
    # Cycles in float, as in training; the reconstruction is quantised like any output.
    with torch.no_grad():
        rec_a = to_uint8(predict(lambda x: g_ba(g_ab(x)), to_tensor_rgb(real_a), batch_size=64))
        rec_b = to_uint8(predict(lambda x: g_ab(g_ba(x)), to_tensor_rgb(real_b), batch_size=64))

    metrics: dict[str, float] = {"eval_num_samples": float(n)}
    for direction, output, source, target in (("ab", fake_b, real_a, real_b), ("ba", fake_a, real_b, real_a)):
        for name, value in pixel_scores(output, target).items():
            metrics[f"{name}_{direction}"] = value
        for name, value in pixel_scores(source, target).items():
            metrics[f"{name}_{direction}_identity"] = value
        metrics[f"l1_{direction}_gain"] = metrics[f"l1_{direction}_identity"] - metrics[f"l1_{direction}"]
    # Every seed below is the evaluation's (ev.seed) or a constant, never the run's training seed (cfg.seed).
    l1_ci = bootstrap_mean(per_image_l1(fake_b, real_b), ev.bootstrap, ev.seed)
    metrics["l1_ab_ci_low"], metrics["l1_ab_ci_high"] = l1_ci
    metrics["cycle_l1_a"] = float(per_image_l1(rec_a, real_a).mean())
    metrics["cycle_l1_b"] = float(per_image_l1(rec_b, real_b).mean())

    # FID/KID in each target domain; the identity baseline is the untranslated input against the same reference.
    extractor_id, extract = feature_extractor(cfg, cache_dir, dataset_md5, dataset_dir)
    f_a = cached_features(cache_dir, extractor_id, extract, "google-test", real_a)
    f_b = cached_features(cache_dir, extractor_id, extract, "twitter-test", real_b)
    f_fake_b, f_fake_a = extract(fake_b), extract(fake_a)
    metrics["fid_b"], metrics["kid_b"] = frechet.fid(f_b, f_fake_b), frechet.kid(f_b, f_fake_b)
    metrics["fid_a"], metrics["kid_a"] = frechet.fid(f_a, f_fake_a), frechet.kid(f_a, f_fake_a)
    metrics["fid_b_identity"] = metrics["fid_a_identity"] = frechet.fid(f_b, f_a)  # symmetric: one number
    metrics["kid_b_identity"] = metrics["kid_a_identity"] = frechet.kid(f_b, f_a)
    metrics["kid_b_gain"] = metrics["kid_b_identity"] - metrics["kid_b"]
    kid_ci = frechet.bootstrap_kid(f_b, f_fake_b, rounds=ev.bootstrap, seed=ev.seed)
    metrics["kid_b_ci_low"], metrics["kid_b_ci_high"] = kid_ci
    # The floor: real Twitter images of other names (n train images, fixed) against the held-out reference.
    train_b = load_split(dataset_dir, "twitter-train")[0]
    floor_idx = np.sort(np.random.default_rng(0).choice(len(train_b), min(n, len(train_b)), replace=False))
    f_floor = cached_features(cache_dir, extractor_id, extract, "twitter-train", train_b[floor_idx])
    metrics["fid_b_real_floor"], metrics["kid_b_real_floor"] = frechet.fid(f_b, f_floor), frechet.kid(f_b, f_floor)

    # C2ST: real held-out Twitter vs translated Google (both quantised), beside real Twitter vs untranslated Google.
    m = min(ev.c2st.num_samples, n)
    detection = c2st(to_tensor_rgb(real_b[:m]), to_tensor_rgb(fake_b[:m]), epochs=ev.c2st.epochs, seed=ev.seed)
    baseline = c2st(to_tensor_rgb(real_b[:m]), to_tensor_rgb(real_a[:m]), epochs=ev.c2st.epochs, seed=ev.seed)
    metrics |= {
        "c2st_auc": detection.auc,
        "c2st_accuracy": detection.accuracy,
        "c2st_p_value": detection.p_value,
        "c2st_auc_identity": baseline.auc,
        "c2st_auc_gain": baseline.auc - detection.auc,  # > 0: translations pass for Twitter better than the inputs
        "c2st_num_test": float(detection.n_test),
    }

    k = min(PANEL, n)
    # Rows: Google input / G_AB output / true Twitter, then Twitter input / G_BA output / true Google.
    panel = grid(np.concatenate([real_a[:k], fake_b[:k], real_b[:k], real_b[:k], fake_a[:k], real_a[:k]]), ncol=k)
    return Evaluation(
        metrics,
        {"l1_ab": l1_ci, "kid_b": kid_ci},
        # "samples" is the picture the report and the run summary show for every generator: here the translations.
        pictures={"translations": panel, "samples": panel},  # the report shows samples.png only once
        roc=(detection.fpr, detection.tpr, detection.auc, "Real Twitter vs translated Google: C2ST detector, ROC"),
    )
