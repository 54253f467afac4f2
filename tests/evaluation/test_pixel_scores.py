"""CycleGAN's paired scores against known answers: an exact match, and a uniform offset of 51 grey levels."""

import math

import numpy as np
import pytest

from components.families.cyclegan.steps import per_image_l1, pixel_scores


def test_an_exact_match_scores_l1_0_ssim_1_and_the_psnr_cap():
    x = np.random.default_rng(0).integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    scores = pixel_scores(x, x.copy())
    assert scores["l1"] == 0.0 and scores["psnr"] == 100.0 and scores["ssim"] == pytest.approx(1.0, abs=1e-6)


def test_a_uniform_offset_of_51_levels_is_l1_0_2_and_psnr_14_db():
    target = np.full((2, 64, 64, 3), 100, dtype=np.uint8)
    shifted = target + np.uint8(51)
    assert np.allclose(per_image_l1(shifted, target), 0.2)
    scores = pixel_scores(shifted, target)
    assert scores["l1"] == pytest.approx(0.2)
    assert scores["psnr"] == pytest.approx(20 * math.log10(1 / 0.2), abs=1e-3)  # 13.979 dB
