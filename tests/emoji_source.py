"""A tiny emoji source for the CycleGAN tests: the same 40 names in two "styles", as emoji-datasource lays them out.

Each name is a seeded coloured shape (disc or square) on a transparent background with a half-transparent rim, so
compositing on white is exercised; the Twitter "style" is the Google one with its colour channels rotated
(r, g, b → g, b, r): a known, learnable style difference. One skin-tone variant is added to both styles.
Import the fixture into a test module: `from tests.emoji_source import emoji_source  # noqa: F401`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

NAMES = [f"1f{0x600 + i:03x}.png" for i in range(40)]  # 1f600.png … 1f627.png
SKIN_TONE_VARIANT = "1f600-1f3fd.png"  # a variant of NAMES[0]


def shape_rgba(index: int) -> np.ndarray:
    """(64, 64, 4) uint8: a seeded disc or square of a seeded colour, opaque inside, alpha 128 on a 2-pixel rim."""
    rng = np.random.default_rng(index)
    colour = rng.integers(30, 226, 3)
    cy, cx = rng.integers(22, 42, 2)
    radius = int(rng.integers(10, 20))
    yy, xx = np.mgrid[:64, :64]
    if index % 2:
        dist = np.hypot(yy - cy, xx - cx)
    else:
        dist = np.maximum(np.abs(yy - cy), np.abs(xx - cx)).astype(np.float64)
    out = np.zeros((64, 64, 4), np.uint8)
    out[..., :3] = colour
    out[..., 3] = np.where(dist <= radius, 255, np.where(dist <= radius + 2, 128, 0))
    return out


def twitter_style(rgba: np.ndarray) -> np.ndarray:
    return rgba[..., [1, 2, 0, 3]]


def write_source(folder: Path) -> Path:
    """folder/google and folder/twitter holding the same names: the layout $GENFORGE_EMOJI_DIR expects."""
    for style in ("google", "twitter"):
        (folder / style).mkdir(parents=True, exist_ok=True)
    for i, name in enumerate([*NAMES, SKIN_TONE_VARIANT]):
        rgba = shape_rgba(i)
        Image.fromarray(rgba, "RGBA").save(folder / "google" / name)
        Image.fromarray(twitter_style(rgba), "RGBA").save(folder / "twitter" / name)
    return folder


@pytest.fixture(scope="session")
def emoji_source(tmp_path_factory) -> Path:
    return write_source(tmp_path_factory.mktemp("emoji-source"))
