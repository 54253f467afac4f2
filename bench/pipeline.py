"""Orchestration overhead and caching: the same training + evaluation + export as a bare script, as the Prefect
pipeline (with MLflow tracking, DVC versioning and registry promotion), and as a cached re-run of that pipeline.

Same seed, same work, same process. Uses the real Fashion-MNIST (Debian package) with a reduced config so the
whole benchmark takes ~3 minutes. Run: .venv/bin/python bench/pipeline.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from components.config import merge
from components.families import parse_config
from components.workspace import Workspace

BENCH = {
    "name": "bench",
    "train": {"epochs": 1, "max_steps": 300},
    "evaluation": {
        "num_samples": 2000,
        "bootstrap": 100,
        "c2st": {"num_samples": 1000, "epochs": 2},
        "evaluator": {"epochs": 1},
    },
    "promotion": {"thresholds": {"onnx_parity": {"max": 1e-4}}},
}


def bare(cfg, root: Path) -> float:
    """The work without orchestration or tracking: build data, train, evaluate, export + parity."""
    from components.data.dataset import build_fashion_mnist
    from components.data.shards import dataset_md5, load_split
    from components.evaluation.evaluate import evaluate_generator
    from components.export.onnx_export import export_onnx, parity
    from components.training.gan_trainer import GANTrainer

    start = time.perf_counter()
    path = build_fashion_mnist(root, cfg.data)
    trainer = GANTrainer(cfg, load_split(path, "train")[0], root / "ckpt")
    trainer.fit()
    evaluate_generator(trainer.G, path, dataset_md5(path), cfg, root / "cache")
    onnx_path = export_onnx(trainer.G, root / "g.onnx", trainer.G.example_inputs(2), trainer.G.input_names)
    parity(trainer.G, onnx_path, trainer.G.example_inputs(16, seed=123), trainer.G.input_names)
    return time.perf_counter() - start


def orchestrated(config: Path, root: Path) -> float:
    from flows.pipeline import pipeline

    start = time.perf_counter()
    pipeline(str(config), str(root))
    return time.perf_counter() - start


def main() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        root = tmp / "project"
        root.mkdir()
        for cmd in (
            ["git", "init", "-q"],
            [sys.executable, "-m", "dvc", "init", "-q"],
            [sys.executable, "-m", "dvc", "remote", "add", "-d", "local", str(tmp / "remote")],
        ):
            subprocess.run(cmd, cwd=root, check=True, capture_output=True)
        config = root / "bench.yaml"
        config.write_text(yaml.safe_dump(merge(yaml.safe_load(Path("configs/dcgan-fashion.yaml").read_text()), BENCH)))
        cfg = parse_config(yaml.safe_load(config.read_text()))
        os.environ["PREFECT_HOME"] = str(tmp / "prefect")
        Workspace(root).apply_environment()
        t_bare = bare(cfg, tmp / "bare")
        t_first = orchestrated(config, root)
        t_cached = orchestrated(config, root)
    return {"bare_s": t_bare, "pipeline_s": t_first, "cached_s": t_cached}


if __name__ == "__main__":
    r = main()
    print("| run | seconds | ratio |", "| --- | --- | --- |", sep="\n")
    print(f"| bare script (train + evaluate + export) | {r['bare_s']:.1f} | 1.00 |")
    print(
        f"| Prefect pipeline, first run (+ DVC, MLflow, registry) | {r['pipeline_s']:.1f} | "
        f"{r['pipeline_s'] / r['bare_s']:.2f}× bare |"
    )
    print(f"| same pipeline, cached re-run | {r['cached_s']:.1f} | {r['cached_s'] / r['pipeline_s']:.2f}× first run |")
