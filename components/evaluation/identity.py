"""Identity leakage: does a face generator reproduce the people it was trained on?

An identity-embedding network is fitted on the training people only (NormFace: a cosine-softmax classifier, Wang et
al. 2017, "NormFace: L2 hypersphere embedding for face verification"; the embedding is its L2-normalised penultimate
layer). Each training person gets a centroid (the normalised mean embedding of their fitting photos). A face
*matches* a training person when its cosine similarity to that person's centroid exceeds a threshold, and the
threshold is set where real photos of people the generator never saw match at the declared false-accept rate:

- fit:        photos 1–7 of each training person (the rest are never shown to the network);
- calibrate:  the threshold is the (1 − far) quantile of the unseen people's best similarities, so `far_measured` ≈
              `far` (measured on the same photos: with 80 of them, one photo is 1.25 points);
- ceiling:    `tar`, the share of photos 8–10 of the training people above the threshold: what a generator that
              returns unseen photos of its training people would score.

`identity_match_rate` of a generator then lies between the floor (far: it makes new people) and the ceiling (tar:
it reproduces its training people). Fitted once per data version and settings, cached on disk atomically.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from components.atomic import atomic_path
from components.models.fitting import build_seeded, fit_classifier, predict
from components.models.tensors import to_tensor

ARCH_VERSION = "identity-normface-v1"
FIT_PHOTOS = 7  # of each person's photos (in order), for fitting; the rest measure the ceiling
EMBEDDING = 128
SCALE = 16.0  # NormFace's scale of the cosine logits


class IdentityNet(nn.Module):
    """(N, 1, S, S) in [-1, 1] → logits over the training people; `embed` → (N, 128) unit vectors."""

    def __init__(self, people: int):
        super().__init__()

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)]

        self.trunk = nn.Sequential(
            *block(1, 16), *block(16, 32), *block(32, 64), *block(64, 128),  # S/16 × S/16
            nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(512, EMBEDDING),
        )  # fmt: skip
        self.classes = nn.Parameter(torch.randn(people, EMBEDDING) * 0.1)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.trunk(x), dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return SCALE * self.embed(x) @ nn.functional.normalize(self.classes, dim=1).T


@dataclass
class IdentityGate:
    net: IdentityNet
    centroids: np.ndarray  # (people, 128) unit vectors
    people: list[int]  # person id of each centroid
    threshold: float  # cosine similarity above which a face is that training person's
    far: float  # declared false-accept rate
    far_measured: float  # share of the unseen people's photos above the threshold
    tar: float  # share of the training people's held-back photos (8–10) above the threshold
    key: str


def embed(gate: IdentityGate, images_uint8: np.ndarray) -> np.ndarray:
    """uint8 faces (N, S, S) → (N, 128) unit embeddings, float64."""
    return predict(gate.net.embed, to_tensor(images_uint8), batch_size=256)


def best_similarity(gate: IdentityGate, images_uint8: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each face's highest cosine similarity to a training person's centroid, and that person's id."""
    sims = embed(gate, images_uint8) @ gate.centroids.T
    return sims.max(axis=1), np.asarray(gate.people)[sims.argmax(axis=1)]


def match_rate(gate: IdentityGate, images_uint8: np.ndarray) -> float:
    """Share of faces that match some training person (similarity above the calibrated threshold)."""
    return float((best_similarity(gate, images_uint8)[0] > gate.threshold).mean())


def _photo_index(labels: np.ndarray) -> np.ndarray:
    """0-based photo number of every row within its person (rows are ordered person, then photo)."""
    index = np.zeros(len(labels), dtype=np.int64)
    seen: dict[int, int] = {}
    for i, person in enumerate(labels.tolist()):
        index[i] = seen.get(person, 0)
        seen[person] = index[i] + 1
    return index


def _augmented(x: torch.Tensor, seed: int, copies: int = 2) -> torch.Tensor:
    """x, its mirror image and `copies` random shifts of up to 4 pixels (a face seen a little off-centre is the same
    person): the fitting set grows 2 + copies times."""
    rng = torch.Generator().manual_seed(seed)
    out = [x, x.flip(3)]
    pad = nn.functional.pad(x, (4, 4, 4, 4), mode="replicate")
    size = x.shape[-1]
    for _ in range(copies):
        dy, dx = torch.randint(0, 9, (2,), generator=rng).tolist()
        out.append(pad[..., dy : dy + size, dx : dx + size])
    return torch.cat(out)


def cache_key(dataset_md5: str, far: float, seed: int, epochs: int) -> str:
    blob = json.dumps({"data": dataset_md5, "arch": ARCH_VERSION, "far": far, "seed": seed, "epochs": epochs})
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _gate(net, train_x, train_y, unseen, far, key) -> IdentityGate:
    photo = _photo_index(train_y)
    fit = photo < FIT_PHOTOS
    people = sorted(set(train_y.tolist()))
    emb = predict(net.embed, to_tensor(train_x[fit]), batch_size=256)
    labels = train_y[fit]
    centroids = np.stack([emb[labels == p].mean(axis=0) for p in people])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    gate = IdentityGate(net, centroids, people, 0.0, far, 0.0, 0.0, key)
    unseen_best = best_similarity(gate, unseen)[0]
    gate.threshold = float(np.quantile(unseen_best, 1 - far, method="higher"))
    gate.far_measured = float((unseen_best > gate.threshold).mean())
    gate.tar = match_rate(gate, train_x[~fit])
    return gate


def load_or_fit(
    cache_dir: Path,
    dataset_md5: str,
    train_x: np.ndarray,
    train_y: np.ndarray,
    unseen: np.ndarray,
    far: float = 0.05,
    seed: int = 0,
    epochs: int = 30,
) -> IdentityGate:
    """The identity gate of this data version and settings: the network is fitted (on photos 1–7 of every training
    person) and cached on the first call; centroids and threshold are recomputed from it (cheap, deterministic)."""
    people = sorted(set(train_y.tolist()))
    key = cache_key(dataset_md5, far, seed, epochs)
    path = Path(cache_dir) / f"identity-{key}.pt"
    net = build_seeded(lambda: IdentityNet(len(people)), seed)
    if path.is_file():
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return _gate(net.eval(), train_x, train_y, unseen, far, key)
    fit = _photo_index(train_y) < FIT_PHOTOS
    x = _augmented(to_tensor(train_x[fit]), seed)
    index = {p: i for i, p in enumerate(people)}
    y = torch.tensor([index[p] for p in train_y[fit].tolist()], dtype=torch.int64).repeat(len(x) // int(fit.sum()))
    fit_classifier(net, x, y, epochs, batch_size=64, lr=1e-3, seed=seed, label="identity network")
    with atomic_path(path) as tmp:  # never a half-written cache entry
        torch.save(net.state_dict(), tmp)
    return _gate(net.eval(), train_x, train_y, unseen, far, key)
