import subprocess
import sys

import numpy as np
import pytest
import torch

from components.config import DCGANConfig
from components.export.onnx_export import export_onnx, parity
from components.models.dcgan import DCGANGenerator, init_weights
from components.serving import generate, generate_grid


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    g = DCGANGenerator(DCGANConfig(latent_dim=12, g_features=8)).eval()
    g.apply(init_weights)
    path = export_onnx(g, tmp_path_factory.mktemp("onnx") / "g.onnx", g.example_inputs(2), g.input_names)
    return g, path


@pytest.mark.parametrize("batch", [1, 7, 64])
def test_onnx_matches_torch_on_every_batch_size(exported, batch):
    g, path = exported
    assert parity(g, path, g.example_inputs(batch, seed=batch), g.input_names) < 1e-5


def test_serving_samples_are_seeded_images(exported):
    _, path = exported
    a, b, c = generate(path, 5, seed=1), generate(path, 5, seed=1), generate(path, 5, seed=2)
    assert a.shape == (5, 28, 28, 1) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert generate_grid(path, 16).shape == (2 + 4 * 30, 2 + 4 * 30)


def test_serving_path_never_imports_torch(exported):
    _, path = exported
    code = (
        f"import sys; from components.serving import generate_grid; generate_grid({str(path)!r}, 4); "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
