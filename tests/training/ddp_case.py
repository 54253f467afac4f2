"""One training run of a tiny model, run by test_distributed.py in this process (1 process) or under
`python -m torch.distributed.run --nproc-per-node 2` (each process runs this file). Rank 0 saves the final
weights and the logged losses to OUT; with --crash-at S, rank 0 fails after step S's log (a killed run).

    python tests/training/ddp_case.py {gpt,vae,cyclegan} OUT_DIR [--crash-at S] [--resume] [--device cuda]

With --device cuda each process trains on its own GPU (cuda:LOCAL_RANK) and the processes talk over NCCL.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from components.families import parse_config  # noqa: E402
from components.models.gpt import GPT, GPTConfig  # noqa: E402
from components.training.cyclegan_trainer import CycleGANTrainer  # noqa: E402
from components.training.lm_trainer import NextTokenTrainer  # noqa: E402
from components.training.vae_trainer import VAETrainer  # noqa: E402
from tests.conftest import digits_28  # noqa: E402


class Crash(Exception):
    pass


def prefixed(state: dict, prefix: str) -> dict:
    return {prefix + key: value for key, value in state.items()}


def build(kind: str, out: Path, on_log, device: str = "cpu"):
    torch.manual_seed(0)
    if kind == "gpt":
        train = {"max_steps": 12, "batch_size": 8, "warmup_steps": 2, "lr": 3e-3, "log_every": 2, "snapshots": 3}
        cfg = parse_config({"family": "gpt", "train": {**train, "num_threads": 1, "device": device}})
        model = GPT(GPTConfig(vocab_size=16, block_size=16, n_layer=1, n_head=2, n_embd=32))
        ids = np.array([i % 11 for i in range(300)], dtype=np.int64)
        trainer = NextTokenTrainer(model, ids, cfg.train, 0, {"case": kind}, out, on_log, device=device)
        return trainer, lambda: model.state_dict()
    if kind == "vae":
        cfg = parse_config({"family": "vae", "model": {"latent_dim": 4, "features": 4},
                            "train": {"batch_size": 16, "epochs": 3, "log_every": 1, "num_threads": 1,
                                      "device": device}})  # fmt: skip
        trainer = VAETrainer(cfg, digits_28()[0][:64], out, on_log=on_log)
        return trainer, lambda: trainer.vae.state_dict()
    rng = np.random.default_rng(0)
    a, b = (rng.integers(0, 256, (8, 64, 64, 3), dtype=np.uint8) for _ in range(2))
    cfg = parse_config({"family": "cyclegan", "dataset": "emoji-google2twitter",
                        "model": {"g_features": 4, "d_features": 4, "res_blocks": 1},
                        "train": {"batch_size": 4, "epochs": 2, "log_every": 1, "num_threads": 1,
                                  "device": device}})  # fmt: skip
    trainer = CycleGANTrainer(cfg, a, b, out, on_log=on_log)
    return trainer, lambda: {
        **trainer.G_AB.state_dict(),
        **{f"d_b.{k}": v for k, v in trainer.D_B.state_dict().items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["gpt", "vae", "cyclegan"])
    parser.add_argument("out", type=Path)
    parser.add_argument("--crash-at", type=int)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = parser.parse_args()
    distributed = "RANK" in os.environ
    if args.device == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    if distributed:
        dist.init_process_group("nccl" if args.device == "cuda" else "gloo")

    def on_log(row):
        if args.crash_at and row["step"] == args.crash_at:
            raise Crash(f"killed after step {row['step']}")

    trainer, weights = build(args.kind, args.out, on_log, args.device)
    result = trainer.fit(resume=args.resume)
    if not distributed or dist.get_rank() == 0:
        losses = [{k: v for k, v in row.items() if not k.endswith("_per_s")} for row in result.history]
        cpu = {name: value.cpu() for name, value in weights().items()}
        saved = {"weights": cpu, "losses": losses, "steps": result.steps, "world": trainer.world}
        torch.save(saved, args.out / "final.pt")
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
