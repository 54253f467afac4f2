"""Fashion-MNIST source: find the original IDX files, verify them, parse them into arrays."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from components.errors import UserError

ENV_VAR = "GENFORGE_FASHION_MNIST_DIR"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
DOWNLOAD_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
LICENCE = "MIT (Zalando SE, 2017)"
SOURCE_PACKAGE = "Debian dataset-fashion-mnist 0.0~git20200523.55506a9-1"

# sha256 of the *decompressed* IDX payloads: compression differs between mirrors, the content does not.
FILES = {
    "train-images": ("train-images-idx3-ubyte.gz", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    "train-labels": ("train-labels-idx1-ubyte.gz", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    "test-images": ("t10k-images-idx3-ubyte.gz", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
    "test-labels": ("t10k-labels-idx1-ubyte.gz", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
}
HOW_TO_GET = (
    "Get the Fashion-MNIST IDX files one of these ways:\n"
    "  - sudo apt-get install dataset-fashion-mnist   (files land in /usr/share/datasets/fashion-mnist)\n"
    f"  - export {ENV_VAR}=/path/to/folder          (holding the four *-ubyte.gz files)\n"
    "  - set data.source_dir in the config YAML\n"
    f"  - on a machine with internet, GenForge downloads them from {DOWNLOAD_URL}"
)


class SourceError(UserError, ValueError):
    """The raw data is missing or unusable; the message says which file and how to fix it."""


@dataclass(frozen=True)
class FashionMNIST:
    train_images: np.ndarray  # (60000, 28, 28) uint8
    train_labels: np.ndarray  # (60000,) uint8
    test_images: np.ndarray
    test_labels: np.ndarray
    checksums: dict[str, str]  # file name → sha256 of its IDX payload


def locate(source_dir: str | None, download_dir: Path) -> Path:
    """The folder holding all four files: an explicit one (config, then environment) is used alone, since a wrong
    explicit path is a mistake to report; otherwise the Debian package, an earlier download, a new download."""
    explicit = source_dir or os.environ.get(ENV_VAR)
    if explicit:
        missing = [name for name, _ in FILES.values() if not (Path(explicit) / name).is_file()]
        if missing:
            raise SourceError(f"{explicit} lacks {', '.join(missing)}.\n{HOW_TO_GET}")
        return Path(explicit)
    for folder in (DEBIAN_DIR, download_dir):
        if all((folder / name).is_file() for name, _ in FILES.values()):
            return folder
    return download(download_dir)


def download(download_dir: Path, timeout: float = 10.0) -> Path:
    """Fetch the canonical files, verifying each before it is kept; fails with instructions when offline."""
    download_dir.mkdir(parents=True, exist_ok=True)
    for name, expected in FILES.values():
        target = download_dir / name
        if target.is_file():
            continue
        partial = target.with_suffix(".part")
        try:
            with urllib.request.urlopen(DOWNLOAD_URL + name, timeout=timeout) as response, open(partial, "wb") as out:
                shutil.copyfileobj(response, out)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise SourceError(
                f"Fashion-MNIST is not on this machine and downloading it failed ({exc}).\n{HOW_TO_GET}"
            ) from None
        read_idx(partial, expected)  # refuse a corrupt download before it takes the real name
        partial.rename(target)
    return download_dir


def read_idx(path: Path, expected_sha256: str | None = None) -> tuple[np.ndarray, str]:
    """Parse one gzipped IDX file (uint8 payload), checking magic, dimensions, length and checksum.

    Returns the array and the sha256 of the decompressed payload.
    """
    try:
        payload = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as exc:
        raise SourceError(
            f"{path}: not a readable gzip file ({exc}); the file is corrupt or truncated — fetch it again"
        ) from None
    actual = hashlib.sha256(payload).hexdigest()
    if expected_sha256 is not None and actual != expected_sha256:
        raise SourceError(
            f"{path}: checksum mismatch (sha256 {actual[:12]}…, expected {expected_sha256[:12]}…): the file is "
            "corrupt or not the original Fashion-MNIST. Fetch it again, or set data.verify_checksums: false "
            "for your own IDX files."
        )
    if len(payload) < 8 or payload[:2] != b"\x00\x00" or payload[2] != 0x08:
        raise SourceError(f"{path}: not an unsigned-byte IDX file (bad magic number {payload[:4].hex()})")
    ndim = payload[3]
    header = 4 + 4 * ndim
    if len(payload) < header:
        raise SourceError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(payload[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected_len = header + int(np.prod(shape))
    if len(payload) != expected_len:
        raise SourceError(
            f"{path}: header promises shape {shape} ({expected_len} bytes) but the file holds {len(payload)} bytes — "
            "it is truncated or padded; fetch it again"
        )
    return np.frombuffer(payload, dtype=np.uint8, offset=header).reshape(shape), actual


def load(folder: Path, verify_checksums: bool = True) -> FashionMNIST:
    """Read and validate all four files; nothing is written, so a bad file leaves no trace."""
    arrays, checksums = {}, {}
    for key, (name, expected) in FILES.items():
        arrays[key], checksums[name] = read_idx(folder / name, expected if verify_checksums else None)
    for split in ("train", "test"):
        images, labels = arrays[f"{split}-images"], arrays[f"{split}-labels"]
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise SourceError(
                f"{folder / FILES[f'{split}-images'][0]}: expected images of shape (N, 28, 28), got {images.shape}"
            )
        if labels.ndim != 1 or len(labels) != len(images):
            raise SourceError(
                f"{folder / FILES[f'{split}-labels'][0]}: expected {len(images)} labels, one per image, "
                f"got shape {labels.shape}"
            )
        if labels.size and labels.max() > 9:
            raise SourceError(
                f"{folder / FILES[f'{split}-labels'][0]}: labels must be classes 0–9, found {labels.max()}"
            )
    return FashionMNIST(
        arrays["train-images"], arrays["train-labels"], arrays["test-images"], arrays["test-labels"], checksums
    )
