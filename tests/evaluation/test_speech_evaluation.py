"""The speech VAE's likelihood and scores on known answers: the Gaussian term's value at a perfect mean, a KL of
zero at the prior; real held-out clips score the real floor while silence and white noise score far from it;
copies of training clips are flagged, new clips are not."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from components import audio
from components.evaluation.latent import active_units
from components.families.vae_audio import evaluation
from components.families.vae_audio.model import SPREAD, AudioVAE, AudioVAEConfig
from tests.speech_source import LANGUAGES, clip


@pytest.fixture(scope="module")
def splits():
    """Spectrograms and labels of 48 training and 24 held-out synthetic clips of three "languages"."""
    rng = np.random.default_rng(0)

    def make(per: int):
        waves, labels = [], []
        for label, lang in enumerate(LANGUAGES):
            for _ in range(per):
                wave = clip(lang, rng)
                waves.append(np.pad(wave, (0, audio.CLIP_SAMPLES - len(wave))))
                labels.append(label)
        return audio.log_magnitude(np.stack(waves)), np.array(labels)

    return make(16), make(8)


@pytest.fixture(scope="module")
def evaluator(splits, tmp_path_factory):
    train, test = splits
    cache = tmp_path_factory.mktemp("speech-evaluator")
    return evaluation.load_or_train_evaluator(cache, "md5", 15, 0, train, test, classes=3)


def test_the_likelihood_at_a_perfect_mean_and_the_prior(monkeypatch):
    vae = AudioVAE(AudioVAEConfig(latent_dim=4, features=4))
    with torch.no_grad():
        vae.decoder.log_scale.zero_()  # σ = 1 normalised unit = SPREAD nats of log-magnitude
    x = torch.randn(3, 128, 128)
    monkeypatch.setattr(vae.decoder, "normalised_mean", lambda z: (x - (-2.0)) / SPREAD)
    monkeypatch.setattr(vae.encoder, "split", lambda x: (torch.zeros(3, 4), torch.zeros(3, 4)))
    recon, kl = vae.terms(x)
    per_value = 0.5 * math.log(2 * math.pi) + math.log(SPREAD)  # N(x; x, SPREAD²) at σ = 1 normalised unit
    torch.testing.assert_close(recon, torch.full((3,), 128 * 128 * per_value))
    torch.testing.assert_close(kl, torch.zeros(3))


def test_real_clips_score_the_floor_and_silence_and_noise_score_far_from_it(splits, evaluator):
    train, test = splits
    assert evaluator.test_accuracy >= 0.9  # the embedding separates the three voices
    real, _ = evaluation.sample_scores(evaluator, test[0], train[0][::2], 10, 0)  # 24 real clips, 8 per voice
    silence = audio.log_magnitude(np.zeros((24, audio.CLIP_SAMPLES), dtype=np.int16))
    noise = audio.log_magnitude(np.random.default_rng(1).normal(0, 0.1, (24, audio.CLIP_SAMPLES)))
    for far in (silence, noise):
        scores, ci = evaluation.sample_scores(evaluator, test[0], far, 10, 0)
        assert scores["fid"] > 10 * real["fid"] and scores["kid"] > 0.5 > abs(real["kid"])
        assert ci["fid"][0] - 1e-6 <= scores["fid"] <= ci["fid"][1] + 1e-6


def test_copies_of_training_clips_are_flagged_and_new_clips_are_not(splits):
    train, test = splits
    copies = evaluation.nearest_clip_ratio(train[0], train[0][:8], test[0][:8])
    assert copies["exact_copy_fraction"] == 1.0 and copies["nearest_train_distance_ratio"] < 1e-6
    new = evaluation.nearest_clip_ratio(train[0], test[0][8:16], test[0][:8])
    assert new["exact_copy_fraction"] == 0.0 and 0.5 < new["nearest_train_distance_ratio"] < 2.0


def test_active_units_count_the_dimensions_that_vary():
    rng = np.random.default_rng(0)
    means = np.concatenate([rng.normal(0, 1, (100, 3)), np.full((100, 5), 0.2)], axis=1)
    assert active_units(means) == 3
