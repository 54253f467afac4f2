"""Conditional accuracy and per-class distances against known answers: a "generator" that returns real images of
the asked class scores the evaluator's own test accuracy; one that returns the next class's images scores ~0."""

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from components.data.shards import write_dataset
from components.evaluation.conditional import conditional_accuracy, per_class_distances
from components.families import parse_config
from components.families.base import EvalJob
from components.families.cgan import steps as cgan
from tests.conftest import digits_28


class RealImages(nn.Module):
    """Returns the real test images of class (label + shift) % 10: shift 0 is a perfect conditional generator."""

    input_names = ("z", "labels")
    num_classes = 10

    def __init__(self, images: np.ndarray, labels: np.ndarray, shift: int = 0):
        super().__init__()
        self.bank = [torch.from_numpy(images[labels == c]).float().div(127.5).sub(1).unsqueeze(1) for c in range(10)]
        self.shift = shift

    def example_inputs(self, batch: int, seed: int = 0):
        return torch.zeros(batch, 2), torch.arange(batch) % 10

    def forward(self, z, labels):
        counts = [0] * 10
        out = []
        for c in ((labels + self.shift) % 10).tolist():
            out.append(self.bank[c][counts[c] % len(self.bank[c])])
            counts[c] += 1
        return torch.stack(out)


@pytest.fixture(scope="module")
def digits_dataset(tmp_path_factory):
    images, labels = digits_28()
    order = np.random.default_rng(0).permutation(len(images))  # the digits are ordered by writer: mix them
    images, labels = images[order], labels[order]
    folder = tmp_path_factory.mktemp("digits") / "data"
    splits = {"train": (images[:1400], labels[:1400]), "test": (images[1400:], labels[1400:])}
    return write_dataset(folder, splits, 1000, {"classes": [str(i) for i in range(10)]}), images[1400:], labels[1400:]


CFG = parse_config(
    {
        "family": "cgan",
        "evaluation": {
            "num_samples": 397,
            "bootstrap": 10,
            "evaluator": {"epochs": 3},
            "c2st": {"num_samples": 100, "epochs": 1},
        },
    }
)


def test_accuracy_on_real_images_with_their_labels_is_the_classifier_accuracy():
    accuracy, per_class = conditional_accuracy(np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]), 4)
    assert accuracy == 0.75
    assert per_class[:3].tolist() == [1.0, 1.0, 0.5] and np.isnan(per_class[3])


def test_identical_class_features_give_zero_per_class_distance():
    rng = np.random.default_rng(0)
    f, labels = rng.normal(size=(300, 4)), np.repeat([0, 1, 2], 100)
    dist = per_class_distances(f, labels, f, labels, 3)
    assert np.allclose(dist["fid"], 0, atol=1e-6)
    moved = per_class_distances(f, labels, f + np.array([3.0, 0, 0, 0]), labels, 3)
    assert np.allclose(moved["fid"], 9.0, atol=1e-3)  # a mean shift of 3 along one axis: FID = 3² exactly
    assert (moved["kid"] > dist["kid"] + 0.5).all()


def test_a_generator_of_real_images_scores_the_evaluator_accuracy(digits_dataset, tmp_path):
    folder, images, labels = digits_dataset
    perfect = cgan.evaluate(RealImages(images, labels), CFG, EvalJob(Path(""), folder, "digits", tmp_path))
    wrong = cgan.evaluate(RealImages(images, labels, shift=1), CFG, EvalJob(Path(""), folder, "digits", tmp_path))
    m = perfect.metrics
    ceiling = m["conditional_accuracy_ceiling"]
    assert ceiling == m["evaluator_test_accuracy"] > 0.8
    # The perfect generator's images are the test images, asked for in balanced order: accuracy ≈ the ceiling.
    assert abs(m["conditional_accuracy"] - ceiling) < 0.05, (m["conditional_accuracy"], ceiling)
    assert wrong.metrics["conditional_accuracy"] < 0.15  # the evaluator sees the class it got, not the one asked
    assert m["intra_fid"] < 0.5 * wrong.metrics["intra_fid"]
    assert set(f"fid_class_{c}" for c in range(10)) <= set(m) and perfect.pictures["samples"].shape == (302, 302)
