import numpy as np
import torch

from components.evaluation.c2st import c2st
from components.training.gan_trainer import to_tensor
from tests.conftest import digits_28


def test_real_vs_real_is_chance():
    # Shuffle first: the digits file is ordered by writer, so its halves are not quite one distribution.
    images = to_tensor(digits_28()[0][np.random.default_rng(0).permutation(1797)])
    result = c2st(images[:800], images[800:1600], epochs=2)
    assert abs(result.auc - 0.5) < 0.1
    assert result.p_value > 0.01
    assert result.n_test == 320


def test_real_vs_noise_is_detected():
    real = to_tensor(digits_28()[0][:600])
    noise = torch.rand(600, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    result = c2st(real, noise, epochs=2)
    assert result.auc > 0.95 and result.accuracy > 0.9 and result.p_value < 1e-6
