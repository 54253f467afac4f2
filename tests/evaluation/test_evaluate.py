"""The evaluate step on the digits source: a perfect 'generator' scores at the real floor, noise is far off."""

import numpy as np
import pytest
import torch

from components.data import shards
from components.data.dataset import build_fashion_mnist
from components.evaluation.evaluate import evaluate_generator
from components.families import parse_config
from components.models.tensors import to_tensor
from tests.conftest import TINY


class ReplayGenerator(torch.nn.Module):
    """Returns real training images in latent order: a generator whose samples are real data."""

    input_names = ("z",)

    def __init__(self, images):
        super().__init__()
        self.register_buffer("images", to_tensor(images))
        self.latent_dim = 4
        self.cursor = 0

    def example_inputs(self, batch, seed=0):
        return (torch.randn(batch, self.latent_dim, generator=torch.Generator().manual_seed(seed)),)

    def forward(self, z):
        out = self.images[self.cursor : self.cursor + len(z)]
        self.cursor += len(z)
        return out


class NoiseGenerator(ReplayGenerator):
    def forward(self, z):
        return torch.rand(len(z), 1, 28, 28, generator=torch.Generator().manual_seed(len(z))) * 2 - 1


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, digits_source):
    root = tmp_path_factory.mktemp("eval")
    cfg = parse_config({**TINY, "data": {**TINY["data"], "source_dir": str(digits_source)}})
    path = build_fashion_mnist(root, cfg.data)
    return path, shards.dataset_md5(path), cfg, root / "cache"


@pytest.mark.slow
def test_real_images_score_like_the_floor_and_noise_does_not(dataset):
    path, md5, cfg, cache = dataset
    train, _ = shards.load_split(path, "train")
    real = evaluate_generator(ReplayGenerator(train[-200:]), path, md5, cfg, cache)
    noise = evaluate_generator(NoiseGenerator(train[:1]), path, md5, cfg, cache)
    assert real.metrics["fid"] < 3 * real.metrics["fid_real_floor"] + 1
    assert noise.metrics["fid"] > 10 * real.metrics["fid"]
    assert noise.metrics["c2st_auc"] > 0.95 and real.metrics["c2st_auc"] < 0.75
    assert real.metrics["fid_ci_low"] <= real.metrics["fid"] <= real.metrics["fid_ci_high"]
    assert real.metrics["eval_num_samples"] == 200
    assert 0.5 < real.metrics["evaluator_test_accuracy"] <= 1
    assert real.extras["evaluator_cached"] is False and noise.extras["evaluator_cached"] is True
    assert real.pictures["samples"].dtype == np.uint8 and real.roc[2] == real.metrics["c2st_auc"]


def test_the_evaluator_does_not_depend_on_what_ran_before(tmp_path):
    """Same data, config and seed → the same evaluator, whatever the process drew from torch's RNG before."""
    import torch

    from components.config import EvaluatorConfig
    from components.evaluation.features import load_or_train
    from tests.conftest import digits_28

    images, labels = digits_28()
    train, test = (images[:1000], labels[:1000]), (images[1000:], labels[1000:])
    cfg = EvaluatorConfig(epochs=1)
    a = load_or_train(tmp_path / "a", "md5", cfg, 0, train, test)
    torch.rand(12345)  # another step used the global RNG in between
    b = load_or_train(tmp_path / "b", "md5", cfg, 0, train, test)
    for (name, p), q in zip(a.model.state_dict().items(), b.model.state_dict().values(), strict=True):
        assert torch.equal(p, q), name
