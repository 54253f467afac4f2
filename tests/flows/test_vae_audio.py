"""The speech VAE end to end through the real flow on synthetic clips made here: data (WAV folders → DVC-versioned
shards) → train → evaluate (ELBO per second, LSD, FID/KID beside the real floor, C2ST, memorisation, WAVs on the
run) → export (decoder and encoder, parity) → promote; then `genforge generate` writes WAVs without torch, and a
resumed run equals an uninterrupted one."""

from __future__ import annotations

import json
import wave

import numpy as np
import pytest
import yaml

from components import audio
from flows.pipeline import pipeline
from mlflow import MlflowClient
from tests.conftest import make_workspace
from tests.speech_source import speech_config, write_speech_source

MODEL = "vae-audio-asterisk-speech"
TINY = {
    "name": "tiny-speech",
    "family": "vae-audio",
    "model": {"latent_dim": 8, "features": 8},
    "train": {"epochs": 8, "batch_size": 16, "lr": 3e-3, "log_every": 2},
    "evaluation": {"num_samples": 24, "bootstrap": 20, "evaluator_epochs": 10, "c2st_epochs": 2, "wav_samples": 2},
    "promotion": {"thresholds": {"exact_copy_fraction": {"max": 0.0}}},
}

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


@pytest.fixture(scope="module")
def speech_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("speech-e2e")
    ws = make_workspace(base / "project", base / "remote")
    (ws / "configs").mkdir()
    config = {**TINY, "data": speech_config(write_speech_source(base / "source", per_language=24))}
    (ws / "configs" / "speech.yaml").write_text(yaml.safe_dump(config))
    return ws, pipeline("configs/speech.yaml", str(ws))


def test_registered_with_its_likelihood_scores_and_wavs_on_the_run(speech_run):
    ws, summary = speech_run
    assert summary["model"] == MODEL and summary["decision"] == "promote", summary["reasons"]
    m = summary["metrics"]
    for key in ("heldout_nats_per_second", "recon_lsd_db", "fid", "fid_real_floor", "kid", "c2st_auc", "kl_nats"):
        assert np.isfinite(m[key]), key
    assert m["kl_nats"] > 0 and m["active_units"] >= 1  # not collapsed onto the prior
    assert m["onnx_parity"] <= 1e-3 and m["exact_copy_fraction"] == 0.0
    meta = json.loads((ws / "data" / "asterisk-speech" / "meta.json").read_text())
    assert meta["sample_rate"] == audio.SAMPLE_RATE

    client = MlflowClient(f"sqlite:///{ws}/mlflow/mlflow.db", f"sqlite:///{ws}/mlflow/mlflow.db")
    version = client.get_model_version_by_alias(MODEL, "champion")
    eval_run = version.tags["genforge.eval_run_id"]
    assert {"spectrograms.png", "reconstructions.png", "nearest_training_clips.png"} <= {
        a.path for a in client.list_artifacts(eval_run)
    }
    wavs = {a.path for a in client.list_artifacts(eval_run, "audio")}
    assert {"audio/sample_00.wav", "audio/sample_01.wav"} <= wavs
    with wave.open(client.download_artifacts(eval_run, "audio/sample_00.wav")) as w:
        assert (w.getframerate(), w.getnchannels(), w.getnframes()) == (audio.SAMPLE_RATE, 1, audio.CLIP_SAMPLES)


def test_generate_writes_wavs_without_torch(speech_run, tmp_path):
    from tests.flows.test_cli import genforge

    ws, _ = speech_run
    out = tmp_path / "clips"
    result = genforge("generate", f"{MODEL}@champion", "-n", "3", "-o", str(out), "--root", str(ws), check_torch=True)
    assert result.returncode == 0, result.stderr
    assert "NO-TORCH" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["sample_00.wav", "sample_01.wav", "sample_02.wav"]
    samples, rate = audio.read_wav(out / "sample_00.wav")
    assert rate == audio.SAMPLE_RATE and len(samples) == audio.CLIP_SAMPLES and np.abs(samples).max() > 100
    wrong = genforge("generate", f"{MODEL}@champion", "-o", str(tmp_path / "x.png"), "--root", str(ws))
    assert wrong.returncode == 2 and "give a folder" in wrong.stderr
