"""FID Inception features: onnxruntime vs the TorchScript in torch, 2 threads, on 64 real Fashion-MNIST images.

Per-image time of the network alone (batches of 8, preprocessed once) and of features() with the PIL preprocessing;
the two backends alternate batch by batch so that machine noise hits both alike. Prints the ratio torch / onnxruntime
(> 1 means onnxruntime is faster) and the largest feature difference between them.
Needs the weights: `python -m components.evaluation.inception fetch` (once, ~5 s, 87 MB).
Run: .venv/bin/python bench/inception.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from components.data.shards import load_split
from components.evaluation.inception import InceptionFeatures, preprocess
from components.workspace import Workspace

IMAGES, BATCH = 64, 8


def interleaved_median_s(fns: dict, batches: list, per_call: int) -> dict[str, float]:
    """Median seconds per image of each function, alternating backends on every batch (one warm-up call each)."""
    for fn in fns.values():
        fn(batches[0])
    times: dict[str, list[float]] = {name: [] for name in fns}
    for batch in batches:
        for name, fn in fns.items():
            start = time.perf_counter()
            fn(batch)
            times[name].append((time.perf_counter() - start) / per_call)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> tuple[list[dict], float, float]:
    torch.set_num_threads(2)
    root = Workspace.at(Path(__file__).resolve().parent.parent)
    images = load_split(root.data_dir / "fashion-mnist", "test", limit=IMAGES)[0]
    cache = root.state_dir / "inception"
    start = time.perf_counter()
    ort = InceptionFeatures(cache, threads=2, batch_size=BATCH)  # exports on the first run, then loads the cache
    setup_s = time.perf_counter() - start
    pt = InceptionFeatures(cache, backend="torch", batch_size=BATCH)
    raw = [images[i : i + BATCH] for i in range(0, IMAGES, BATCH)]
    ready = [preprocess(b) for b in raw]
    network = interleaved_median_s({"torch": pt.run, "ort": ort.run}, ready, BATCH)
    end_to_end = interleaved_median_s({"torch": pt.features, "ort": ort.features}, raw, BATCH)
    rows = [
        {"what": f"network only, batch {BATCH}", **network},
        {"what": "features(): PIL resize + network", **end_to_end},
    ]
    diff = float(np.abs(pt.features(images[:BATCH]) - ort.features(images[:BATCH])).max())
    return rows, diff, setup_s


if __name__ == "__main__":
    rows, diff, setup_s = main()
    print("| per image, 2 threads | torch TorchScript (s) | onnxruntime (s) | torch / ORT |")
    print("| --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['what']} | {r['torch']:.4f} | {r['ort']:.4f} | {r['torch'] / r['ort']:.2f}× |")
    print(
        f"\nmax |torch − ORT| feature difference: {diff:.1e}; ORT session setup (export if uncached): {setup_s:.1f} s"
    )
    sys.stdout.flush()
