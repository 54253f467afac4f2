"""The numpy audio path of the speech family against librosa itself: the same STFT, inverse and Griffin-Lim; a
known signal's features; WAV files that round-trip."""

from __future__ import annotations

import numpy as np
import pytest

from components import audio

librosa = pytest.importorskip("librosa")
KW = {"n_fft": audio.N_FFT, "hop_length": audio.HOP, "win_length": audio.N_FFT, "window": "hann", "center": True}


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    """A 440 Hz tone gliding up, with noise: 2.032 s at 8 kHz."""
    t = np.arange(audio.CLIP_SAMPLES) / audio.SAMPLE_RATE
    rng = np.random.default_rng(0)
    return 0.5 * np.sin(2 * np.pi * (440 * t + 200 * t**2)) + 0.01 * rng.standard_normal(t.shape)


def test_stft_and_its_inverse_are_librosas(clip):
    ours = audio.stft(clip)
    theirs = librosa.stft(clip, pad_mode="constant", **KW)
    assert ours.shape == (audio.N_FFT // 2 + 1, audio.FRAMES) == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-9)
    np.testing.assert_allclose(audio.istft(ours, len(clip)), librosa.istft(theirs, length=len(clip), **KW), atol=1e-9)
    np.testing.assert_allclose(audio.istft(ours, len(clip)), clip, atol=1e-9)  # perfect reconstruction
    batch = audio.stft(np.stack([clip, clip[::-1]]))
    np.testing.assert_allclose(batch[1], audio.stft(clip[::-1]), atol=1e-12)  # batched = one by one


def test_griffin_lim_is_librosas_and_recovers_the_magnitude(clip):
    mag = np.abs(audio.stft(clip))
    ours = audio.griffin_lim(mag, len(clip))
    theirs = librosa.griffinlim(mag, n_iter=audio.GRIFFIN_LIM_ITERATIONS, momentum=audio.GRIFFIN_LIM_MOMENTUM,
                                init=None, length=len(clip), pad_mode="constant", **KW)  # fmt: skip
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    # The phase is lost, the magnitude comes back: spectral convergence well under 0.3 after 32 iterations.
    error = np.linalg.norm(np.abs(audio.stft(ours)) - mag) / np.linalg.norm(mag)
    assert error < 0.3


def test_features_of_silence_a_tone_and_their_inverse(clip):
    silence = audio.log_magnitude(np.zeros((1, audio.CLIP_SAMPLES), dtype=np.int16))
    assert silence.shape == (1, audio.BINS, audio.FRAMES) and silence.dtype == np.float32
    np.testing.assert_allclose(silence, np.log(audio.LOG_OFFSET), rtol=1e-6)
    t = np.arange(audio.CLIP_SAMPLES) / audio.SAMPLE_RATE
    tone = audio.log_magnitude((0.5 * np.sin(2 * np.pi * 1000 * t))[None])[0]
    assert abs(int(tone[:, 64].argmax()) - 1000 * audio.N_FFT // audio.SAMPLE_RATE) == 0  # bin 32 = 1 kHz
    features = audio.log_magnitude(clip[None])
    np.testing.assert_allclose(audio.magnitude(features)[0, : audio.BINS], np.abs(audio.stft(clip))[: audio.BINS],
                               rtol=1e-4, atol=1e-6)  # fmt: skip
    with pytest.raises(ValueError, match="16256 samples"):
        audio.log_magnitude(np.zeros((1, 100)))


def test_log_spectral_distance_known_answers(clip):
    a = audio.log_magnitude(clip[None])
    assert audio.log_spectral_distance(a, a)[0] == 0
    louder = a + np.log(10.0)  # every magnitude × 10 (in the log domain): 20 dB everywhere
    np.testing.assert_allclose(audio.log_spectral_distance(a, louder), 20.0, rtol=1e-5)


def test_wav_files_round_trip(tmp_path, clip):
    path = audio.write_wav(tmp_path / "a.wav", clip)
    samples, rate = audio.read_wav(path)
    assert rate == audio.SAMPLE_RATE and samples.dtype == np.int16 and len(samples) == len(clip)
    np.testing.assert_allclose(samples / 32767, clip, atol=1 / 32767)
    import soundfile  # librosa's reader

    loaded, rate = soundfile.read(path)
    assert rate == audio.SAMPLE_RATE
    np.testing.assert_allclose(loaded, samples / 32768, atol=1e-9)
