import json

import numpy as np
import pytest
from PIL import Image

from components.config import EmojiDataConfig
from components.data import emoji, shards
from components.data.fashion_mnist import SourceError
from tests.emoji_source import NAMES, SKIN_TONE_VARIANT, emoji_source, shape_rgba  # noqa: F401


def _config(source, **extra):
    return EmojiDataConfig(google_dir=str(source / "google"), twitter_dir=str(source / "twitter"), **extra)


def _names(out, split):
    meta = json.loads((out / "meta.json").read_text())
    return [meta["names"][i] for i in shards.load_split(out, split)[1]]


def test_build_splits_by_name_deterministically(tmp_path, emoji_source):  # noqa: F811
    out = emoji.build(tmp_path / "one", _config(emoji_source, test_fraction=0.3))
    again = emoji.build(tmp_path / "two", _config(emoji_source, test_fraction=0.3))
    assert shards.dataset_md5(out) == shards.dataset_md5(again)  # same source → same bytes → same DVC md5

    meta = json.loads((out / "meta.json").read_text())
    assert meta["names"] == sorted(NAMES)  # base emoji only: the skin-tone variant is left out
    for split in ("train", "test"):
        # both domains hold the same names in the same order; the split follows the hash of the name alone
        assert _names(out, f"google-{split}") == _names(out, f"twitter-{split}")
        assert all(emoji.is_test(n, 0.3) == (split == "test") for n in _names(out, f"google-{split}"))
    counts = meta["counts"]
    assert 0 < counts["google-test"] < 40 and counts["google-test"] + counts["google-train"] == 40

    images, labels = shards.load_split(out, "twitter-train")
    assert images.shape == (meta["counts"]["twitter-train"], 64, 64, 3) and images.dtype == np.uint8
    assert labels.dtype == np.int32
    assert meta["licences"]["twitter"].startswith("CC-BY-4.0") and meta["licences"]["google"].startswith("Apache-2.0")
    assert meta["attribution"] == "Twemoji graphics by Twitter, Inc and other contributors, CC-BY 4.0"
    assert meta["source"]["google"]["package"] == "emoji-datasource-google" and meta["image_shape"] == [64, 64, 3]


def test_skin_tones_follow_their_base_emoji(tmp_path, emoji_source):  # noqa: F811
    out = emoji.build(tmp_path, _config(emoji_source, test_fraction=0.3, skin_tones=True))
    base = NAMES[0]
    side = "test" if emoji.is_test(base, 0.3) else "train"
    assert SKIN_TONE_VARIANT in _names(out, f"google-{side}") and base in _names(out, f"google-{side}")


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[0, 0] = (10, 20, 30, 255)  # opaque
    rgba[0, 1] = (10, 20, 30, 0)  # transparent: white whatever the colour
    rgba[0, 2] = (0, 0, 0, 128)  # half-transparent black: mid grey
    Image.fromarray(rgba, "RGBA").save(tmp_path / "x.png")
    rgb = emoji.read_rgb(tmp_path / "x.png")
    assert rgb.shape == (64, 64, 3)
    assert rgb[0, 0].tolist() == [10, 20, 30] and rgb[0, 1].tolist() == [255, 255, 255]
    assert rgb[0, 2].tolist() == [127, 127, 127] and rgb[5, 5].tolist() == [255, 255, 255]
    # a palette image (some Twemoji PNGs are mode P) goes through the same path
    Image.fromarray(shape_rgba(3), "RGBA").convert("P").save(tmp_path / "p.png")
    assert emoji.read_rgb(tmp_path / "p.png").shape == (64, 64, 3)


def test_wrong_size_is_refused_with_the_path(tmp_path):
    Image.new("RGBA", (72, 72)).save(tmp_path / "big.png")
    with pytest.raises(SourceError, match=r"big\.png: expected a 64×64 image, got 72×72"):
        emoji.read_rgb(tmp_path / "big.png")


def test_missing_folder_says_how_to_get_the_images(tmp_path, emoji_source, monkeypatch):  # noqa: F811
    cfg = EmojiDataConfig(google_dir=str(emoji_source / "google"), twitter_dir=str(tmp_path / "nope"))
    with pytest.raises(SourceError, match=r"twitter emoji folder .*nope does not exist") as info:
        emoji.build(tmp_path, cfg)
    assert "npm pack emoji-datasource-google@16.0.0 emoji-datasource-twitter@16.0.0" in str(info.value)
    assert "GENFORGE_EMOJI_DIR" in str(info.value)
    assert not (tmp_path / "data").exists()  # nothing half-built

    monkeypatch.setenv("GENFORGE_EMOJI_DIR", str(tmp_path / "empty"))
    with pytest.raises(SourceError, match=r"GENFORGE_EMOJI_DIR=.*google emoji folder"):
        emoji.build(tmp_path, EmojiDataConfig())
    monkeypatch.setenv("GENFORGE_EMOJI_DIR", str(emoji_source))  # the environment variable alone is enough
    assert emoji.build(tmp_path, EmojiDataConfig()).is_dir()


def test_a_tarball_with_the_wrong_checksum_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("GENFORGE_EMOJI_DIR", raising=False)
    cache = tmp_path / "raw"
    with pytest.raises(SourceError, match="are not in"):
        emoji.locate(None, None, cache, fetch=False)
    cache.mkdir()
    (cache / "emoji-datasource-google-16.0.0.tgz").write_bytes(b"not the package")  # used instead of `npm pack`
    with pytest.raises(SourceError, match="checksum mismatch") as info:
        emoji.fetch_package("google", cache)
    assert "npm pack" in str(info.value) and not (cache / "google").exists()
