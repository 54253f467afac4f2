"""The GPT family's pieces without the pipeline: the LM trainer overfits a tiny text, and the classification
fine-tune gets a separable toy task right (as does the bag-of-n-grams baseline), through ONNX and serving too."""

import json
import random

import numpy as np
import pytest
import torch

from components import families
from components.families import parse_config
from components.families.base import EvalJob, TrainJob
from components.families.gpt import steps as gpt
from components.models.gpt import GPT, GPTClassifier, GPTConfig
from components.serving_text import classify
from components.training.lm_trainer import NextTokenTrainer, fit_lm


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _tiny_lm(max_steps: int = 150, log_every: int = 50):
    cfg = parse_config({"family": "gpt", "train": {"max_steps": max_steps, "batch_size": 8, "warmup_steps": 10,
                                                   "lr": 3e-3, "log_every": log_every}})  # fmt: skip
    torch.manual_seed(0)
    return cfg, GPT(GPTConfig(vocab_size=16, block_size=16, n_layer=1, n_head=2, n_embd=32))


PERIOD_11 = np.array([i % 11 for i in range(300)], dtype=np.int64)


def test_lm_trainer_overfits_a_tiny_text(tmp_path):
    cfg, model = _tiny_lm()
    steps = []
    trainer = NextTokenTrainer(model, PERIOD_11, cfg.train, 0, {}, tmp_path, snapshot=lambda step: steps.append(step)
                               or {"model": model.state_dict()})  # fmt: skip
    history = trainer.fit().history
    assert history[0]["loss"] > 1.0 and history[-1]["loss"] < 0.1
    assert steps == [75, 150]  # two snapshots (the default), the last after the final step
    assert sorted(p.name for p in tmp_path.glob("*.pt")) == ["epoch_001.pt", "epoch_002.pt"]
    assert set(history[0]) == {"step", "loss", "lr", "tokens_per_s"}
    again = fit_lm(_tiny_lm()[1], PERIOD_11, cfg.train, seed=0)  # the same loop, no files kept
    assert [row["loss"] for row in again] == [row["loss"] for row in history]


def test_lm_resumed_run_matches_an_uninterrupted_one(tmp_path):
    """Killed after its first snapshot, the LM run resumes from it and ends with the same weights and losses."""

    class Crash(Exception):
        pass

    def crash_at(step):
        def on_log(row):
            if row["step"] == step:
                raise Crash

        return on_log

    cfg, model = _tiny_lm(max_steps=40, log_every=10)
    straight = NextTokenTrainer(model, PERIOD_11, cfg.train, 0, {"seed": 0}, tmp_path / "straight").fit()
    straight_weights = {k: v.clone() for k, v in model.state_dict().items()}

    _, crashed = _tiny_lm(max_steps=40, log_every=10)
    with pytest.raises(Crash):
        NextTokenTrainer(crashed, PERIOD_11, cfg.train, 0, {"seed": 0}, tmp_path / "resumed", crash_at(30)).fit()
    _, fresh = _tiny_lm(max_steps=40, log_every=10)
    torch.manual_seed(123)  # a resumed process starts with another global RNG state: the checkpoint restores it
    resumed = NextTokenTrainer(fresh, PERIOD_11, cfg.train, 0, {"seed": 0}, tmp_path / "resumed").fit(resume=True)

    assert resumed.steps == straight.steps == 40
    assert [r["loss"] for r in resumed.history] == [r["loss"] for r in straight.history]
    for name, value in fresh.state_dict().items():
        assert torch.equal(value, straight_weights[name]), name


POSITIVE = ["质量很好", "非常满意", "很好用", "推荐购买"]
NEGATIVE = ["质量很差", "非常失望", "不好用", "不要购买"]
FILLER = "这个东西我们昨天收到了包装还行物流"


def _toy(rng: random.Random, n: int) -> list[dict]:
    rows = []
    for i in range(n):
        label = i % 2
        core = rng.choice(POSITIVE if label else NEGATIVE)
        text = "".join(rng.choice(FILLER) for _ in range(rng.randint(2, 6))) + core
        rows.append({"text": text, "label": label})
    return rows


@pytest.fixture(scope="module")
def toy_classifier(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sentiment-zh")
    rng = random.Random(0)
    for split, n in (("train", 160), ("held_out", 40)):
        lines = [json.dumps(r, ensure_ascii=False) for r in _toy(rng, n)]
        (folder / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "meta.json").write_text(json.dumps({"classes": ["negative", "positive"]}))
    cfg = parse_config({
        "family": "gpt", "dataset": "sentiment-zh", "seed": 0,
        "tokenizer": {"vocab_size": 300},
        "model": {"block_size": 16, "n_layer": 1, "n_head": 2, "n_embd": 32},
        "train": {"max_steps": 150, "batch_size": 16, "warmup_steps": 10, "lr": 3e-3, "log_every": 50,
                  "num_threads": 1},
    })  # fmt: skip
    result = gpt.train(cfg, TrainJob(folder, tmp_path_factory.mktemp("ckpt")))
    return cfg, folder, result.checkpoint


def test_classifier_and_ngram_baseline_get_a_separable_task_right(toy_classifier):
    cfg, folder, checkpoint = toy_classifier
    model = gpt.load(checkpoint)
    assert isinstance(model, GPTClassifier) and model.class_names == ["negative", "positive"]
    metrics = gpt.evaluate(model, cfg, EvalJob(checkpoint, folder, "", folder)).metrics
    assert metrics["accuracy"] == 1.0 and metrics["f1_macro"] == 1.0
    assert metrics["ngram_accuracy"] == 1.0 and metrics["ngram_f1_macro"] == 1.0
    assert metrics["n_test"] == 40


def test_exported_classifier_classifies_without_torch_code(toy_classifier, tmp_path):
    cfg, _, checkpoint = toy_classifier
    model = gpt.load(checkpoint)
    path = tmp_path / "model.onnx"
    assert families.get("gpt").export_graph(model, path, cfg.export) < 1e-4
    (tokenizer,) = gpt.extra_files(checkpoint, tmp_path)
    p = classify(path, tokenizer, ["质量很好", "质量很差"])
    assert p.shape == (2, 2) and p[0, 1] > 0.5 and p[1, 0] > 0.5
