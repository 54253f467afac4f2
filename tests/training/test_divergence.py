"""A NaN or infinite training loss stops every trainer at once, naming the step and the loss (TrainingDiverged, a
UserError: the CLI prints it in one line and exits 2), before anything is saved."""

import numpy as np
import pytest
import torch

from components.errors import TrainingDiverged, UserError, check_finite
from components.families import parse_config
from components.models.detector import DetectorCNN
from components.models.fitting import fit_classifier
from components.models.gpt import GPT, GPTConfig
from components.training.cyclegan_trainer import CycleGANTrainer
from components.training.gan_trainer import GANTrainer
from components.training.lm_trainer import fit_lm
from components.training.vae_trainer import VAETrainer
from tests.conftest import digits_28

HUGE_LR = 1e20  # Adam moves every weight by ~lr in step 1: step 2's forward pass overflows to NaN (a GAN's g_loss
# already in step 1, computed after D's update)
GAN = {"model": {"latent_dim": 8, "g_features": 8, "d_features": 8}, "train": {"batch_size": 32, "log_every": 1}}


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _images(n=128):
    return digits_28()[0][:n]


def test_check_finite_names_the_step_and_the_loss():
    check_finite(7, loss=1.5, other=-3.0)  # finite: nothing happens
    with pytest.raises(TrainingDiverged, match=r"^training diverged at step 12: d_loss is nan \(lower train\.lr"):
        check_finite(12, d_loss=float("nan"), g_loss=1.0)
    with pytest.raises(TrainingDiverged, match="at step 3: g_loss is inf"):
        check_finite(3, d_loss=0.5, g_loss=float("inf"))
    assert issubclass(TrainingDiverged, UserError)


def test_gan_with_a_huge_lr_diverges_at_step_1(tmp_path):
    cfg = parse_config({**GAN, "train": {**GAN["train"], "lr": HUGE_LR}})
    with pytest.raises(TrainingDiverged, match=r"training diverged at step 1: g_loss is nan \(lower train\.lr"):
        GANTrainer(cfg, _images(), tmp_path).fit()
    assert not (tmp_path / "last.pt").exists()  # stopped inside the first epoch: nothing saved


def test_gan_stops_at_the_step_whose_loss_is_nan(tmp_path):
    """Weights poisoned after step 2 (through the log callback): step 3's losses are NaN, the run stops there."""
    cfg = parse_config(GAN)  # 128 images / 32 = 4 steps per epoch
    trainer = GANTrainer(cfg, _images(), tmp_path)
    seen = []

    def poison(row):
        seen.append(row["step"])
        if row["step"] == 2:
            with torch.no_grad():
                next(trainer.G.parameters()).fill_(float("nan"))

    trainer.on_log = poison
    with pytest.raises(TrainingDiverged, match=r"at step 3: d_loss is nan"):
        trainer.fit()
    assert seen == [1, 2] and trainer.step == 3 and trainer.history[-1]["step"] == 2
    assert not (tmp_path / "last.pt").exists()


def test_vae_with_a_huge_lr_diverges(tmp_path):
    cfg = parse_config(
        {"family": "vae", "model": {"latent_dim": 4, "features": 4}, "train": {"batch_size": 32, "lr": HUGE_LR}}
    )
    with pytest.raises(TrainingDiverged, match=r"^training diverged at step 2: loss is nan \(lower train\.lr"):
        VAETrainer(cfg, _images(), tmp_path).fit()


@pytest.mark.slow
def test_cyclegan_with_a_huge_lr_diverges(tmp_path):
    cfg = parse_config(
        {
            "family": "cyclegan",
            "model": {"g_features": 4, "d_features": 4, "res_blocks": 1},
            "train": {"batch_size": 4, "lr": HUGE_LR},
        }
    )
    rng = np.random.default_rng(0)
    a, b = (rng.integers(0, 256, (8, 64, 64, 3), dtype=np.uint8) for _ in range(2))
    with pytest.raises(TrainingDiverged, match=r"^training diverged at step 2: g_loss is nan"):
        CycleGANTrainer(cfg, a, b, tmp_path).fit()


def test_lm_trainer_with_a_huge_lr_diverges():
    ids = np.array([i % 11 for i in range(300)], dtype=np.int64)
    cfg = parse_config({"family": "gpt", "train": {"max_steps": 20, "batch_size": 4, "warmup_steps": 0, "lr": HUGE_LR}})
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=16, block_size=16, n_layer=1, n_head=2, n_embd=16))
    with pytest.raises(TrainingDiverged, match=r"^training diverged at step 2: scratch_loss is nan"):
        fit_lm(model, ids, cfg.train, seed=0, prefix="scratch_")


def test_classifier_on_nan_data_names_the_config_field():
    """The detector's loop (fit_classifier): a NaN image makes the first batch's loss NaN."""
    x = torch.zeros(8, 1, 28, 28)
    x[0, 0, 0, 0] = float("nan")
    y = torch.tensor([0, 1] * 4)
    with pytest.raises(TrainingDiverged, match=r"^training diverged at step 1: detector loss is nan \(lower train\.lr"):
        fit_classifier(DetectorCNN(width=4), x, y, 1, 8, 1e-3, label="detector", lr_field="train.lr")
