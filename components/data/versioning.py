"""DVC versioning of the datasets under data/: the one module that talks to DVC.

Each dataset is its own DVC output with its own pointer file, so building or changing one dataset never moves
another's pinned version: `data.dvc` at the top for Fashion-MNIST (the project's main dataset, where the layout
puts it), `data/<dataset>.dvc` for the others (where `dvc add data/<dataset>` writes it).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from components.errors import UserError

DEFAULT_DATASET = "fashion-mnist"


class VersioningError(UserError, RuntimeError):
    """The workspace is not a usable git + DVC repository."""


def pointer(root: Path, dataset: str = DEFAULT_DATASET) -> Path:
    """The DVC pointer file of a dataset: data.dvc for Fashion-MNIST, data/<dataset>.dvc for the others."""
    return Path(root) / "data.dvc" if dataset == DEFAULT_DATASET else Path(root) / "data" / f"{dataset}.dvc"


def _repo(root: Path):
    from dvc.repo import Repo  # imported late: dvc's import costs ~1 s and most commands never need it

    if not (root / ".dvc").is_dir():
        raise VersioningError(
            f"{root} is not a DVC repository: run `git init && dvc init` there, or run GenForge from its clone"
        )
    return Repo(str(root))


def pinned_md5(root: Path, dataset: str = DEFAULT_DATASET) -> str | None:
    """The md5 of data/<dataset> that its pointer pins, or None when the dataset is not tracked yet."""
    path = pointer(root, dataset)
    if not path.is_file():
        return None
    outs = (yaml.safe_load(path.read_text()) or {}).get("outs") or [{}]
    return outs[0].get("md5")


def pinned_datasets(root: Path) -> list[str]:
    """Every dataset with a pointer."""
    others = [p.name.removesuffix(".dvc") for p in (Path(root) / "data").glob("*.dvc")]
    return sorted(others + ([DEFAULT_DATASET] if pointer(root).is_file() else []))


def content_md5(root: Path, dataset: str = DEFAULT_DATASET) -> str:
    """DVC's md5 of data/<dataset> computed from the bytes on disk now: DVC's own hashing, without its state
    cache (which trusts unchanged mtimes and sizes, so a flipped byte with its mtime kept would pass)."""
    import copy

    from dvc.fs import LocalFileSystem
    from dvc_data.hashfile.build import build
    from dvc_data.hashfile.state import StateNoop

    repo = _repo(root)
    try:
        cache = copy.copy(repo.cache.local)
        cache.state = StateNoop()  # hash every byte; remember nothing
        _, _, obj = build(
            cache,
            str(root / "data" / dataset),
            LocalFileSystem(),
            "md5",
            dry_run=True,
            ignore=repo.dvcignore,
        )
        return obj.hash_info.value
    finally:
        repo.close()


def is_current(root: Path, dataset: str = DEFAULT_DATASET, verify: bool = True) -> bool:
    """True when data/<dataset> on disk matches what its pointer pins: by content hash (verify, the default; ~0.1 s
    for Fashion-MNIST's 55 MB), or by DVC's status, which trusts file mtimes and sizes (fast, for a quick look)."""
    pinned = pinned_md5(root, dataset)
    if pinned is None or not (root / "data" / dataset).is_dir():
        return False
    if verify:
        return content_md5(root, dataset) == pinned
    repo = _repo(root)
    try:
        return not repo.status(targets=[str(pointer(root, dataset))])
    finally:
        repo.close()


def add_and_push(root: Path, dataset: str = DEFAULT_DATASET) -> str:
    """`dvc add data/<dataset>` then `dvc push` it to the default remote; returns the new pinned md5."""
    target, path = root / "data" / dataset, pointer(root, dataset)
    written = target.with_name(target.name + ".dvc")  # where `dvc add` puts the pointer
    if path != written:
        path.unlink(missing_ok=True)  # DVC refuses an output that another pointer already declares
    repo = _repo(root)
    try:
        repo.add(str(target))  # DVC resolves relative paths against the cwd: pass an absolute one
    finally:
        repo.close()
    if path != written:  # move it where the layout wants it; its out path is relative to the pointer's folder
        spec = yaml.safe_load(written.read_text())
        spec["outs"][0]["path"] = target.relative_to(path.parent).as_posix()
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
        written.unlink()
    repo = _repo(root)
    try:
        if repo.config.get("core", {}).get("remote"):
            repo.push(targets=[str(path)])
    finally:
        repo.close()
    md5 = pinned_md5(root, dataset)
    assert md5 is not None, f"dvc add wrote no {pointer(root, dataset)}"
    return md5


def git_rev(root: Path, dataset: str = DEFAULT_DATASET) -> str:
    """The workspace's git commit, with '-dirty' when the dataset's pointer differs from it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    rev = git("rev-parse", "HEAD") or "uncommitted"
    tracked = pointer(root, dataset).relative_to(root).as_posix()
    return rev + "-dirty" if git("status", "--porcelain", "--", tracked) else rev
