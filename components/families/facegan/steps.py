"""What each pipeline step does for the face GAN: train with DiffAugment, load the generator, evaluate quality
against people it never saw and the identity leakage towards the people it trained on."""

from __future__ import annotations

import io
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: files only
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from components.data.shards import load_split  # noqa: E402
from components.evaluation import frechet, identity  # noqa: E402
from components.evaluation.c2st import c2st  # noqa: E402
from components.evaluation.evaluate import Extractor, cached_features, sample  # noqa: E402
from components.evaluation.memorisation import closest_pairs_panel, duplicates  # noqa: E402
from components.evaluation.result import Evaluation  # noqa: E402
from components.families.base import EvalJob, TrainJob  # noqa: E402
from components.families.facegan.config import FaceGANPipelineConfig  # noqa: E402
from components.families.facegan.trainer import FaceGANTrainer, load_generator  # noqa: E402
from components.images import grid, to_uint8  # noqa: E402
from components.models.tensors import to_tensor  # noqa: E402
from components.training.result import TrainResult  # noqa: E402

FLOOR_SEED = 0  # which training photos form the real floor: fixed per data version


def train(cfg: FaceGANPipelineConfig, job: TrainJob) -> TrainResult:
    images, _ = load_split(job.dataset_dir, "train")
    trainer = FaceGANTrainer(cfg, images, job.checkpoint_dir, on_log=job.on_log, on_epoch=job.on_epoch)
    return trainer.fit(resume=job.resume)


def load(checkpoint: str | Path) -> torch.nn.Module:
    return load_generator(checkpoint)


def gate_of(cfg: FaceGANPipelineConfig, dataset_dir: Path, dataset_md5: str, cache_dir: Path) -> identity.IdentityGate:
    """The identity network and its threshold for this data version (fitted once, cached)."""
    train_x, train_y = load_split(dataset_dir, "train")
    unseen = load_split(dataset_dir, "test")[0]
    p = cfg.privacy
    return identity.load_or_fit(
        cache_dir, dataset_md5, train_x, train_y, unseen, far=p.far, seed=cfg.evaluation.seed, epochs=p.identity_epochs
    )


def extractor(cfg: FaceGANPipelineConfig, gate: identity.IdentityGate, cache_dir: Path) -> tuple[str, Extractor]:
    """KID/FID's feature space: the standard Inception network, or the identity network's embedding."""
    if cfg.evaluation.features == "inception":
        from components.evaluation.inception import FEATURES_ID, InceptionFeatures

        return FEATURES_ID, InceptionFeatures.following(Path(cache_dir).parent / "inception", cfg.train.device).features
    return f"identity-{gate.key}", lambda images: identity.embed(gate, images).astype(np.float64)


def curve_picture(rows: list[dict]) -> np.ndarray:
    """KID (left axis) and identity match rate (right axis) of every snapshot, against the epoch: where the
    generator gets better, and where it starts to reproduce the people it trained on."""
    fig, left = plt.subplots(figsize=(6.5, 3.6))
    epochs = [r["epoch"] for r in rows]
    left.plot(epochs, [r["kid"] for r in rows], "o-", color="tab:blue", label="KID (held-out people)")
    left.set_xlabel("epoch")
    left.set_ylabel("KID", color="tab:blue")
    right = left.twinx()
    right.plot(epochs, [r["identity_match_rate"] for r in rows], "s-", color="tab:red", label="identity match rate")
    right.axhline(rows[0]["far"], color="tab:red", ls=":", lw=1, label="floor (FAR: novel faces)")
    right.axhline(rows[0]["tar"], color="tab:red", ls="--", lw=1, label="ceiling (TAR: training people)")
    right.set_ylabel("identity match rate", color="tab:red")
    right.set_ylim(0, 1)
    fig.legend(loc="upper center", ncol=2, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.86))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return np.asarray(Image.open(buffer).convert("RGB"))


