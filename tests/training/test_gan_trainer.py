import numpy as np
import pytest
import torch

from components import checkpoints
from components.families import parse_config
from components.training.gan_trainer import GANTrainer, load_generator
from tests.conftest import digits_28

SMALL = {"model": {"latent_dim": 8, "g_features": 8, "d_features": 8}, "train": {"batch_size": 32, "log_every": 1}}


def _images(n=128):
    return digits_28()[0][:n]


class Crash(Exception):
    pass


def _crash_at(step):
    def on_log(row):
        if row["step"] == step:
            raise Crash(f"killed at step {step}")

    return on_log


def test_resumed_run_matches_an_uninterrupted_one(tmp_path):
    """A run killed in its second epoch, resumed from the epoch-1 checkpoint, ends with the same weights."""
    cfg = parse_config({**SMALL, "train": {**SMALL["train"], "epochs": 2}})  # 128 images / 32 = 4 steps per epoch
    straight = GANTrainer(cfg, _images(), tmp_path / "straight").fit()

    with pytest.raises(Crash):
        GANTrainer(cfg, _images(), tmp_path / "resumed", on_log=_crash_at(6)).fit()
    assert checkpoints.load(tmp_path / "resumed" / "last.pt")["step"] == 4
    # A new trainer object, as after a crash: only the checkpoint carries the state over.
    resumed = GANTrainer(cfg, _images(), tmp_path / "resumed").fit(resume=True)

    assert resumed.steps == straight.steps == 8
    assert [r["step"] for r in resumed.history] == [r["step"] for r in straight.history]
    a, b = load_generator(straight.checkpoint), load_generator(resumed.checkpoint)
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q), name


def test_without_resume_training_starts_over(tmp_path):
    cfg = parse_config({**SMALL, "train": {**SMALL["train"], "epochs": 1}})
    GANTrainer(cfg, _images(), tmp_path).fit()
    assert GANTrainer(cfg, _images(), tmp_path).fit(resume=False).steps == 4


def test_resume_refuses_a_checkpoint_of_another_config(tmp_path):
    cfg = parse_config({**SMALL, "train": {**SMALL["train"], "epochs": 1, "max_steps": 1}})
    GANTrainer(cfg, _images(64), tmp_path).fit()
    other = parse_config({**SMALL, "seed": 7, "train": {**SMALL["train"], "epochs": 1}})
    with pytest.raises(ValueError, match="different config"):
        GANTrainer(other, _images(64), tmp_path).fit(resume=True)


@pytest.mark.slow
def test_generator_learns_a_tiny_dataset(tmp_path):
    """On 32 copies of one image the generator collapses onto it: its samples end far closer than at init."""
    target = _images(1)
    cfg = parse_config({**SMALL, "train": {"batch_size": 8, "log_every": 100, "epochs": 150, "lr": 1e-3}})
    trainer = GANTrainer(cfg, np.repeat(target, 32, axis=0), tmp_path)
    goal = torch.from_numpy(target).float().div(127.5).sub(1).numpy()
    before = np.abs(trainer.samples() - goal).mean()
    trainer.fit()
    after = np.abs(trainer.samples() - goal).mean()
    assert after < 0.6 * before, (before, after)  # measured: 0.77 → 0.37


def test_checkpoint_embeds_config_and_logs_losses(tmp_path):
    cfg = parse_config({**SMALL, "train": {**SMALL["train"], "epochs": 1}})
    epochs = []
    result = GANTrainer(cfg, _images(), tmp_path, on_epoch=lambda e, g: epochs.append((e, g.shape))).fit()
    state = checkpoints.load(result.checkpoint)
    assert state["config"]["model"]["latent_dim"] == 8 and state["family"] == "dcgan"
    assert epochs == [(1, (64, 1, 28, 28))]
    assert [row["step"] for row in result.history] == [1, 2, 3, 4]
    assert all(np.isfinite(row["d_loss"]) and row["img_per_s"] > 0 for row in result.history)
