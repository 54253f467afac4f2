"""DVC versioning of data/: the one module that talks to DVC."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml


class VersioningError(RuntimeError):
    """The workspace is not a usable git + DVC repository."""


def _repo(root: Path):
    from dvc.repo import Repo  # imported late: dvc's import costs ~1 s and most commands never need it

    if not (root / ".dvc").is_dir():
        raise VersioningError(f"{root} is not a DVC repository: run `git init && dvc init` there, or run GenForge from its clone")
    return Repo(str(root))


def pinned_md5(root: Path) -> str | None:
    """The md5 of data/ that data.dvc pins, or None when data/ is not tracked yet."""
    pointer = root / "data.dvc"
    if not pointer.is_file():
        return None
    outs = (yaml.safe_load(pointer.read_text()) or {}).get("outs") or [{}]
    return outs[0].get("md5")


def is_current(root: Path) -> bool:
    """True when data/ on disk matches what data.dvc pins (DVC's own status check)."""
    if pinned_md5(root) is None or not (root / "data").is_dir():
        return False
    repo = _repo(root)
    try:
        return not repo.status(targets=[str(root / "data.dvc")])
    finally:
        repo.close()


def add_and_push(root: Path) -> str:
    """`dvc add data` then `dvc push` to the default remote; returns the new pinned md5."""
    repo = _repo(root)
    try:
        repo.add(str(root / "data"))  # DVC resolves relative paths against the cwd, so pass an absolute one
        if repo.config.get("core", {}).get("remote"):
            repo.push()
    finally:
        repo.close()
    md5 = pinned_md5(root)
    assert md5 is not None, "dvc add wrote no data.dvc"
    return md5


def git_rev(root: Path) -> str:
    """The workspace's git commit, with '-dirty' when data.dvc differs from it."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    rev = git("rev-parse", "HEAD") or "uncommitted"
    return rev + "-dirty" if git("status", "--porcelain", "--", "data.dvc") else rev
