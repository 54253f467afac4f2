"""Emoji in two styles (Google Noto → Twitter Twemoji): find the 64×64 PNGs, verify them, materialise the shards.

Source: the npm packages emoji-datasource-google@16.0.0 and emoji-datasource-twitter@16.0.0 (iamcal/emoji-data),
`package/img/{google,twitter}/64/*.png`, the same file names in both styles. Only the 1,911 base emoji are kept
(the 1,875 skin-tone variants are near-copies of their base emoji with the skin recoloured: they would triple the
weight of people and hands, and a variant on one side of the train/test split with its base on the other would make
the held-out scores a memory test).

The name correspondence is kept only for evaluation: the shards of each domain list their names' indices as labels
(index into meta.json's `names`); the trainer shuffles the two domains independently and never looks at labels.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from components.config import EmojiDataConfig
from components.data import shards
from components.data.fashion_mnist import SourceError  # one error type for every source (the flow never retries it)
from components.data.packages import Package, is_extracted
from components.data.packages import fetch_package as fetch

DATASET = "emoji-google2twitter"
ENV_VAR = "GENFORGE_EMOJI_DIR"
DOMAINS = ("google", "twitter")  # A → B
VERSION = "16.0.0"
PACKAGES = {domain: f"emoji-datasource-{domain}" for domain in DOMAINS}
# sha256 of the npm tarballs (`npm pack emoji-datasource-…@16.0.0`, measured 2025-11-29).
TARBALL_SHA256 = {
    "google": "fb5fd131b362aab7a55542d2a147a79708cce0a8b1c1bbacd470172708b5c438",
    "twitter": "f64a530c63bca463bd8317fdc4615ce63a53a0c65018e4ce2d848aaba7a28877",
}
LICENCES = {
    "google": "Apache-2.0 (Noto Emoji images, Google Inc.); emoji-datasource packaging MIT (Cal Henderson)",
    "twitter": "CC-BY-4.0 (Twemoji images, Twitter, Inc and other contributors); emoji-datasource packaging MIT",
}
ATTRIBUTION = "Twemoji graphics by Twitter, Inc and other contributors, CC-BY 4.0"
ATTRIBUTION_URL = "https://github.com/twitter/twemoji (graphics licensed under CC-BY 4.0)"
SIZE = 64
PACKAGE = {
    domain: Package(
        key=f"emoji-{domain}",
        name=PACKAGES[domain],
        version=VERSION,
        registry="npm",
        sha256=TARBALL_SHA256[domain],
        archive=f"{PACKAGES[domain]}-{VERSION}.tgz",
        members=(rf"img/{domain}/{SIZE}/[^/]+\.png",),
        env_var=ENV_VAR,
        licence=LICENCES[domain],
        strip=f"img/{domain}/{SIZE}/",
    )
    for domain in DOMAINS
}
SKIN_TONE = re.compile(r"-1f3f[b-f]")  # a Fitzpatrick modifier after another code point: a skin-tone variant


def how_to_get(cache_dir: Path) -> str:
    return (
        "Get the two emoji image folders one of these ways:\n"
        f"  - cd {cache_dir} && npm pack {PACKAGES['google']}@{VERSION} {PACKAGES['twitter']}@{VERSION}\n"
        "    (on a machine with the npm registry; copy the two .tgz files into that folder, then build again:\n"
        "    GenForge checks their sha256 and extracts package/img/*/64 itself)\n"
        f"  - export {ENV_VAR}=/path/to/folder   (holding google/ and twitter/ with the 64×64 PNGs, same names)\n"
        "  - set data.google_dir and data.twitter_dir in the config YAML\n"
        f"    (…/package/img/google/64 and …/package/img/twitter/64 of the unpacked packages)"
    )


@dataclass(frozen=True)
class Source:
    folders: dict[str, Path]  # domain → folder of <name>.png
    origin: str  # "config", "environment", "npm"
    tarball_sha256: dict[str, str | None]


def _png_names(folder: Path) -> set[str]:
    return {p.name for p in folder.glob("*.png")}


def _explicit(folders: dict[str, Path], origin: str, cache_dir: Path) -> Source:
    for domain, folder in folders.items():
        problem = "does not exist" if not folder.is_dir() else "holds no .png files" if not _png_names(folder) else ""
        if problem:
            raise SourceError(f"{origin}: the {domain} emoji folder {folder} {problem}.\n{how_to_get(cache_dir)}")
    return Source(folders, origin, dict.fromkeys(DOMAINS))


def locate(google_dir: str | None, twitter_dir: str | None, cache_dir: Path, fetch: bool = True) -> Source:
    """Both folders: explicit ones (config, then $GENFORGE_EMOJI_DIR) are used alone, since a wrong explicit path is a
    mistake to report; otherwise the folders extracted earlier into cache_dir, else `npm pack` into cache_dir."""
    cache_dir = Path(cache_dir)
    if google_dir or twitter_dir:
        if not (google_dir and twitter_dir):
            raise SourceError("set both data.google_dir and data.twitter_dir (or neither).\n" + how_to_get(cache_dir))
        return _explicit({"google": Path(google_dir), "twitter": Path(twitter_dir)}, "data.*_dir", cache_dir)
    env = os.environ.get(ENV_VAR)
    if env:
        return _explicit({d: Path(env) / d for d in DOMAINS}, f"${ENV_VAR}={env}", cache_dir)
    shas = {}
    for domain in DOMAINS:
        if is_extracted(PACKAGE[domain], cache_dir / domain):
            shas[domain] = TARBALL_SHA256[domain]
        elif not fetch:
            raise SourceError(f"the emoji images are not in {cache_dir}.\n{how_to_get(cache_dir)}")
        else:
            shas[domain] = fetch_package(domain, cache_dir)
    return Source({d: cache_dir / d for d in DOMAINS}, "npm", shas)


def fetch_package(domain: str, cache_dir: Path, timeout: float = 300.0) -> str:
    """`npm pack` the pinned tarball (or use one already in cache_dir), check its sha256, extract img/<domain>/64 into
    cache_dir/<domain>; returns its sha256."""
    fetch(PACKAGE[domain], cache_dir / domain, how_to_get(cache_dir), timeout)
    return TARBALL_SHA256[domain]


def is_base(name: str) -> bool:
    return SKIN_TONE.search(name) is None


def base_name(name: str) -> str:
    """The base emoji of a skin-tone variant (split key: all tones of an emoji fall on the same side)."""
    return SKIN_TONE.sub("", name)


def is_test(name: str, test_fraction: float) -> bool:
    """Held out iff a hash of the (base) name falls below test_fraction: stable across machines and data versions
    (adding or removing emoji never moves another one across the split)."""
    h = int.from_bytes(hashlib.sha256(base_name(name).encode()).digest()[:8], "big")
    return h / 2**64 < test_fraction


def read_rgb(path: Path) -> np.ndarray:
    """One PNG → uint8 (64, 64, 3): any mode to RGBA, composited on white with integer rounding (deterministic)."""
    try:
        with Image.open(path) as picture:
            rgba = np.asarray(picture.convert("RGBA"), dtype=np.uint32)
    except OSError as exc:
        raise SourceError(f"{path}: not a readable PNG ({exc}); the file is corrupt, fetch it again") from None
    if rgba.shape != (SIZE, SIZE, 4):
        raise SourceError(f"{path}: expected a {SIZE}×{SIZE} image, got {rgba.shape[1]}×{rgba.shape[0]}")
    alpha = rgba[..., 3:]
    return ((rgba[..., :3] * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)


def common_names(source: Source, skin_tones: bool = False) -> list[str]:
    """Names present in both folders, sorted (base emoji only unless skin_tones)."""
    names = sorted(set.intersection(*(_png_names(f) for f in source.folders.values())))
    names = [n for n in names if skin_tones or is_base(n)]
    if not names:
        raise SourceError(
            f"no file name is in both {source.folders['google']} and {source.folders['twitter']}: the two styles must "
            "hold the same <code point>.png names"
        )
    return names


def build(root: Path, cfg: EmojiDataConfig) -> Path:
    """Locate + read both styles, split names by hash, write data/emoji-google2twitter/ atomically."""
    source = locate(cfg.google_dir, cfg.twitter_dir, Path(root) / ".genforge" / "raw" / "emoji")
    names = common_names(source, cfg.skin_tones)
    images = {d: np.stack([read_rgb(source.folders[d] / n) for n in names]) for d in DOMAINS}
    test = np.array([is_test(n, cfg.test_fraction) for n in names])
    if test.all() or not test.any():
        raise SourceError(
            f"only {len(names)} emoji names: test_fraction {cfg.test_fraction} leaves one side of the split empty"
        )
    labels = np.arange(len(names), dtype=np.int32)
    splits = {}
    for domain in DOMAINS:
        splits[f"{domain}-train"] = (images[domain][~test], labels[~test])
        splits[f"{domain}-test"] = (images[domain][test], labels[test])
    digest = {d: hashlib.sha256(images[d].tobytes()).hexdigest() for d in DOMAINS}
    meta = {
        "dataset": DATASET,
        "domains": {"A": "google", "B": "twitter"},
        "licences": LICENCES,
        "attribution": ATTRIBUTION,
        "attribution_url": ATTRIBUTION_URL,
        "source": {
            d: {
                "package": PACKAGES[d],
                "version": VERSION,
                "origin": source.origin,
                "tarball_sha256": source.tarball_sha256[d],
                "images_sha256": digest[d],  # of the composited uint8 array: the content actually used
            }
            for d in DOMAINS
        },
        "skin_tones": cfg.skin_tones,
        "split": f"sha256(base name) < {cfg.test_fraction} → test",
        "test_fraction": cfg.test_fraction,
        "image_shape": [SIZE, SIZE, 3],
        "dtype": "uint8",
        "background": "RGBA composited on white",
        "labels": "index into names (the same emoji in both domains; for evaluation only, never for training)",
        "names": names,
    }
    return shards.write_dataset(Path(root) / "data" / DATASET, splits, cfg.shard_size, meta)
