"""The evaluate step for image generators: FID/KID with intervals and the real floor, precision/recall/density/
coverage, memorisation (authenticity and copies of training images), and the real/fake C2ST."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from components.atomic import atomic_path
from components.config import PipelineConfig
from components.data.shards import load_split
from components.evaluation import frechet
from components.evaluation.c2st import c2st
from components.evaluation.features import Evaluator, load_or_train
from components.evaluation.memorisation import authenticity, closest_pairs_panel, duplicates
from components.evaluation.prdc import prdc
from components.evaluation.result import Evaluation
from components.images import grid, to_uint8
from components.models.tensors import to_tensor

EVAL_LATENT_SEED = 20_240  # fixed latents: every version of a model is scored on the same z


@torch.no_grad()
def sample(generator: torch.nn.Module, n: int, seed: int = EVAL_LATENT_SEED) -> torch.Tensor:
    """n images (N, C, H, W) in [-1, 1] from the fixed evaluation latents, on the CPU."""
    generator.cpu().eval()
    inputs = generator.example_inputs(n, seed=seed)  # (z,) or, for a conditional generator, (z, labels)
    batches = [generator(*(x[i : i + 500] for x in inputs)) for i in range(0, n, 500)]
    return torch.cat(batches).float()


Extractor = Callable[[np.ndarray], np.ndarray]  # uint8 images (N, 28, 28) → float64 features (N, d)


def cached_features(
    cache_dir: Path, extractor_id: str, extract: Extractor, name: str, images: np.ndarray
) -> np.ndarray:
    """Features of a fixed real split, cached per (extractor, split, content) so every version reuses them."""
    digest = hashlib.md5(images.tobytes()).hexdigest()[:12]
    path = Path(cache_dir) / f"features-{extractor_id}-{name}-{digest}.npy"
    if path.is_file():
        return np.load(path)
    feats = extract(images)
    with atomic_path(path) as tmp, open(tmp, "wb") as out:
        np.save(out, feats)
    return feats


def feature_extractor(
    features: str, evaluator: Evaluator, cache_dir: Path, device: str = "auto"
) -> tuple[str, Extractor]:
    """The feature space of FID/KID/PRDC: the domain evaluator (fast default) or the standard FID Inception (on the
    GPU when `device` picks one)."""
    if features == "inception":
        from components.evaluation.inception import FEATURES_ID, InceptionFeatures

        # <state>/inception: the folder `python -m components.evaluation.inception fetch` fills by default.
        return FEATURES_ID, InceptionFeatures.following(Path(cache_dir).parent / "inception", device).features
    return evaluator.path.stem, lambda images: evaluator.features(to_tensor(images))


def evaluate_generator(
    generator: torch.nn.Module, dataset_dir: Path, dataset_md5: str, cfg: PipelineConfig, cache_dir: Path
) -> Evaluation:
    ev = cfg.evaluation
    train = load_split(dataset_dir, "train")
    test = load_split(dataset_dir, "test")
    # Every seed below is the evaluation's (ev.seed) or a constant, never the run's training seed (cfg.seed): every
    # version of a model is scored by the same evaluator, latents, reference images, bootstraps and C2ST detector.
    evaluator = load_or_train(cache_dir, dataset_md5, ev.evaluator, ev.seed, train, test)

    n = min(ev.num_samples, len(test[0]))
    # The reference split is fixed per data version: the first n test images; the floor uses n fixed train images.
    real_ref = test[0][:n]
    floor_idx = np.random.default_rng(0).choice(len(train[0]), n, replace=False)
    extractor_id, extract = feature_extractor(ev.features, evaluator, cache_dir, cfg.train.device)
    f_ref = cached_features(cache_dir, extractor_id, extract, "test", real_ref)
    f_floor = cached_features(cache_dir, extractor_id, extract, "train", train[0][floor_idx])

    fake = sample(generator, n)
    fake_uint8 = to_uint8(fake.numpy())[..., 0]  # the same uint8 path as the real images: no resize/scale drift
    f_fake = extract(fake_uint8)

    fid = frechet.fid(f_ref, f_fake)
    fid_ci = frechet.bootstrap_fid(f_ref, f_fake, rounds=ev.bootstrap, seed=ev.seed)
    kid = frechet.kid(f_ref, f_fake)
    kid_ci = frechet.bootstrap_kid(f_ref, f_fake, rounds=ev.bootstrap, seed=ev.seed)
    floor_fid = frechet.fid(f_ref, f_floor)
    floor_kid = frechet.kid(f_ref, f_floor)

    m = min(ev.c2st.num_samples, n)
    detection = c2st(to_tensor(real_ref[:m]), fake[:m], epochs=ev.c2st.epochs, seed=ev.seed)

    quality = prdc(f_ref, f_fake, k=ev.prdc_k)
    floor_quality = prdc(f_ref, f_floor, k=ev.prdc_k)
    # Memorisation: authenticity against the whole training split in the evaluator's space (Inception features
    # of 60k images would take half an hour here), copies in pixel space.
    evaluator_id, evaluator_extract = feature_extractor("evaluator", evaluator, cache_dir)
    f_train = cached_features(cache_dir, evaluator_id, evaluator_extract, "train-all", train[0])
    e_fake = f_fake if ev.features == "evaluator" else evaluator_extract(fake_uint8)
    e_ref = (
        f_ref
        if ev.features == "evaluator"
        else cached_features(cache_dir, evaluator_id, evaluator_extract, "test", real_ref)
    )
    authentic = authenticity(f_train, e_fake, seed=ev.seed)
    copies = duplicates(train[0], fake_uint8, near_threshold=ev.near_threshold)
    held_out = authenticity(f_train, e_ref, seed=ev.seed)  # real test images: the baseline to read it against

    metrics = {
        "fid": fid,
        "fid_ci_low": fid_ci[0],
        "fid_ci_high": fid_ci[1],
        "kid": kid,
        "kid_ci_low": kid_ci[0],
        "kid_ci_high": kid_ci[1],
        "fid_real_floor": floor_fid,
        "kid_real_floor": floor_kid,
        "c2st_auc": detection.auc,
        "c2st_accuracy": detection.accuracy,
        "c2st_p_value": detection.p_value,
        "eval_num_samples": float(n),
        "c2st_num_test": float(detection.n_test),
        "evaluator_test_accuracy": evaluator.test_accuracy,
        **quality,
        **{f"{k}_real_floor": v for k, v in floor_quality.items()},
        "memorised_fraction": authentic["memorised_fraction"],
        "memorised_fraction_real_floor": held_out["memorised_fraction"],
        "exact_copy_fraction": copies["exact_fraction"],
        "near_copy_fraction": copies["near_fraction"],
    }
    return Evaluation(
        metrics,
        {"fid": fid_ci, "kid": kid_ci},
        pictures={
            "samples": grid(to_uint8(fake[:64].numpy())),
            "memorisation": closest_pairs_panel(fake_uint8, train[0], copies["closest_pairs"], n=16),
        },
        roc=(detection.fpr, detection.tpr, detection.auc, "Real vs generated: C2ST detector, held-out ROC"),
        # For families that add their own metrics on the same samples (a cGAN's conditional accuracy):
        extras={
            "evaluator_cached": evaluator.cached,
            "evaluator": evaluator,
            "samples": fake,
            "f_samples": f_fake,
            "f_ref": f_ref,
            "ref_labels": test[1][:n],
            "f_floor": f_floor,
            "floor_labels": train[1][floor_idx],
        },
    )
