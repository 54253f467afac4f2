"""Torch-free audio generation from an exported speech VAE: onnxruntime decodes N(0, I) latents to log-magnitude
spectrograms, components/audio.py renders them to waveforms (numpy Griffin-Lim) and 16-bit WAV files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from components import audio
from components.serving import latent_dim, session

SETTINGS = {  # what the graph's metadata must say for components/audio.py to render it
    "genforge.sample_rate": audio.SAMPLE_RATE,
    "genforge.n_fft": audio.N_FFT,
    "genforge.hop": audio.HOP,
    "genforge.clip_samples": audio.CLIP_SAMPLES,
}


def is_audio(sess: ort.InferenceSession) -> bool:
    return sess.get_modelmeta().custom_metadata_map.get("genforge.modality") == "audio"


def check_settings(sess: ort.InferenceSession, path: str | Path) -> None:
    meta = sess.get_modelmeta().custom_metadata_map
    for key, expected in SETTINGS.items():
        if meta.get(key) != str(expected):
            raise ValueError(
                f"{path}: its spectrograms use {key.split('.')[1]} {meta.get(key)}, this GenForge renders {expected}: "
                "use the GenForge version that exported it"
            )


def generate_waveforms(onnx_path: str | Path, n: int, seed: int = 0, iterations: int = 32) -> np.ndarray:
    """n clips from N(0, I) latents (numpy's seeded generator) → float waveforms (n, CLIP_SAMPLES) in [-1, 1]."""
    sess = session(onnx_path)
    if not is_audio(sess):
        raise ValueError(f"{onnx_path} is not an audio generator")
    check_settings(sess, onnx_path)
    z = np.random.default_rng(seed).standard_normal((n, latent_dim(sess))).astype(np.float32)
    (spectrograms,) = sess.run(None, {sess.get_inputs()[0].name: z})
    return audio.to_waveform(spectrograms, iterations)


def write_wavs(waveforms: np.ndarray, folder: str | Path, prefix: str = "sample") -> list[Path]:
    """sample_00.wav, sample_01.wav, … in `folder` (created); returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [audio.write_wav(folder / f"{prefix}_{i:02d}.wav", w) for i, w in enumerate(waveforms)]
