"""Audio in numpy alone (the torch-free consumer renders a generated spectrogram to a WAV with it): the short-time
Fourier transform of the speech family, its log-magnitude features, Griffin-Lim phase recovery and 16-bit WAV files.

The transforms are librosa's (`librosa.stft`/`istft`/`griffinlim` with `center=True`, zero padding, a periodic Hann
window; tests/test_audio.py checks them against librosa itself), written here so that serving needs numpy only.

    waveform (N, 16256) float in [-1, 1] at 8 kHz  ── stft ──▶  (N, 129, 128) complex
    log_magnitude: log(|X| + LOG_OFFSET) of the lowest 128 bins (the 4 kHz bin dropped) → (N, 128, 128) float32
    to_waveform: exp(features) − LOG_OFFSET, the dropped bin as 0 ── Griffin-Lim (32 iterations, momentum 0.99) ──▶ wave
"""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np

SAMPLE_RATE = 8000
N_FFT = 256  # 32 ms windows
HOP = 128  # 16 ms hops
CLIP_SAMPLES = 16256  # 2.032 s: 1 + 16256 / 128 = 128 frames
BINS = 128  # of N_FFT // 2 + 1 = 129: the 4 kHz (Nyquist) bin is dropped — telephone speech has nothing there
FRAMES = 1 + CLIP_SAMPLES // HOP
LOG_OFFSET = 1e-3  # log(|X| + 1e-3): silence reads −6.9, loud speech ≈ +4
GRIFFIN_LIM_ITERATIONS = 32
GRIFFIN_LIM_MOMENTUM = 0.99  # "fast Griffin-Lim" (Perraudin et al. 2013), librosa's default


def window() -> np.ndarray:
    """The periodic Hann window of N_FFT samples (scipy.signal.get_window('hann', N_FFT, fftbins=True))."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float64)


def stft(x: np.ndarray) -> np.ndarray:
    """(…, L) real → (…, N_FFT // 2 + 1, 1 + L // HOP) complex; frames centred (zero padding of N_FFT // 2)."""
    x = np.asarray(x, dtype=np.float64)
    pad = [(0, 0)] * (x.ndim - 1) + [(N_FFT // 2, N_FFT // 2)]
    padded = np.pad(x, pad)
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT, axis=-1)[..., ::HOP, :]  # (…, T, N_FFT)
    return np.swapaxes(np.fft.rfft(frames * window(), axis=-1), -1, -2)


def istft(spec: np.ndarray, length: int) -> np.ndarray:
    """The inverse of stft by weighted overlap-add: (…, N_FFT // 2 + 1, T) complex → (…, length) float64."""
    frames = np.fft.irfft(np.swapaxes(spec, -1, -2), n=N_FFT, axis=-1) * window()  # (…, T, N_FFT)
    n_frames = frames.shape[-2]
    total = N_FFT + HOP * (n_frames - 1)
    out = np.zeros(frames.shape[:-2] + (total,))
    envelope = np.zeros(total)
    square = window() ** 2
    for t in range(n_frames):
        out[..., t * HOP : t * HOP + N_FFT] += frames[..., t, :]
        envelope[t * HOP : t * HOP + N_FFT] += square
    nonzero = envelope > np.finfo(np.float64).tiny
    out[..., nonzero] /= envelope[nonzero]
    out = out[..., N_FFT // 2 :]
    if out.shape[-1] < length:
        out = np.pad(out, [(0, 0)] * (out.ndim - 1) + [(0, length - out.shape[-1])])
    return out[..., :length]


def log_magnitude(waveforms: np.ndarray) -> np.ndarray:
    """int16 or float waveforms (N, CLIP_SAMPLES) → float32 features (N, BINS, FRAMES): what the VAE models."""
    x = np.asarray(waveforms)
    if x.dtype == np.int16:
        x = x.astype(np.float64) / 32768.0
    if x.shape[-1] != CLIP_SAMPLES:
        raise ValueError(f"expected clips of {CLIP_SAMPLES} samples, got {x.shape[-1]}")
    return np.log(np.abs(stft(x))[..., :BINS, :] + LOG_OFFSET).astype(np.float32)


def magnitude(features: np.ndarray) -> np.ndarray:
    """The inverse of log_magnitude's log: (…, BINS, T) → (…, BINS + 1, T) magnitudes, the dropped bin as 0."""
    mag = np.maximum(np.exp(np.asarray(features, dtype=np.float64)) - LOG_OFFSET, 0.0)
    return np.concatenate([mag, np.zeros(mag.shape[:-2] + (1, mag.shape[-1]))], axis=-2)


def griffin_lim(
    mag: np.ndarray,
    length: int = CLIP_SAMPLES,
    iterations: int = GRIFFIN_LIM_ITERATIONS,
    momentum: float = GRIFFIN_LIM_MOMENTUM,
) -> np.ndarray:
    """A waveform whose STFT magnitude is close to `mag` (…, N_FFT // 2 + 1, T): phases from zero, then fast
    Griffin-Lim — librosa.griffinlim(init=None) step for step."""
    eps = np.finfo(np.float64).tiny
    angles = mag.astype(np.complex128)
    previous = None
    for _ in range(iterations):
        rebuilt = stft(istft(angles, length))
        angles = rebuilt.copy()
        if previous is not None:
            angles -= (momentum / (1 + momentum)) * previous
        angles /= np.abs(angles) + eps
        angles *= mag
        previous = rebuilt
    return istft(angles, length)


def to_waveform(features: np.ndarray, iterations: int = GRIFFIN_LIM_ITERATIONS) -> np.ndarray:
    """Features (N, BINS, FRAMES) → float waveforms (N, CLIP_SAMPLES) in [-1, 1] (clipped)."""
    return np.clip(griffin_lim(magnitude(features), CLIP_SAMPLES, iterations), -1.0, 1.0)


def wav_bytes(waveform: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """A mono 16-bit PCM WAV file of a float waveform in [-1, 1] (clipped), or int16 samples as they are."""
    x = np.asarray(waveform)
    if x.dtype != np.int16:
        x = np.round(np.clip(x, -1.0, 1.0) * 32767).astype(np.int16)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(x.astype("<i2").tobytes())
    return buffer.getvalue()


def write_wav(path: str | Path, waveform: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    path = Path(path)
    path.write_bytes(wav_bytes(waveform, sample_rate))
    return path


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """(int16 samples, sample rate) of a mono 16-bit PCM WAV; anything else is a ValueError naming the file."""
    with wave.open(str(path), "rb") as src:
        if src.getnchannels() != 1 or src.getsampwidth() != 2 or src.getcomptype() != "NONE":
            raise ValueError(
                f"{path}: not mono 16-bit PCM ({src.getnchannels()} channels, {8 * src.getsampwidth()}-bit, "
                f"{src.getcomptype()})"
            )
        return np.frombuffer(src.readframes(src.getnframes()), dtype="<i2").astype(np.int16), src.getframerate()


def log_spectral_distance(features_a: np.ndarray, features_b: np.ndarray) -> np.ndarray:
    """Per clip: the root mean square over bins of the difference of 20·log10 magnitudes, averaged over frames (dB).
    Features are log_magnitude's (natural log of |X| + LOG_OFFSET)."""
    db = 20.0 / np.log(10.0)
    diff = (np.asarray(features_a, np.float64) - np.asarray(features_b, np.float64)) * db  # (N, BINS, T)
    return np.sqrt((diff**2).mean(axis=-2)).mean(axis=-1)
