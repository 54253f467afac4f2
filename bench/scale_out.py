"""Scale-out figures, each a ratio measured side by side in this script (issue 12):

1. DDP on CPU: the GPT of gpt-sotu (1.06M parameters, block 64, batch 12) trained for the same steps by 1 process
   with 2 torch threads vs 2 processes with 1 thread each under torch.distributed.run (gloo), training time inside
   the processes (start-up excluded, reported apart).
2. A sweep of 4 small DCGAN configs (train.lr × seed) on Fashion-MNIST: `genforge sweep --workers 2` (a Dask
   LocalCluster, children with 1 torch thread) vs the same 4 configs run one after another by `genforge run`
   (2 torch threads each). Separate workspaces, data built beforehand and not timed.

Run: .venv/bin/python bench/scale_out.py   (~6 min on 2 cores)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
GENFORGE = str(REPO / ".venv" / "bin" / "genforge")
STEPS = 60


def ddp_worker(out: Path) -> None:
    """One process of the DDP measurement (also the 1-process baseline, without torchrun)."""
    import numpy as np
    import torch
    import torch.distributed as dist

    from components.families import parse_config
    from components.models.gpt import GPT, GPTConfig
    from components.training.lm_trainer import NextTokenTrainer

    distributed = "RANK" in os.environ
    if distributed:
        dist.init_process_group("gloo")
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    torch.manual_seed(0)
    cfg = parse_config({"family": "gpt", "train": {"max_steps": STEPS, "batch_size": 12, "log_every": STEPS}})
    model = GPT(GPTConfig(vocab_size=2048, block_size=64, n_layer=4, n_head=4, n_embd=128))
    ids = np.random.default_rng(0).integers(0, 2048, 200_000)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = NextTokenTrainer(model, ids, cfg.train, 0, {}, Path(tmp))
        started = time.perf_counter()
        trainer.fit()
        seconds = time.perf_counter() - started
    if not distributed or dist.get_rank() == 0:
        out.write_text(json.dumps({"seconds": seconds, "tokens": STEPS * 12 * 64}))
    if distributed:
        dist.destroy_process_group()


def ddp() -> dict:
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, argv, threads in (
            ("1 process × 2 threads", [sys.executable, __file__, "--ddp-worker"], "2"),
            (
                "2 processes × 1 thread",
                [
                    sys.executable,
                    "-m",
                    "torch.distributed.run",
                    "--standalone",
                    "--nproc-per-node=2",
                    __file__,
                    "--ddp-worker",
                ],  # fmt: skip
                "1",
            ),
        ):
            out = Path(tmp) / "out.json"
            started = time.perf_counter()
            env = {**os.environ, "BENCH_THREADS": threads, "OMP_NUM_THREADS": threads}
            subprocess.run([*argv, str(out)], check=True, capture_output=True, env=env)
            wall = time.perf_counter() - started
            done = json.loads(out.read_text())
            rows[name] = {"tokens_per_s": done["tokens"] / done["seconds"], "train_s": done["seconds"], "wall_s": wall}
    return rows


SMALL = {
    "name": "bench-sweep",
    "train": {"epochs": 1, "max_steps": 40},
    "evaluation": {
        "num_samples": 500,
        "bootstrap": 20,
        "c2st": {"num_samples": 300, "epochs": 1},
        "evaluator": {"epochs": 1},
    },  # fmt: skip
    "promotion": {"thresholds": {}, "improvement": {"significant": False}},
}
VALUES = [(lr, seed) for lr in (2e-4, 4e-4) for seed in (0, 1)]


def workspace(folder: Path) -> Path:
    from components.config import merge

    folder.mkdir(parents=True)
    for cmd in (
        ["git", "init", "-q"],
        [sys.executable, "-m", "dvc", "init", "-q"],
        [sys.executable, "-m", "dvc", "remote", "add", "-d", "local", str(folder.parent / f"{folder.name}-remote")],
    ):
        subprocess.run(cmd, cwd=folder, check=True, capture_output=True)
    config = merge(yaml.safe_load((REPO / "configs" / "dcgan-fashion.yaml").read_text()), SMALL)
    (folder / "bench.yaml").write_text(yaml.safe_dump(config))
    for lr, seed in VALUES:
        variant = merge(config, {"seed": seed, "train": {"lr": lr}})
        (folder / f"bench-{lr}-{seed}.yaml").write_text(yaml.safe_dump(variant))
    subprocess.run([GENFORGE, "data", "build", "--config", "bench.yaml", "--root", str(folder)], cwd=folder,
                   check=True, capture_output=True)  # fmt: skip
    return folder


def timed(argv: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv[:3])} failed: {done.stderr[-2000:]}")
    return time.perf_counter() - started


def sweep() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        one, two = workspace(Path(tmp) / "sequential"), workspace(Path(tmp) / "sweep")
        sequential = sum(
            timed([GENFORGE, "run", f"bench-{lr}-{seed}.yaml", "--root", str(one)], one) for lr, seed in VALUES
        )
        config = yaml.safe_load((two / "bench.yaml").read_text())
        config["train"]["num_threads"] = 1  # two children share the 2 cores
        (two / "bench.yaml").write_text(yaml.safe_dump(config))
        swept = timed([GENFORGE, "sweep", "bench.yaml", "--set", "train.lr=2e-4,4e-4", "--set", "seed=0,1",
                       "--workers", "2", "--root", str(two)], two)  # fmt: skip
    return {"sequential_s": sequential, "sweep_s": swept}


def main() -> None:
    d = ddp()
    base, split = d["1 process × 2 threads"], d["2 processes × 1 thread"]
    print(f"DDP on CPU, GPT 1.06M params, {STEPS} steps × batch 12 × 64 tokens (2 cores):")
    for name, row in d.items():
        print(f"  {name:24s} {row['tokens_per_s']:8.0f} tokens/s  (training {row['train_s']:.1f} s, "
              f"with start-up {row['wall_s']:.1f} s)")  # fmt: skip
    print(f"  ratio 2 processes / 1 process: {split['tokens_per_s'] / base['tokens_per_s']:.2f}×")
    s = sweep()
    print("Sweep of 4 small DCGAN configs (lr × seed), Fashion-MNIST, 40 steps each:")
    print(f"  one after another (genforge run × 4): {s['sequential_s']:.1f} s")
    print(f"  genforge sweep --workers 2 (Dask):    {s['sweep_s']:.1f} s")
    print(f"  speed-up: {s['sequential_s'] / s['sweep_s']:.2f}×")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--ddp-worker":
        sys.path.insert(0, str(REPO))
        ddp_worker(Path(sys.argv[2]))
    else:
        main()
