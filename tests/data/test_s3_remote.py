"""A workspace's DVC remote on S3 (MinIO, AWS): GenForge's data step pushes to it unchanged, and a second clone pulls
the same bytes from it. Runs against moto's S3 server on loopback (the `s3_server` fixture), never a real endpoint."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from components.config import DataConfig
from components.data import shards, versioning
from components.data.dataset import prepare
from tests.conftest import make_workspace, s3_client

pytest.importorskip("dvc_s3", reason="DVC's S3 support is in the team extra: pip install -e '.[team]'")
pytest.importorskip("moto", reason="the loopback S3 server is in the dev extra: pip install -e '.[dev]'")

DVC = [sys.executable, "-m", "dvc"]
CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{cmd} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done


def snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under root (its .git and .dvc included): path → (mtime, bytes)."""
    return {
        p.relative_to(root).as_posix(): (p.stat().st_mtime_ns, p.read_bytes()) for p in root.rglob("*") if p.is_file()
    }


def keys(endpoint: str, bucket: str, prefix: str) -> list[str]:
    listing = s3_client(endpoint).list_objects_v2(Bucket=bucket, Prefix=prefix)
    return [item["Key"] for item in listing.get("Contents", [])]


@pytest.mark.slow  # a loopback S3 server and two DVC workspaces: ~5 s
def test_data_pushed_to_an_s3_remote_pulls_byte_identical_into_a_fresh_clone(
    s3_server, s3_bucket, digits_source, tmp_path
):
    remote = f"s3://{s3_bucket}/genforge"
    # First workspace: the default remote is S3 (the documented commands), credentials from the AWS_* variables.
    first = make_workspace(tmp_path / "first", tmp_path / "unused-local-remote")
    run([*DVC, "remote", "remove", "local"], first)  # make_workspace's local remote: gone, so S3 is the only one
    run([*DVC, "remote", "add", "-d", "shared", remote], first)
    run([*DVC, "remote", "modify", "shared", "endpointurl", s3_server], first)

    cfg = DataConfig(source_dir=str(digits_source), verify_checksums=False, shard_size=500)
    ref = prepare(first, cfg)  # builds the shards, `dvc add`s them and `repo.push`es to the default remote
    pushed = keys(s3_server, s3_bucket, "genforge/")
    assert pushed and all(key.startswith("genforge/files/md5/") for key in pushed), pushed
    files = [p for p in (first / "data" / "fashion-mnist").rglob("*") if p.is_file()]
    assert f"genforge/files/md5/{ref.dvc_md5[:2]}/{ref.dvc_md5[2:]}" in pushed, "the .dir manifest was not pushed"
    assert len(pushed) == len(files) + 1  # every shard and the manifest
    assert not (tmp_path / "unused-local-remote").exists()

    # Commit the pointer and the remote's config: that is all a teammate's clone needs.
    run(["git", "add", "data.dvc", "data/.gitignore", ".dvc/config", ".dvc/.gitignore", ".dvcignore"], first)
    run(["git", "commit", "-q", "-m", "data on s3"], first)
    before = snapshot(first)

    # Second workspace: a fresh clone; its credentials go to .dvc/config.local (git-ignored), not the environment.
    second = tmp_path / "second"
    run(["git", "clone", "-q", "--no-hardlinks", str(first), str(second)], tmp_path)
    assert not (second / "data" / "fashion-mnist").exists() and not (second / ".dvc" / "cache").exists()
    for option, var in zip(("access_key_id", "secret_access_key"), CREDENTIALS, strict=True):
        run([*DVC, "remote", "modify", "--local", "shared", option, os.environ[var]], second)
    assert run(["git", "status", "--porcelain"], second).stdout == "", "config.local must stay out of git"
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIALS}
    run([*DVC, "pull"], second, env=env)

    pulled = second / "data" / "fashion-mnist"
    assert shards.dataset_md5(pulled) == shards.dataset_md5(first / "data" / "fashion-mnist") == ref.dataset_md5
    assert versioning.pinned_md5(second) == ref.dvc_md5 and versioning.is_current(second)
    assert snapshot(first) == before, "pulling into the clone touched the first workspace"
