"""The conditional GAN: shapes, label dependence, a golden slice, and ONNX parity with the class names on board."""

import json

import numpy as np
import onnx
import pytest
import torch

from components.config import CGANConfig
from components.export.onnx_export import export_onnx, parity
from components.models.cgan import CGANDiscriminator, CGANGenerator
from components.models.dcgan import init_weights
from components.serving import classes, generate, generate_grid, session

CFG = CGANConfig(latent_dim=10, g_features=8, d_features=8, num_classes=3, embed_dim=4)


def _seeded(cls, *args, **kwargs):
    torch.manual_seed(0)  # before construction: the embeddings keep their default N(0, 1) init
    module = cls(*args, **kwargs)
    module.apply(init_weights)
    return module.eval()


def test_shapes_and_the_label_changes_the_image():
    g, d = _seeded(CGANGenerator, CFG), _seeded(CGANDiscriminator, CFG)
    z, labels = g.example_inputs(6)
    assert labels.tolist() == [0, 1, 2, 0, 1, 2] and labels.dtype == torch.int64
    x = g(z, labels)
    assert x.shape == (6, 1, 28, 28) and x.abs().max() <= 1
    assert d(x, labels).shape == (6,)
    same_z = z[:1].repeat(3, 1)
    images = g(same_z, torch.arange(3))
    assert not torch.allclose(images[0], images[1]) and not torch.allclose(images[1], images[2])
    # The projection discriminator's verdict depends on the label it is told, too.
    one = x[:1].repeat(3, 1, 1, 1)
    assert not torch.equal(d(one, torch.arange(3)), d(one, torch.zeros(3, dtype=torch.long)))


def test_golden_slice():
    """Seeded init + seeded inputs give these exact pixels; a change here changes every registered cGAN."""
    g = _seeded(CGANGenerator, CFG)
    with torch.no_grad():
        pixels = g(*g.example_inputs(2, seed=0))[1, 0, 13, 10:16]
    assert torch.allclose(pixels, torch.tensor(GOLDEN), rtol=1e-4, atol=1e-9), pixels.tolist()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    g = _seeded(CGANGenerator, CFG, classes=["circle", "square", "star"])
    path = export_onnx(
        g, tmp_path_factory.mktemp("cgan") / "g.onnx", g.example_inputs(2), g.input_names, metadata=g.onnx_metadata
    )
    return g, path


@pytest.mark.parametrize("batch", [1, 5, 33])
def test_onnx_matches_torch_for_latents_and_labels(exported, batch):
    g, path = exported
    assert parity(g, path, g.example_inputs(batch, seed=batch), g.input_names) < 1e-5


def test_onnx_carries_the_class_names_and_serving_checks_labels(exported):
    _, path = exported
    assert json.loads({p.key: p.value for p in onnx.load(str(path)).metadata_props}["genforge.classes"]) == [
        "circle",
        "square",
        "star",
    ]
    assert classes(session(path)) == ["circle", "square", "star"]
    twos = generate(path, 4, seed=1, labels=np.full(4, 2))
    assert twos.shape == (4, 28, 28, 1) and np.array_equal(twos, generate(path, 4, seed=1, labels=np.full(4, 2)))
    assert not np.array_equal(twos, generate(path, 4, seed=1, labels=np.zeros(4)))
    with pytest.raises(ValueError, match="class label 3 does not exist; choose one of 0=circle, 1=square, 2=star"):
        generate(path, 2, labels=np.array([0, 3]))
    with pytest.raises(ValueError, match="conditional generator: give the class labels"):
        generate(path, 2)
    # Default grid: one row per class, ceil(n / classes) samples each: 8 → 3 per row, 3 rows of 28 + 2 padding.
    assert generate_grid(path, 8).shape == (2 + 3 * 30, 2 + 3 * 30)
    assert generate_grid(path, 4, label=1).shape == (2 + 2 * 30, 2 + 2 * 30)


GOLDEN = [-3.038374e-04, -6.218466e-04, -8.109884e-04, -1.100059e-03, 9.159851e-04, -6.114824e-04]
