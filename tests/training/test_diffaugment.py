"""DiffAugment against known answers: the empty policy is the identity, draws come only from the caller's
generator, gradients flow through every transformation, translation moves pixels by whole steps, cutout zeroes one
square of half the side."""

import pytest
import torch

from components.families.facegan.diffaugment import color, cutout, diff_augment, translation

POLICY = ("color", "translation", "cutout")


def test_the_empty_policy_is_the_identity():
    x = torch.randn(4, 1, 16, 16)
    assert torch.equal(diff_augment(x, (), torch.Generator().manual_seed(0)), x)


def test_the_same_generator_state_gives_the_same_augmentation_and_the_global_rng_is_untouched():
    x = torch.randn(4, 1, 16, 16)
    state = torch.get_rng_state()
    a = diff_augment(x, POLICY, torch.Generator().manual_seed(3))
    b = diff_augment(x, POLICY, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and not torch.equal(a, diff_augment(x, POLICY, torch.Generator().manual_seed(4)))
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("transform", [color, translation, cutout])
def test_gradients_flow_through_each_transformation(transform):
    x = torch.randn(3, 1, 16, 16, requires_grad=True)
    transform(x, torch.Generator().manual_seed(0)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_translation_moves_a_single_pixel_by_at_most_an_eighth_of_the_side():
    x = torch.zeros(64, 1, 32, 32)
    x[:, :, 16, 16] = 1.0
    out = translation(x, torch.Generator().manual_seed(0))
    assert torch.equal(out.sum(dim=(1, 2, 3)), torch.ones(64))  # moved, never lost (4 ≤ 16 from the border)
    where = out[:, 0].flatten(1).argmax(dim=1)
    rows, cols = where // 32, where % 32
    assert (rows - 16).abs().max() <= 4 and (cols - 16).abs().max() <= 4
    assert len(set(zip(rows.tolist(), cols.tolist(), strict=True))) > 10  # really random per image


def test_cutout_zeroes_one_square_of_half_the_side():
    out = cutout(torch.ones(200, 1, 32, 32), torch.Generator().manual_seed(0))
    zeros = (out == 0).sum(dim=(1, 2, 3)).float()
    assert zeros.max() == 16 * 16  # a whole square when it lies inside the image
    assert 0 < zeros.min() and zeros.mean() < 16 * 16  # clipped at the border, never absent
