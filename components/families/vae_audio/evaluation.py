"""Scoring the speech VAE: held-out ELBO per second, reconstruction log-spectral distance, FID/KID in the
embedding of a language classifier trained on the real clips (with the real floor), a C2ST on spectrograms,
memorisation (the nearest training clip), and WAVs people can listen to."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from components import audio
from components.atomic import atomic_path
from components.evaluation.c2st import c2st
from components.evaluation.frechet import bootstrap_fid, bootstrap_kid, fid, kid
from components.evaluation.latent import active_units
from components.evaluation.memorisation import authenticity
from components.metrics import CI_HIGH, CI_LOW, SAMPLE_SIZE
from components.models.fitting import build_seeded, fit_classifier, predict
from components.models.tensors import pick_device

from .model import CENTRE, SPREAD, AudioVAE, nats_per_second

EVALUATOR_VERSION = 1  # bump when the network or its training changes: part of its cache key
ELBO_SEED = 31_337  # fixed ε of the held-out ELBO estimate
ELBO_SAMPLES = 4


class SpeechEvaluatorCNN(nn.Module):
    """Spectrogram (B, 1, 128, 128), normalised → language logits; `features` is the 128-d FID/KID space."""

    num_features = 128

    def __init__(self, num_classes: int):
        super().__init__()
        layers: list[nn.Module] = []
        channels = 1
        for width in (16, 32, 64, 64):  # 128 → 64 → 32 → 16 → 8
            layers += [nn.Conv2d(channels, width, 3, 2, 1), nn.BatchNorm2d(width), nn.ReLU()]
            channels = width
        self.body = nn.Sequential(
            *layers,
            nn.AdaptiveAvgPool2d((4, 1)),  # (B, 64, 4, 1): four frequency bands, pooled over time
            nn.Flatten(),
            nn.Linear(64 * 4, self.num_features),
            nn.BatchNorm1d(self.num_features, affine=False),
        )
        self.head = nn.Sequential(nn.ReLU(), nn.Dropout(0.2), nn.Linear(self.num_features, num_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def normalised(spectrograms: np.ndarray) -> torch.Tensor:
    """Raw log-magnitudes (N, bins, frames) → (N, 1, bins, frames), ≈ [-1, 1]: what the classifiers see."""
    return ((torch.from_numpy(np.asarray(spectrograms, np.float32)) - CENTRE) / SPREAD).unsqueeze(1)


@dataclass
class SpeechEvaluator:
    model: SpeechEvaluatorCNN
    test_accuracy: float
    path: Path

    def features(self, spectrograms: np.ndarray) -> np.ndarray:
        return predict(self.model.features, normalised(spectrograms), batch_size=256)


def load_or_train_evaluator(
    cache_dir: Path, dataset_md5: str, epochs: int, seed: int, train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray], classes: int,
) -> SpeechEvaluator:  # fmt: skip
    """The language classifier of this data version and settings: trained once (seeded), cached atomically."""
    blob = json.dumps({"data": dataset_md5, "arch": EVALUATOR_VERSION, "epochs": epochs, "seed": seed}, sort_keys=True)
    path = Path(cache_dir) / f"speech-evaluator-{hashlib.sha256(blob.encode()).hexdigest()[:16]}.pt"
    model = build_seeded(lambda: SpeechEvaluatorCNN(classes), seed)
    if path.is_file():
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state["weights"])
        return SpeechEvaluator(model.to(pick_device()).eval(), float(state["test_accuracy"]), path)
    x, y = normalised(train[0]), torch.from_numpy(train[1].astype(np.int64))
    fit_classifier(model, x, y, epochs, 32, 1e-3, seed=seed, label="speech evaluator")
    model.eval()
    accuracy = float((predict(model, normalised(test[0])).argmax(axis=1) == test[1]).mean())
    with atomic_path(path) as tmp:
        torch.save({"weights": {k: v.cpu() for k, v in model.state_dict().items()}, "test_accuracy": accuracy}, tmp)
    return SpeechEvaluator(model, accuracy, path)


@torch.no_grad()
def heldout_terms(vae: AudioVAE, x: np.ndarray, batch: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """Per clip: (−E_q log p(x | z), KL) in nats, E_q over ELBO_SAMPLES draws of a fixed noise."""
    noise = torch.Generator().manual_seed(ELBO_SEED)
    device = next(vae.parameters()).device
    recon, kl = [], []
    for i in range(0, len(x), batch):
        chunk = torch.from_numpy(x[i : i + batch]).to(device)
        eps = [torch.randn(len(chunk), vae.decoder.latent_dim, generator=noise) for _ in range(ELBO_SAMPLES)]
        r = sum(vae.terms(chunk, eps=e.to(device))[0] for e in eps) / ELBO_SAMPLES
        recon.append(r.cpu().numpy())
        kl.append(vae.terms(chunk, eps=eps[0].to(device))[1].cpu().numpy())
    return np.concatenate(recon).astype(np.float64), np.concatenate(kl).astype(np.float64)


@torch.no_grad()
def posterior_means(vae: AudioVAE, x: np.ndarray, batch: int = 256) -> np.ndarray:
    device = next(vae.parameters()).device
    chunks = (torch.from_numpy(x[i : i + batch]).to(device) for i in range(0, len(x), batch))
    return np.concatenate([vae.encoder.split(chunk)[0].cpu().numpy() for chunk in chunks])


@torch.no_grad()
def decode(vae: AudioVAE, z: np.ndarray, batch: int = 256) -> np.ndarray:
    device = next(vae.parameters()).device
    return np.concatenate(
        [vae.decoder(torch.from_numpy(z[i : i + batch]).to(device)).cpu().numpy() for i in range(0, len(z), batch)]
    ).astype(np.float32)


def sample_scores(
    evaluator: SpeechEvaluator, reference: np.ndarray, candidates: np.ndarray, bootstrap: int, seed: int
) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """FID and KID of candidate spectrograms against the reference clips, in the evaluator's embedding, with
    bootstrap intervals over the candidates."""
    real, fake = evaluator.features(reference), evaluator.features(candidates)
    metrics = {"fid": fid(real, fake), "kid": kid(real, fake)}
    ci = {
        "fid": bootstrap_fid(real, fake, bootstrap, seed=seed),
        "kid": bootstrap_kid(real, fake, bootstrap, seed=seed),
    }
    return metrics, ci


def nearest_clip_ratio(train: np.ndarray, candidates: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """Memorisation in spectrogram space: the median distance of each candidate to its nearest training clip, over
    the same median for held-out real clips (≈ 1 for new speech of the same kind; → 0 for copies), and the share of
    candidates inside a training clip's own nearest-neighbour ball (Alaa et al. 2022)."""
    flat = lambda x: np.asarray(x, np.float32).reshape(len(x), -1)  # noqa: E731
    fake = authenticity(flat(train), flat(candidates))
    real = authenticity(flat(train), flat(reference))
    return {
        "memorised_fraction": fake["memorised_fraction"],
        "nearest_train_distance_ratio": fake["median_distance"] / max(real["median_distance"], 1e-12),
        "exact_copy_fraction": float((fake["distance"] < 1e-3).mean()),
        "_nearest": fake["nearest_train"],
    }


