import numpy as np
import pytest
import torch

from components import checkpoints
from components.errors import CheckpointError
from components.families import parse_config
from components.models.tensors import to_tensor
from components.training.vae_trainer import VAETrainer, load_vae
from tests.conftest import digits_28

SMALL = {
    "family": "vae",
    "model": {"latent_dim": 4, "features": 4},
    "train": {"batch_size": 32, "log_every": 1, "num_threads": 1},
}


def _images(n=128):
    return digits_28()[0][:n]


def _cfg(**train):
    return parse_config({**SMALL, "train": {**SMALL["train"], **train}})


class Crash(Exception):
    pass


def _crash_at(step):
    def on_log(row):
        if row["step"] == step:
            raise Crash(f"killed at step {step}")

    return on_log


def _neg_elbo(vae) -> float:
    """Mean negative ELBO (nats per image) of the training images, on fixed noise."""
    with torch.no_grad():
        recon, kl = vae.eval().terms(to_tensor(_images()), torch.Generator().manual_seed(0), samples=4)
    return (recon + kl).mean().item()


def test_training_lowers_the_negative_elbo(tmp_path):
    """Six epochs on 128 digits: the negative ELBO (nats per image) of those images falls clearly."""
    trainer = VAETrainer(_cfg(epochs=6, lr=1e-2), _images(), tmp_path)
    before = _neg_elbo(trainer.vae)
    result = trainer.fit()
    after = _neg_elbo(load_vae(result.checkpoint))
    assert after < 0.92 * before, (before, after)  # measured: 2,207 → 1,909
    losses = [row["loss"] for row in result.history]
    assert len(losses) == 24 and all(np.isfinite(losses)) and np.mean(losses[-4:]) < np.mean(losses[:4])
    row = result.history[-1]
    assert row["loss"] == pytest.approx(row["recon"] + row["kl"], rel=1e-5) and row["kl"] > 0


def test_resumed_run_matches_an_uninterrupted_one(tmp_path):
    """A run killed in its second epoch, resumed from the epoch-1 checkpoint, ends with the same weights."""
    cfg = _cfg(epochs=2)  # 128 images / 32 = 4 steps per epoch
    straight = VAETrainer(cfg, _images(), tmp_path / "straight").fit()

    with pytest.raises(Crash):
        VAETrainer(cfg, _images(), tmp_path / "resumed", on_log=_crash_at(6)).fit()
    assert checkpoints.load(tmp_path / "resumed" / "last.pt")["step"] == 4
    resumed = VAETrainer(cfg, _images(), tmp_path / "resumed").fit(resume=True)

    assert resumed.steps == straight.steps == 8
    assert [r["loss"] for r in resumed.history] == [r["loss"] for r in straight.history]
    a, b = load_vae(straight.checkpoint), load_vae(resumed.checkpoint)
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q), name


def test_resume_refuses_a_checkpoint_of_another_config(tmp_path):
    VAETrainer(_cfg(epochs=1, max_steps=1), _images(64), tmp_path).fit()
    other = parse_config({**SMALL, "seed": 7, "train": {**SMALL["train"], "epochs": 1, "max_steps": 1}})
    with pytest.raises(ValueError, match="different config"):
        VAETrainer(other, _images(64), tmp_path).fit(resume=True)


def test_checkpoint_embeds_config_and_logs_the_elbo_terms(tmp_path):
    epochs = []
    result = VAETrainer(
        _cfg(epochs=1), _images(), tmp_path, on_epoch=lambda e, g: epochs.append((e, g.shape, np.abs(g).max()))
    ).fit()
    state = checkpoints.load(result.checkpoint)
    assert state["family"] == "vae" and state["config"]["model"] == {"latent_dim": 4, "features": 4}
    assert [(e, shape) for e, shape, _ in epochs] == [(1, (64, 1, 28, 28))] and epochs[0][2] <= 1
    assert [row["step"] for row in result.history] == [1, 2, 3, 4]
    assert set(result.history[0]) == {"step", "epoch", "loss", "recon", "kl", "img_per_s"}
    assert load_vae(result.checkpoint).decoder.latent_dim == 4


def test_load_refuses_another_family(tmp_path):
    torch.save({"family": "dcgan", "config": {}}, tmp_path / "g.pt")
    with pytest.raises(CheckpointError, match="a 'dcgan' checkpoint, not a vae one"):
        load_vae(tmp_path / "g.pt")
