"""BERT's masked-character prediction against ELECTRA's replaced-token detection, at the pretraining budget of
configs/encoder-peoplesdaily.yaml (issue 15: "choose, measure both if cheap, say why").

Both train the same encoder (4 blocks, 128 wide, windows of 64) on People's Daily's train split for the same steps
and batches, on the family's own trainer; both are scored by the family's own held-out evaluation. For ELECTRA the
line to read is its discriminator against the constant guess "nothing replaced" (accuracy = 1 − replaced share,
ROC AUC 0.5): a discriminator that has not left it has learnt nothing a fine-tune could use.
Needs data/peoplesdaily (any `genforge run configs/gpt-peoplesdaily.yaml` or encoder run made it).
Run: .venv/bin/python bench/encoder_objectives.py [STEPS]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent.parent))
from components.data.text_dataset import load_documents  # noqa: E402
from components.families import load_config  # noqa: E402
from components.families.encoder.evaluation import pretrain_metrics  # noqa: E402
from components.families.encoder.steps import PretrainTrainer, pretraining_model  # noqa: E402
from components.text.chars import SEP, CharVocab  # noqa: E402

ROOT = Path(__file__).parent.parent


def main(steps: int) -> None:
    torch.set_num_threads(2)
    data = ROOT / "data" / "peoplesdaily"
    train, held = load_documents(data, "train"), load_documents(data, "held_out")
    print(f"{'objective':<9} {'steps':>5} {'s':>5} {'masked acc':>10} {'RTD acc':>8} {'guess':>6} {'RTD AUC':>8}")
    for objective in ("mlm", "electra"):
        cfg = load_config(ROOT / "configs" / "encoder-peoplesdaily.yaml",
                          {"pretrain": {"objective": objective}, "train": {"max_steps": steps}})  # fmt: skip
        vocab = CharVocab.build(train, cfg.pretrain.vocab_min_count)
        ids = np.array([i for doc in train for i in [*vocab.ids(doc), SEP]])
        torch.manual_seed(cfg.seed)
        model = pretraining_model(objective, cfg.model, vocab.size, cfg.pretrain.generator_layers)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            PretrainTrainer(model, ids, objective, cfg.pretrain, cfg.train, cfg.seed, {}, Path(tmp)).fit()
        seconds = time.perf_counter() - started
        state = {"encoder_config": cfg.model.model_dump(), "vocab": list(vocab.chars), "objective": objective,
                 "generator_layers": cfg.pretrain.generator_layers, "pretraining_model": model.state_dict(),
                 "params": sum(p.numel() for p in model.encoder.parameters())}  # fmt: skip
        m = pretrain_metrics(state, held, cfg, "cpu")
        rtd = (f"{m['rtd_accuracy']:>8.4f} {1 - m['replaced_share']:>6.4f} {m['rtd_auc']:>8.4f}" if "rtd_auc" in m
               else f"{'-':>8} {'-':>6} {'-':>8}")  # fmt: skip
        print(f"{objective:<9} {steps:>5} {seconds:>5.0f} {m['heldout_masked_accuracy']:>10.4f} {rtd}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