def evaluate(vae: AudioVAE, cfg, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray],
             names: list[str], dataset_md5: str, cache_dir: Path) -> tuple[dict, dict, dict, dict]:  # fmt: skip
    """(metrics, intervals, pictures, media) of a trained VAE on spectrogram splits (N, 128, 128)."""
    from components.families.vae_audio.trainer import as_picture
    from components.images import grid, to_uint8

    e = cfg.evaluation
    train_x, test_x = train[0], test[0]

    recon_nats, kl = heldout_terms(vae, test_x)
    neg = recon_nats + kl
    mean = float(neg.mean())
    half = float(1.96 * neg.std(ddof=1) / np.sqrt(len(neg))) if len(neg) > 1 else 0.0
    means = posterior_means(vae, test_x)
    reconstructions = decode(vae, means)
    metrics: dict[str, float] = {
        "heldout_nats_per_second": nats_per_second(mean),
        "heldout_neg_elbo_nats": mean,
        "heldout_recon_nats": float(recon_nats.mean()),
        "kl_nats": float(kl.mean()),
        "active_units": float(active_units(means)),
        "recon_lsd_db": float(audio.log_spectral_distance(test_x, reconstructions).mean()),
    }
    ci = {"heldout_nats_per_second": (nats_per_second(mean - half), nats_per_second(mean + half))}

    z = np.random.default_rng(e.seed).standard_normal((e.num_samples, vae.decoder.latent_dim)).astype(np.float32)
    samples = decode(vae, z)
    classes = int(max(train[1].max(), test[1].max())) + 1
    evaluator = load_or_train_evaluator(cache_dir, dataset_md5, e.evaluator_epochs, e.seed, train, test, classes)
    scores, intervals = sample_scores(evaluator, test_x, samples, e.bootstrap, e.seed)
    floor_idx = np.random.default_rng(0).choice(len(train_x), min(len(train_x), e.num_samples), replace=False)
    floor, _ = sample_scores(evaluator, test_x, train_x[floor_idx], 10, e.seed)
    metrics |= scores | {"fid_real_floor": floor["fid"], "kid_real_floor": floor["kid"]}
    metrics["evaluator_test_accuracy"] = evaluator.test_accuracy
    ci |= intervals

    n = min(len(test_x), len(samples))
    detection = c2st(normalised(test_x[:n]), normalised(samples[:n]), epochs=e.c2st_epochs, seed=e.seed)
    metrics |= {"c2st_auc": detection.auc, "c2st_accuracy": detection.accuracy, "c2st_p_value": detection.p_value}
    memory = nearest_clip_ratio(train_x, samples, test_x[:n])
    nearest = memory.pop("_nearest")
    metrics |= memory
    metrics |= {SAMPLE_SIZE: float(len(samples)), "heldout_clips": float(len(test_x))}
    for name, (low, high) in ci.items():  # the stores' spelling of an interval (components/metrics.py)
        metrics |= {name + CI_LOW: low, name + CI_HIGH: high}

    k = min(8, len(test_x))
    pictures = {
        "spectrograms": grid(to_uint8(as_picture(samples[:16])), ncol=4),
        "reconstructions": grid(to_uint8(as_picture(np.concatenate([test_x[:k], reconstructions[:k]]))), ncol=k),
        "nearest_training_clips": grid(
            to_uint8(as_picture(np.concatenate([samples[:k], train_x[nearest[:k]]]))), ncol=k
        ),
    }
    media = {}
    for i in range(min(e.wav_samples, len(samples))):
        media[f"audio/sample_{i:02d}.wav"] = audio.wav_bytes(audio.to_waveform(samples[i][None])[0])
    for i in range(min(e.wav_samples // 2, len(test_x))):
        # The held-out clip through the same Griffin-Lim as the samples: what a perfect model would sound like here.
        media[f"audio/heldout_{i:02d}_{Path(names[i]).stem}.wav"] = audio.wav_bytes(
            audio.to_waveform(test_x[i][None])[0]
        )
        media[f"audio/heldout_{i:02d}_reconstruction.wav"] = audio.wav_bytes(
            audio.to_waveform(reconstructions[i][None])[0]
        )
    return metrics, ci, pictures, media
