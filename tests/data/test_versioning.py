import os
import subprocess
import sys
from pathlib import Path

import pytest

from components.config import DataConfig
from components.data import versioning
from components.data.dataset import prepare
from components.data.fashion_mnist import DEBIAN_DIR

REPO = Path(__file__).resolve().parents[2]


def test_prepare_versions_with_dvc_and_is_idempotent(workspace, digits_source, tmp_path):
    cfg = DataConfig(source_dir=str(digits_source), verify_checksums=False, shard_size=500)
    ref = prepare(workspace, cfg)
    assert ref.dvc_md5 == versioning.pinned_md5(workspace) and ref.dvc_md5.endswith(".dir")
    assert versioning.is_current(workspace)
    assert any((tmp_path / "dvc-remote").rglob("*")), "dvc push wrote nothing to the remote"
    pointer = workspace / "data.dvc"  # Fashion-MNIST's pointer sits at the top, where the layout puts it
    mtime = pointer.stat().st_mtime_ns
    again = prepare(workspace, cfg)
    assert again == ref and pointer.stat().st_mtime_ns == mtime
    # A changed file on disk is noticed by DVC and rebuilt back to the pinned version.
    next((workspace / "data" / "fashion-mnist").glob("test-images-*.npy")).write_bytes(b"garbage")
    assert not versioning.is_current(workspace)
    assert prepare(workspace, cfg).dvc_md5 == ref.dvc_md5


def test_a_flipped_byte_with_its_mtime_kept_is_caught_and_rebuilt(workspace, digits_source):
    cfg = DataConfig(source_dir=str(digits_source), verify_checksums=False, shard_size=500)
    ref = prepare(workspace, cfg)
    shard = next((workspace / "data" / "fashion-mnist").glob("train-images-*.npy"))
    stat = shard.stat()
    raw = bytearray(shard.read_bytes())
    raw[-1] ^= 0xFF  # one pixel of one image, same size
    shard.write_bytes(bytes(raw))
    os.utime(shard, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the mtime DVC's state cache trusts
    assert versioning.is_current(workspace, verify=False)  # DVC's stat-based status is fooled…
    assert not versioning.is_current(workspace)  # …the content hash is not
    def status(*flags):
        argv = ["genforge", "data", "status", "--root", str(workspace), *flags]
        code = f"import sys; sys.argv = {argv!r}; from flows.cli import main; main()"
        return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)

    quick, verified = status(), status("--verify")
    assert quick.returncode == 0 and "current" in quick.stdout
    assert verified.returncode == 1 and "MISSING or CHANGED" in verified.stdout
    rebuilt = prepare(workspace, cfg)  # the data step rebuilds it from the verified source
    assert rebuilt.dvc_md5 == ref.dvc_md5 and rebuilt.dataset_md5 == ref.dataset_md5
    assert shard.read_bytes() != bytes(raw)


def test_not_a_dvc_repo_is_a_clear_error(tmp_path):
    (tmp_path / "data" / "fashion-mnist").mkdir(parents=True)
    (tmp_path / "data.dvc").write_text("outs:\n- md5: abc.dir\n  path: data/fashion-mnist\n")
    with pytest.raises(versioning.VersioningError, match="dvc init"):
        versioning.is_current(tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(not DEBIAN_DIR.is_dir(), reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
def test_rebuilding_from_source_reproduces_the_pinned_data_version(tmp_path):
    """data.dvc on main pins the md5 that a fresh build from the Debian source gives."""
    pinned = versioning.pinned_md5(REPO)
    root = tmp_path / "clone"
    root.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=root, check=True)
    from components.data.dataset import build_fashion_mnist

    build_fashion_mnist(root, DataConfig())
    assert versioning.add_and_push(root) == pinned  # `dvc add data/fashion-mnist`, pointer moved to data.dvc
    assert (root / "data.dvc").is_file() and not (root / "data" / "fashion-mnist.dvc").exists()


def test_each_dataset_has_its_own_pointer(workspace, digits_source):
    """Versioning a second dataset under data/ leaves the first one's pinned version and status alone."""
    cfg = DataConfig(source_dir=str(digits_source), verify_checksums=False, shard_size=500)
    ref = prepare(workspace, cfg)
    other = workspace / "data" / "other"
    other.mkdir()
    (other / "a.txt").write_text("another dataset\n")
    other_md5 = versioning.add_and_push(workspace, "other")
    assert (workspace / "data" / "other.dvc").is_file()
    assert versioning.pinned_datasets(workspace) == ["fashion-mnist", "other"]
    assert versioning.pinned_md5(workspace, "fashion-mnist") == ref.dvc_md5 != other_md5
    assert versioning.is_current(workspace, "fashion-mnist") and versioning.is_current(workspace, "other")
    (other / "a.txt").write_text("changed\n")
    assert not versioning.is_current(workspace, "other") and versioning.is_current(workspace, "fashion-mnist")