def _kid_and_rate(generator, n, extract, f_ref, gate) -> tuple[float, float, np.ndarray, np.ndarray]:
    fake = sample(generator, n)
    fake_uint8 = to_uint8(fake.numpy())[..., 0]
    features = extract(fake_uint8)
    return frechet.kid(f_ref, features), identity.match_rate(gate, fake_uint8), fake, features


def evaluate(model: torch.nn.Module, cfg: FaceGANPipelineConfig, job: EvalJob) -> Evaluation:
    ev = cfg.evaluation
    train_x, _ = load_split(job.dataset_dir, "train")
    test_x, _ = load_split(job.dataset_dir, "test")  # the held-out people: never seen by the generator
    gate = gate_of(cfg, job.dataset_dir, job.dataset_md5, job.cache_dir)
    extractor_id, extract = extractor(cfg, gate, job.cache_dir)
    f_ref = cached_features(job.cache_dir, extractor_id, extract, "test", test_x)
    # The floor: as many photos of the training people, against the held-out people (what a perfect generator of
    # new people scores at this N).
    floor_idx = np.sort(np.random.default_rng(FLOOR_SEED).choice(len(train_x), len(test_x), replace=False))
    f_floor = cached_features(job.cache_dir, extractor_id, extract, "train-floor", train_x[floor_idx])

    n = ev.num_samples
    kid, rate, fake, f_fake = _kid_and_rate(model, n, extract, f_ref, gate)
    fake_uint8 = to_uint8(fake.numpy())[..., 0]
    kid_ci = frechet.bootstrap_kid(f_ref, f_fake, rounds=ev.bootstrap, seed=ev.seed)
    fid = frechet.fid(f_ref, f_fake)
    fid_ci = frechet.bootstrap_fid(f_ref, f_fake, rounds=ev.bootstrap, seed=ev.seed)
    m = min(n, len(test_x))
    detection = c2st(to_tensor(test_x[:m]), fake[:m], epochs=ev.c2st_epochs, seed=ev.seed)
    copies = duplicates(train_x, fake_uint8, near_threshold=ev.near_threshold)
    metrics = {
        "kid": kid,
        "kid_ci_low": kid_ci[0],
        "kid_ci_high": kid_ci[1],
        "kid_real_floor": frechet.kid(f_ref, f_floor),
        "fid": fid,
        "fid_ci_low": fid_ci[0],
        "fid_ci_high": fid_ci[1],
        "fid_real_floor": frechet.fid(f_ref, f_floor),
        "c2st_auc": detection.auc,
        "c2st_accuracy": detection.accuracy,
        "c2st_num_test": float(detection.n_test),
        "eval_num_samples": float(n),
        "identity_match_rate": rate,
        "identity_match_rate_real_floor": gate.far_measured,  # unseen people's real photos: novel faces
        "identity_match_ceiling": gate.tar,  # held-out photos of the training people
        "identity_far": gate.far,
        "exact_copy_fraction": copies["exact_fraction"],
        "near_copy_fraction": copies["near_fraction"],
    }
    pictures = {
        "samples": grid(fake_uint8[:64]),
        "nearest_training_faces": closest_pairs_panel(fake_uint8, train_x, copies["closest_pairs"], n=16),
    }
    texts = {}
    if ev.curve:
        rows = []
        for snapshot in sorted(Path(job.checkpoint).parent.glob("epoch_*.pt")):
            kid_s, rate_s, _, _ = _kid_and_rate(load_generator(snapshot), n, extract, f_ref, gate)
            epoch = int(snapshot.stem.split("_")[1])
            rows.append({"epoch": epoch, "kid": kid_s, "identity_match_rate": rate_s, "far": gate.far_measured,
                         "tar": gate.tar})  # fmt: skip
        if rows:
            pictures["privacy_quality_curve"] = curve_picture(rows)
            texts["privacy_quality_curve.json"] = json.dumps(rows, indent=1) + "\n"
    return Evaluation(
        metrics,
        {"kid": kid_ci, "fid": fid_ci},
        pictures=pictures,
        roc=(detection.fpr, detection.tpr, detection.auc, "Held-out people vs generated faces: C2ST detector, ROC"),
        extras={"texts": texts},
    )
