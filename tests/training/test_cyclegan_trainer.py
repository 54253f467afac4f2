import numpy as np
import pytest
import torch

from components import checkpoints
from components.families import parse_config
from components.training.cyclegan_trainer import CycleGANTrainer, _permutation, load_generators
from tests.emoji_source import shape_rgba, twitter_style

SMALL = {
    "family": "cyclegan",
    "model": {"g_features": 4, "d_features": 4, "res_blocks": 1},
    "train": {"batch_size": 4, "log_every": 1},
}


def _domains(n=8):
    """n composited shapes in the Google style and the same n, in another order, in the Twitter style."""
    rgba = np.stack([shape_rgba(i) for i in range(n)])
    alpha = rgba[..., 3:].astype(np.uint32)

    def on_white(x):
        return ((x[..., :3].astype(np.uint32) * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)

    return on_white(rgba), on_white(twitter_style(rgba))[::-1].copy()


def _cfg(**train):
    return parse_config({**SMALL, "train": {**SMALL["train"], **train}})


class Crash(Exception):
    pass


@pytest.mark.slow
def test_losses_go_down_on_tiny_data(tmp_path):
    a, b = _domains()
    result = CycleGANTrainer(_cfg(epochs=8, lr=3e-3, decay_from=1.0), a, b, tmp_path).fit()
    rows = result.history
    assert len(rows) == 16 and all(np.isfinite(r["g_loss"]) and r["img_per_s"] > 0 for r in rows)
    first = np.mean([r["cycle"] + r["identity"] for r in rows[:3]])
    last = np.mean([r["cycle"] + r["identity"] for r in rows[-3:]])
    assert last < 0.4 * first, (first, last)  # measured: 2.8 → 0.49


@pytest.mark.slow
def test_resumed_run_matches_an_uninterrupted_one(tmp_path):
    """Killed in its second epoch, resumed from the epoch-1 checkpoint: the same weights and the same log."""
    a, b = _domains()
    cfg = _cfg(epochs=2)  # 8 images / 4 = 2 steps per epoch
    straight = CycleGANTrainer(cfg, a, b, tmp_path / "straight").fit()

    def crash_at_3(row):
        if row["step"] == 3:
            raise Crash

    with pytest.raises(Crash):
        CycleGANTrainer(cfg, a, b, tmp_path / "resumed", on_log=crash_at_3).fit()
    assert checkpoints.load(tmp_path / "resumed" / "last.pt")["step"] == 2
    resumed = CycleGANTrainer(cfg, a, b, tmp_path / "resumed").fit(resume=True)

    assert resumed.steps == straight.steps == 4
    assert [r["g_loss"] for r in resumed.history] == [r["g_loss"] for r in straight.history]
    for x, y in zip(load_generators(straight.checkpoint), load_generators(resumed.checkpoint), strict=True):
        for (name, p), q in zip(x.state_dict().items(), y.state_dict().values(), strict=True):
            assert torch.equal(p, q), name


def test_resume_refuses_a_checkpoint_of_another_config(tmp_path):
    a, b = _domains()
    CycleGANTrainer(_cfg(epochs=1, max_steps=1), a, b, tmp_path).fit()
    with pytest.raises(ValueError, match="different config"):
        CycleGANTrainer(_cfg(epochs=1, lr=1e-3), a, b, tmp_path).fit(resume=True)


def test_domains_are_shuffled_independently():
    orders = [_permutation(50, seed=0, epoch=e, domain=d) for e in (0, 1) for d in (0, 1)]
    assert not torch.equal(orders[0], orders[1]) and not torch.equal(orders[0], orders[2])
    assert torch.equal(orders[0], _permutation(50, seed=0, epoch=0, domain=0))  # seeded: same again


def test_checkpoint_and_epoch_samples(tmp_path):
    a, b = _domains()
    seen = []
    result = CycleGANTrainer(_cfg(epochs=1), a, b, tmp_path, on_epoch=lambda e, s: seen.append((e, s))).fit()
    state = checkpoints.load(result.checkpoint)
    assert state["family"] == "cyclegan" and state["config"]["model"]["g_features"] == 4
    ((epoch, samples),) = seen
    assert epoch == 1 and samples.shape == (16, 3, 64, 64) and np.abs(samples).max() <= 1
    assert np.allclose(samples[0], a[0].transpose(2, 0, 1) / 127.5 - 1, atol=1e-6)  # input, then its translation
    assert set(result.history[0]) >= {"step", "epoch", "g_loss", "d_loss", "cycle", "identity", "img_per_s"}
