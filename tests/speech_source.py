"""Tiny synthetic "speech" for the speech VAE's tests: one folder of 8 kHz mono 16-bit WAVs per "language", each
language a pitch range of harmonic tones with a varying length, vibrato and envelope, plus a little noise — as
different from one another as the five real voices, and learnt in seconds."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from components import audio

LANGUAGES = ("lo", "mid", "hi")
PITCH = {"lo": 180.0, "mid": 420.0, "hi": 900.0}


def clip(lang: str, rng: np.random.Generator) -> np.ndarray:
    """One int16 clip of 0.5–1.9 s."""
    n = int(rng.uniform(0.5, 1.9) * audio.SAMPLE_RATE)
    t = np.arange(n) / audio.SAMPLE_RATE
    f0 = PITCH[lang] * rng.uniform(0.85, 1.15) * (1 + 0.03 * np.sin(2 * np.pi * rng.uniform(3, 6) * t))
    phase = 2 * np.pi * np.cumsum(f0) / audio.SAMPLE_RATE
    tone = sum(np.sin(k * phase) / k for k in range(1, 5) if k * f0.max() < audio.SAMPLE_RATE / 2)
    envelope = np.minimum(1, t / 0.05) * np.minimum(1, (t[-1] - t) / 0.1)
    x = 0.3 * envelope * tone / 2 + 0.005 * rng.standard_normal(n)
    return np.round(np.clip(x, -1, 1) * 32767).astype(np.int16)


def write_speech_source(folder: Path, per_language: int = 40, seed: int = 0) -> Path:
    """folder/<lang>/clip_NNN.wav for each language; returns folder."""
    rng = np.random.default_rng(seed)
    for lang in LANGUAGES:
        (folder / lang).mkdir(parents=True, exist_ok=True)
        for i in range(per_language):
            with wave.open(str(folder / lang / f"clip_{i:03d}.wav"), "wb") as out:
                out.setnchannels(1)
                out.setsampwidth(2)
                out.setframerate(audio.SAMPLE_RATE)
                out.writeframes(clip(lang, rng).astype("<i2").tobytes())
    return folder


def speech_config(source: Path) -> dict:
    """The data section that reads such a folder."""
    return {"source_dir": str(source), "languages": list(LANGUAGES), "verify_checksums": False,
            "held_out_share": 0.25}  # fmt: skip
