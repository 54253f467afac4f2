"""Promotion compares like with like: an evaluation depends on the data version and the evaluation config only —
never on the run's training seed (cfg.seed), never on what the process drew from torch's RNG before."""

import ast
import inspect
import textwrap
from functools import partial

import numpy as np
import pytest
import torch

from components import families
from components.data import shards
from components.data.dataset import build_fashion_mnist
from components.evaluation.evaluate import evaluate_generator
from components.families import parse_config
from components.families.base import EvalJob, TrainJob
from components.models.dcgan import DCGANGenerator
from components.models.fitting import build_seeded
from tests.conftest import TINY
from tests.emoji_source import shape_rgba, twitter_style

pytestmark = pytest.mark.slow  # trains networks for tens of seconds


@pytest.fixture(scope="module")
def digits(tmp_path_factory, digits_source):
    root = tmp_path_factory.mktemp("eval-seed")
    cfg = parse_config({**TINY, "data": {**TINY["data"], "source_dir": str(digits_source)}})
    path = build_fashion_mnist(root, cfg.data)
    return path, shards.dataset_md5(path)


def _config(seed: int, evaluation_seed: int = 0):
    """TINY with this training seed and this evaluation seed."""
    return parse_config({**TINY, "seed": seed, "evaluation": {**TINY["evaluation"], "seed": evaluation_seed}})


def _dcgan(cfg) -> DCGANGenerator:
    return build_seeded(partial(DCGANGenerator, cfg.model), 0)  # the same weights for every config


def test_two_run_seeds_are_scored_by_one_evaluator(digits, tmp_path):
    path, md5 = digits
    cache = tmp_path / "cache"
    first = evaluate_generator(_dcgan(_config(0)), path, md5, _config(0), cache)
    torch.rand(1000)  # the process drew something in between
    second = evaluate_generator(_dcgan(_config(7)), path, md5, _config(7), cache)
    assert first.extras["evaluator_cached"] is False and second.extras["evaluator_cached"] is True
    assert second.extras["evaluator"].path == first.extras["evaluator"].path
    assert sorted(cache.glob("evaluator-*.pt")) == [first.extras["evaluator"].path]
    assert second.metrics["fid_real_floor"] == first.metrics["fid_real_floor"]
    assert second.metrics["evaluator_test_accuracy"] == first.metrics["evaluator_test_accuracy"]
    assert second.metrics == first.metrics  # the same weights, the same scores: every one of them, exactly

    # The evaluation's own seed is the knob: another one trains another evaluator.
    other = evaluate_generator(_dcgan(_config(0)), path, md5, _config(0, evaluation_seed=1), cache)
    assert other.extras["evaluator_cached"] is False
    assert other.extras["evaluator"].path != first.extras["evaluator"].path


def _emoji_dataset(root, n_train=16, n_test=12):
    """A tiny google2twitter dataset: seeded shapes in the Google style and the same names in the Twitter style."""
    rgba = np.stack([shape_rgba(i) for i in range(n_train + n_test)])
    alpha = rgba[..., 3:].astype(np.uint32)

    def on_white(x):
        return ((x[..., :3].astype(np.uint32) * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)

    a, b = on_white(rgba), on_white(twitter_style(rgba))
    names = np.arange(len(a), dtype=np.int64)
    splits = {
        "google-train": (a[:n_train], names[:n_train]),
        "twitter-train": (b[:n_train][::-1].copy(), names[:n_train][::-1].copy()),
        "google-test": (a[n_train:], names[n_train:]),
        "twitter-test": (b[n_train:], names[n_train:]),
    }
    return shards.write_dataset(root / "emoji", splits, shard_size=100, meta={"names": [str(i) for i in names]})


def _trained(family: str, cfg, dataset_dir, checkpoint_dir):
    """The checkpoint after one training step."""
    return families.get(family).train(cfg, TrainJob(dataset_dir, checkpoint_dir)).checkpoint


FAMILY_CONFIGS = {
    "dcgan": {},
    "cgan": {"family": "cgan", "model": {"latent_dim": 8, "g_features": 8, "d_features": 8, "embed_dim": 4}},
    "vae": {"family": "vae", "model": {"latent_dim": 4, "features": 4}, "repair": {"num_images": 12, "steps": 2}},
    "cyclegan": {
        "family": "cyclegan",
        "dataset": "emoji-google2twitter",
        "data": {},
        "model": {"g_features": 4, "d_features": 4, "res_blocks": 1},
        "evaluation": {"features": "evaluator", "num_samples": 12, "c2st": {"num_samples": 20, "epochs": 1}},
    },
}


@pytest.mark.parametrize("family", list(FAMILY_CONFIGS))
def test_the_evaluate_step_ignores_the_training_seed(family, digits, tmp_path):
    """The same weights evaluated under configs that differ only in `seed`, each with a fresh cache (every
    evaluation network is trained twice) and another global RNG state: the same metrics, exactly."""
    extra = FAMILY_CONFIGS[family]
    if family == "cyclegan":
        dataset_dir = _emoji_dataset(tmp_path)
        md5 = shards.dataset_md5(dataset_dir)
    else:
        dataset_dir, md5 = digits

    def config(seed):
        evaluation = {**TINY["evaluation"], **extra.get("evaluation", {})}
        train = {**TINY["train"], "max_steps": 1, "num_threads": 1}
        data = extra.get("data", TINY["data"])
        return parse_config({**TINY, **extra, "seed": seed, "train": train, "evaluation": evaluation, "data": data})

    family_ = families.get(family)
    checkpoint = _trained(family, config(0), dataset_dir, tmp_path / "checkpoint")
    torch.manual_seed(1)
    first = family_.evaluate(config(0), EvalJob(checkpoint, dataset_dir, md5, tmp_path / "cache-0"))
    torch.rand(1000)
    second = family_.evaluate(config(5), EvalJob(checkpoint, dataset_dir, md5, tmp_path / "cache-5"))
    assert first.metrics == second.metrics
    assert first.ci == second.ci


def _reads_the_training_seed(function) -> list[int]:
    """Lines of `function` that read `cfg.seed` (comments and docstrings do not count)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "seed"
        and isinstance(node.value, ast.Name)
        and node.value.id == "cfg"
    ]


def test_no_evaluate_step_reads_the_training_seed():
    """A guard for code added later: every evaluation seed comes from cfg.evaluation. (The detector's evaluate
    rebuilds its training split with the training seed in build_data, on purpose: it must hold out what training
    held out.)"""
    from components.families.cgan import steps as cgan
    from components.families.cyclegan import steps as cyclegan
    from components.families.detector import steps as detector
    from components.families.gpt import classifier
    from components.families.gpt import steps as gpt
    from components.families.vae import steps as vae

    steps = [families.get(f).evaluate for f in families.FAMILIES]
    steps += [m.evaluate for m in (cgan, vae, cyclegan, gpt, detector)]
    steps += [evaluate_generator, cyclegan._style_evaluator, classifier.evaluate_classifier, gpt.continue_batch]
    assert {f.__qualname__: _reads_the_training_seed(f) for f in steps} == {f.__qualname__: [] for f in steps}
