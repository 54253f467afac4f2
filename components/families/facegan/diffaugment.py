"""DiffAugment (Zhao et al., NeurIPS 2020, "Differentiable Augmentation for Data-Efficient GAN Training").

With a few hundred images a discriminator memorises the training set within a few thousand steps and its gradients
stop teaching the generator. DiffAugment applies the same random, differentiable transformations to every image the
discriminator sees — real and generated, in both the D and the G update — so D cannot tell them apart by the
augmentation and G is trained through it. The paper's policy for small data: colour (brightness, saturation,
contrast), translation (up to 1/8 of the side, zero-padded) and cutout (a square of half the side set to 0).

Written from the paper's description; every draw comes from the caller's generator, so training stays seeded and
a resumed run sees the same augmentations.
"""

from __future__ import annotations

import torch

POLICIES = ("color", "translation", "cutout")


def _uniform(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One U(0, 1) per image, shaped to broadcast over (C, H, W)."""
    return torch.rand(x.shape[0], 1, 1, 1, generator=generator, device=x.device, dtype=x.dtype)


def color(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    x = x + (_uniform(x, generator) - 0.5)  # brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_uniform(x, generator) * 2) + mean  # saturation (the identity on one channel)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(x, generator) + 0.5) + mean  # contrast


def translation(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ratio × side in each direction, filling with zeros."""
    b, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sh, sh + 1, (b, 1, 1), generator=generator, device=x.device)
    dx = torch.randint(-sw, sw + 1, (b, 1, 1), generator=generator, device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1) + dy  # source row of each target pixel, shifted
    cols = torch.arange(w, device=x.device).view(1, 1, w) + dx
    inside = ((rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)).unsqueeze(1)
    rows, cols = rows.clamp(0, h - 1).expand(b, h, w), cols.clamp(0, w - 1).expand(b, h, w)
    batch = torch.arange(b, device=x.device).view(b, 1, 1).expand(b, h, w)
    shifted = x.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)
    return shifted * inside


def cutout(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.5) -> torch.Tensor:
    """Zero one square of ratio × side per image, centred anywhere (it may overhang the border)."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (b, 1, 1), generator=generator, device=x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (b, 1, 1), generator=generator, device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    top, left = cy - ch // 2, cx - cw // 2
    hole = (rows >= top) & (rows < top + ch) & (cols >= left) & (cols < left + cw)
    return x * (~hole).unsqueeze(1).to(x.dtype)


def diff_augment(x: torch.Tensor, policy: tuple[str, ...], generator: torch.Generator) -> torch.Tensor:
    """Apply the policy's transformations in the paper's order (colour, translation, cutout); () is the identity."""
    for name in POLICIES:
        if name in policy:
            x = {"color": color, "translation": translation, "cutout": cutout}[name](x, generator)
    return x
