"""Run exported generators with onnxruntime and numpy alone: the consumer path never imports torch."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
import onnxruntime as ort  # noqa: E402  (after the telemetry switch)
from onnxruntime.capi import onnxruntime_pybind11_state as _ort_errors  # noqa: E402

from components.errors import BadInputError  # noqa: E402
from components.images import grid, to_uint8  # noqa: E402

MAX_IMAGE_SIDE = 4096
"""Input images wider or taller than this are refused before they are decoded (a small PNG can claim to be
20000×20000 and inflate to gigabytes): downscale them first."""

# What onnxruntime raises for a file it cannot load as a model (missing, not ONNX, truncated, unsupported operators).
_ORT_LOAD_ERRORS = tuple(
    getattr(_ort_errors, name)
    for name in (
        "Fail",
        "InvalidArgument",
        "InvalidGraph",
        "InvalidProtobuf",
        "NoModel",
        "NoSuchFile",
        "NotImplemented",
        "RuntimeException",
    )
    if hasattr(_ort_errors, name)
)


def session(path: str | Path, threads: int = 2) -> ort.InferenceSession:
    """An onnxruntime CPU session; a file that is missing, empty or not a loadable ONNX model is a BadInputError
    that names it."""
    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"no such ONNX model file: {path}")
    if path.stat().st_size == 0:
        raise BadInputError(f"{path} is empty (0 bytes), not an ONNX model: export or `genforge pull` it again")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except _ORT_LOAD_ERRORS as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        reason = reason.split(" failed:")[-1].strip() or reason  # "[ONNXRuntimeError] : 7 : … failed:Protobuf …"
        raise BadInputError(
            f"{path} is not a valid ONNX model ({reason[:200]}): it may be truncated or not ONNX at all; "
            "export or `genforge pull` it again"
        ) from None


def latent_dim(sess: ort.InferenceSession) -> int:
    shape = sess.get_inputs()[0].shape  # ['batch', latent_dim]
    if len(shape) != 2 or not isinstance(shape[1], int):
        raise ValueError(f"not a GenForge image generator: its input has shape {shape}, expected (batch, latent_dim)")
    return shape[1]


def classes(sess: ort.InferenceSession) -> list[str] | None:
    """Class names of a conditional generator (its ONNX metadata), None for an unconditional one."""
    if [i.name for i in sess.get_inputs()] != ["z", "labels"]:
        return None
    names = sess.get_modelmeta().custom_metadata_map.get("genforge.classes")
    return json.loads(names) if names else None


def generate(onnx_path: str | Path, n: int, seed: int = 0, labels: np.ndarray | None = None) -> np.ndarray:
    """n images from N(0, I) latents drawn with numpy's seeded generator → uint8 (n, H, W, C).

    A conditional generator needs `labels` (n class indices); an unconditional one refuses them.
    """
    sess = session(onnx_path)
    names = classes(sess)
    z = np.random.default_rng(seed).standard_normal((n, latent_dim(sess))).astype(np.float32)
    feed = {sess.get_inputs()[0].name: z}
    if names is None and labels is not None:
        raise ValueError(f"{onnx_path} is an unconditional generator: it takes no class label")
    if names is not None:
        if labels is None:
            raise ValueError(f"{onnx_path} is a conditional generator: give the class labels (0–{len(names) - 1})")
        labels = np.asarray(labels, dtype=np.int64)
        bad = labels[(labels < 0) | (labels >= len(names))]
        if bad.size:
            choices = ", ".join(f"{i}={name}" for i, name in enumerate(names))
            raise ValueError(f"class label {int(bad[0])} does not exist; choose one of {choices}")
        feed["labels"] = labels
    (images,) = sess.run(None, feed)
    return to_uint8(images)


def generate_grid(onnx_path: str | Path, n: int, seed: int = 0, label: int | None = None) -> np.ndarray:
    """A grid of n samples; a conditional generator without `label` gives one row per class (ceil(n / classes)
    samples in each row), with `label` n samples of that class."""
    names = classes(session(onnx_path))
    if names is None:
        if label is not None:
            raise ValueError(f"{onnx_path} is an unconditional generator: --label needs a conditional one (cgan)")
        return grid(generate(onnx_path, n, seed))
    if label is not None:
        return grid(generate(onnx_path, n, seed, np.full(n, label)))
    per_row = -(-n // len(names))
    return grid(generate(onnx_path, per_row * len(names), seed, np.arange(per_row * len(names)) // per_row), per_row)


def open_image(path: str | Path, mode: str):
    """Open an image file and convert it to `mode` (a decoded PIL image), refusing what cannot be one: a missing,
    empty or non-image file, a damaged one, and one larger than MAX_IMAGE_SIDE on a side (checked from its header,
    before any pixel is decoded). Each refusal is a BadInputError naming the file."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    expects = "give a PNG or JPEG image"
    if not path.is_file():
        raise BadInputError(f"no such image file: {path}")
    if path.stat().st_size == 0:
        raise BadInputError(f"{path} is empty (0 bytes): {expects}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size check below decides
        try:
            with Image.open(path) as picture:
                width, height = picture.size
                if max(width, height) > MAX_IMAGE_SIDE:
                    raise BadInputError(
                        f"{path} is {width}×{height} pixels, above the {MAX_IMAGE_SIDE}×{MAX_IMAGE_SIDE} cap: "
                        "downscale it first"
                    )
                return picture.convert(mode)
        except BadInputError:
            raise
        except Image.DecompressionBombError:
            raise BadInputError(
                f"{path} claims more pixels than PIL will decode (a decompression bomb?); images above "
                f"{MAX_IMAGE_SIDE}×{MAX_IMAGE_SIDE} are refused: downscale it first"
            ) from None
        except UnidentifiedImageError:
            raise BadInputError(f"{path} is not an image PIL can read: {expects}") from None
        except (OSError, SyntaxError, ValueError) as exc:  # truncated or corrupt pixel data
            raise BadInputError(f"{path} is a damaged image ({str(exc)[:120]}): {expects}") from None


def load_images(paths: list[str | Path], size: tuple[int, int]) -> np.ndarray:
    """PNG/JPEG files → float32 (N, 1, H, W) in [-1, 1]: grey, resized (PIL bicubic) to the model's input size.
    Unusable files are a BadInputError (see open_image)."""
    from PIL import Image

    batch = []
    for path in paths:
        picture = open_image(path, "L")
        if picture.size != size[::-1]:
            picture = picture.resize(size[::-1], Image.BICUBIC)
        batch.append(np.asarray(picture, dtype=np.float32) / 127.5 - 1.0)
    return np.stack(batch)[:, None]


def detect(onnx_path: str | Path, paths: list[str | Path]) -> np.ndarray:
    """Probability that each image is generated, from an exported GenForge detector."""
    sess = session(onnx_path)
    spec = sess.get_inputs()[0]
    if spec.name != "image" or len(spec.shape) != 4:
        raise ValueError(f"not a GenForge detector: its input is {spec.name} {spec.shape}, expected image (B, 1, H, W)")
    (probabilities,) = sess.run(None, {"image": load_images(paths, tuple(spec.shape[2:]))})
    return probabilities


def repair(
    decoder_onnx: str | Path,
    encoder_onnx: str | Path,
    images: list[str | Path] | np.ndarray,
    box: tuple[int, int, int, int],
    steps: int = 20,
) -> np.ndarray:
    """Fill the box x0,y0,x1,y1 (half-open, x = column) of each image with an exported VAE (decoder = model.onnx,
    encoder.onnx), by the same algorithm as the evaluation (components.repair.vae_repair).

    `images`: image files (grey, resized to 28×28) or float (N, 1, 28, 28) in [-1, 1]. Returns float32
    (N, 1, 28, 28) in [-1, 1]; the pixels outside the box are the input's, unchanged.
    """
    from components.repair import box_mask, check_box, vae_repair

    decoder, encoder = session(decoder_onnx), session(encoder_onnx)
    spec = encoder.get_inputs()[0]
    if len(spec.shape) != 4 or encoder.get_outputs()[0].name != "posterior":
        raise ValueError(f"{encoder_onnx} is not a GenForge VAE encoder: input {spec.name} {spec.shape}")
    size = tuple(spec.shape[2:])
    if isinstance(images, np.ndarray):
        x = np.asarray(images, dtype=np.float32)
        if x.ndim != 4 or tuple(x.shape[1:]) != (1, *size):
            raise ValueError(f"images must be (N, 1, {size[0]}, {size[1]}) in [-1, 1], got shape {x.shape}")
    else:
        x = load_images(list(images), size)
    check_box(box, size)
    d = latent_dim(decoder)

    def encode(batch: np.ndarray) -> np.ndarray:
        return encoder.run(None, {spec.name: batch})[0][:, :d]  # the posterior mean; its log-variance follows

    def decode(z: np.ndarray) -> np.ndarray:
        return decoder.run(None, {decoder.get_inputs()[0].name: z})[0]

    return vae_repair(x, box_mask(box, size), encode, decode, steps=steps)


def load_rgb(paths: list[str | Path], size: tuple[int, int] = (64, 64)) -> np.ndarray:
    """Image files → uint8 (N, H, W, 3): any mode to RGBA, composited on white (as the emoji data set was), resized
    with PIL bicubic to the model's input size."""
    from PIL import Image

    batch = []
    for path in paths:
        rgba = open_image(path, "RGBA")
        if rgba.size != size[::-1]:
            rgba = rgba.resize(size[::-1], Image.BICUBIC)
        pixels = np.asarray(rgba, dtype=np.uint32)
        alpha = pixels[..., 3:]
        batch.append(((pixels[..., :3] * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8))
    return np.stack(batch)


def translate(onnx_path: str | Path, image_paths: list[str | Path]) -> np.ndarray:
    """Run an exported GenForge image translator (a CycleGAN's model.onnx or reverse.onnx) → uint8 (N, 64, 64, 3)."""
    sess = session(onnx_path)
    spec = sess.get_inputs()[0]
    if spec.name != "image" or len(spec.shape) != 4 or spec.shape[1] != 3:
        raise ValueError(
            f"not a GenForge image translator: its input is {spec.name} {spec.shape}, expected image (B, 3, H, W)"
        )
    size = tuple(d if isinstance(d, int) else 64 for d in spec.shape[2:])
    x = load_rgb(image_paths, size).astype(np.float32).transpose(0, 3, 1, 2) / 127.5 - 1.0
    (images,) = sess.run(None, {"image": x})
    return to_uint8(images)
