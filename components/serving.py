"""Run exported generators with onnxruntime and numpy alone: the consumer path never imports torch."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
import onnxruntime as ort  # noqa: E402  (after the telemetry switch)

from components.images import grid, to_uint8  # noqa: E402


def session(path: str | Path, threads: int = 2) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def latent_dim(sess: ort.InferenceSession) -> int:
    shape = sess.get_inputs()[0].shape  # ['batch', latent_dim]
    if len(shape) != 2 or not isinstance(shape[1], int):
        raise ValueError(f"not a GenForge image generator: its input has shape {shape}, expected (batch, latent_dim)")
    return shape[1]


def generate(onnx_path: str | Path, n: int, seed: int = 0) -> np.ndarray:
    """n images from N(0, I) latents drawn with numpy's seeded generator → uint8 (n, H, W, C)."""
    sess = session(onnx_path)
    z = np.random.default_rng(seed).standard_normal((n, latent_dim(sess))).astype(np.float32)
    (images,) = sess.run(None, {sess.get_inputs()[0].name: z})
    return to_uint8(images)


def generate_grid(onnx_path: str | Path, n: int, seed: int = 0) -> np.ndarray:
    return grid(generate(onnx_path, n, seed))


def load_images(paths: list[str | Path], size: tuple[int, int]) -> np.ndarray:
    """PNG/JPEG files → float32 (N, 1, H, W) in [-1, 1]: grey, resized (PIL bicubic) to the model's input size."""
    from PIL import Image

    batch = []
    for path in paths:
        picture = Image.open(path).convert("L")
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
