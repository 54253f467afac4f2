"""Sentiment with the encoder: what pretraining buys (issue 15: "domain-adaptive pretraining, measured against
without"; "beat the n-gram baseline … if it does not, show what was tried with numbers").

Fine-tunes configs/encoder-sentiment-zh.yaml's classifier, on the family's own trainer and evaluation, from
- encoder-reviews-zh@champion   (People's Daily, then the unlabelled training reviews: the semi-supervised variant)
- encoder-peoplesdaily@champion (People's Daily only)
- a new encoder (from scratch)
for each schedule given, all on the same seed, batches and held-out reviews; the TF-IDF character n-gram logistic
regression is printed once. Needs both champions (README, "…tag entities and classify with the encoder").
Run: .venv/bin/python bench/encoder_sentiment.py [STEPS:LR …]   (default: 800:5e-4 1600:2e-4)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent.parent))
from components import tracking  # noqa: E402
from components.families import load_config  # noqa: E402
from components.families.base import TrainJob  # noqa: E402
from components.families.encoder import evaluation, steps  # noqa: E402
from components.registry.registry import training_checkpoints  # noqa: E402
from components.workspace import Workspace  # noqa: E402

ROOT = Path(__file__).parent.parent
BASES = ("encoder-reviews-zh", "encoder-peoplesdaily")


def main(schedules: list[tuple[int, float]]) -> None:
    torch.set_num_threads(2)
    ws = Workspace.at(None)
    client = tracking.configure(ws)
    data = ROOT / "data" / "sentiment-zh"
    with tempfile.TemporaryDirectory() as tmp:
        sources = {b: training_checkpoints(client, f"{b}@champion", Path(tmp) / b) for b in BASES}
        print(f"{'start':<22} {'steps':>5} {'lr':>7} {'s':>4} {'accuracy':>8} {'macro F1':>8}  n-gram LR", flush=True)
        for n, lr in schedules:
            for base in BASES:
                first = base == BASES[0]  # its run also trains the from-scratch twin (same steps and batches)
                cfg = load_config(ROOT / "configs" / "encoder-sentiment-zh.yaml", {
                    "train": {"max_steps": n, "lr": lr, "min_lr": lr / 10, "compare_scratch": first},
                    "sources": {"model": base}})  # fmt: skip
                started = time.perf_counter()
                result = steps.train(cfg, TrainJob(data, Path(tmp) / f"{base}-{n}-{lr}", sources[base]))
                seconds = time.perf_counter() - started
                m, _, _ = evaluation.classify_metrics(steps.read(result.checkpoint), data, cfg, "cpu")
                rows = [(base, m["accuracy"], m["f1_macro"])]
                if first:
                    rows.append(("scratch", m["scratch_accuracy"], m["scratch_f1_macro"]))
                for name, accuracy, f1 in rows:
                    print(f"{name:<22} {n:>5} {lr:>7.0e} {seconds:>4.0f} {accuracy:>8.4f} {f1:>8.4f}  "
                          f"{m['ngram_accuracy']:.4f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    args = sys.argv[1:] or ["800:5e-4", "1600:2e-4"]
    main([(int(a.split(":")[0]), float(a.split(":")[1])) for a in args])
