import gzip
import shutil

import numpy as np
import pytest

from components.config import DataConfig
from components.data import fashion_mnist, shards
from components.data.dataset import build_fashion_mnist
from components.data.fashion_mnist import SourceError, read_idx
from tests.conftest import write_idx

REAL = fashion_mnist.DEBIAN_DIR
needs_real = pytest.mark.skipif(not (REAL / "t10k-labels-idx1-ubyte.gz").is_file(),
                                reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")


def test_idx_round_trip(tmp_path):
    array = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    parsed, sha = read_idx(write_idx(tmp_path / "x.gz", array))
    assert np.array_equal(parsed, array) and len(sha) == 64


def test_truncated_file_is_rejected_with_the_path(tmp_path):
    good = write_idx(tmp_path / "x.gz", np.zeros((3, 28, 28), np.uint8))
    payload = gzip.decompress(good.read_bytes())
    (tmp_path / "short.gz").write_bytes(gzip.compress(payload[:-100]))
    with pytest.raises(SourceError, match=r"short\.gz.*truncated"):
        read_idx(tmp_path / "short.gz")
    (tmp_path / "cut.gz").write_bytes(good.read_bytes()[:20])
    with pytest.raises(SourceError, match=r"cut\.gz: not a readable gzip"):
        read_idx(tmp_path / "cut.gz")


def test_wrong_magic_is_rejected(tmp_path):
    (tmp_path / "f.gz").write_bytes(gzip.compress(b"\x00\x00\x0d\x01" + (4).to_bytes(4, "big") + b"\x00" * 16))
    with pytest.raises(SourceError, match="bad magic"):
        read_idx(tmp_path / "f.gz")


def test_wrong_shape_is_rejected_before_anything_is_written(tmp_path, digits_source):
    source = tmp_path / "src"
    shutil.copytree(digits_source, source)
    write_idx(source / "t10k-images-idx3-ubyte.gz", np.zeros((297, 20, 20), np.uint8))
    root = tmp_path / "root"
    with pytest.raises(SourceError, match=r"t10k-images.*\(N, 28, 28\)"):
        build_fashion_mnist(root, DataConfig(source_dir=str(source), verify_checksums=False))
    assert not (root / "data").exists()


def test_label_count_mismatch_is_rejected(tmp_path, digits_source):
    source = tmp_path / "src"
    shutil.copytree(digits_source, source)
    write_idx(source / "train-labels-idx1-ubyte.gz", np.zeros(10, np.uint8))
    with pytest.raises(SourceError, match="expected 1500 labels"):
        fashion_mnist.load(source, verify_checksums=False)


def test_missing_files_error_says_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv(fashion_mnist.ENV_VAR, str(tmp_path))
    with pytest.raises(SourceError, match="apt-get install dataset-fashion-mnist"):
        fashion_mnist.locate(None, tmp_path / "downloads")


def test_build_is_byte_for_byte_deterministic(tmp_path, digits_source):
    cfg = DataConfig(source_dir=str(digits_source), verify_checksums=False, shard_size=500)
    first = shards.dataset_md5(build_fashion_mnist(tmp_path / "a", cfg))
    second = shards.dataset_md5(build_fashion_mnist(tmp_path / "b", cfg))
    assert first == second
    images, labels = shards.load_split(tmp_path / "a" / "data" / "fashion-mnist", "train")
    assert images.shape == (1500, 28, 28) and labels.shape == (1500,)
    assert len(list((tmp_path / "a" / "data" / "fashion-mnist").glob("train-images-*.npy"))) == 3


@needs_real
def test_real_checksums_verify_and_a_flipped_byte_is_caught(tmp_path):
    data = fashion_mnist.load(REAL)
    assert data.train_images.shape == (60000, 28, 28) and data.test_labels.shape == (10000,)
    source = tmp_path / "src"
    shutil.copytree(REAL, source)
    target = source / "t10k-labels-idx1-ubyte.gz"
    payload = bytearray(gzip.decompress(target.read_bytes()))
    payload[500] ^= 1
    target.write_bytes(gzip.compress(bytes(payload)))
    with pytest.raises(SourceError, match="checksum mismatch"):
        fashion_mnist.load(source)
