"""Generator latency: onnxruntime vs torch eager on the default DCGAN, batch 1 and 64, 2 threads.

Prints the median of repeated calls and the ratio torch / onnxruntime (> 1 means onnxruntime is faster).
Run: .venv/bin/python bench/latency.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from components.config import DCGANConfig
from components.export.onnx_export import export_onnx
from components.models.dcgan import DCGANGenerator, init_weights
from components.serving import session


def interleaved_median_ms(fns: dict, calls: int, rounds: int = 10, warmup: int = 5) -> dict[str, float]:
    """Median per-call time of each function, alternating short blocks so that machine noise hits both alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            for _ in range(calls // rounds):
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    return {name: 1000 * statistics.median(t) for name, t in times.items()}


def main() -> list[dict]:
    torch.set_num_threads(2)
    torch.manual_seed(0)
    g = DCGANGenerator(DCGANConfig()).eval()
    g.apply(init_weights)
    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(g, Path(tmp) / "g.onnx", g.example_inputs(2), g.input_names)
        sess = session(path, threads=2)
        rows = []
        for batch, repeats in ((1, 1000), (64, 200)):
            (z,) = g.example_inputs(batch)
            feed = {"z": z.numpy()}
            with torch.inference_mode():
                t = interleaved_median_ms({"torch": lambda: g(z), "ort": lambda: sess.run(None, feed)}, repeats)  # noqa: B023
                assert np.abs(sess.run(None, feed)[0] - g(z).numpy()).max() < 1e-4
            rows.append({"batch": batch, "torch_ms": t["torch"], "ort_ms": t["ort"], "speedup": t["torch"] / t["ort"]})
    return rows


if __name__ == "__main__":
    print("| batch | torch eager (ms) | onnxruntime (ms) | torch / ORT |", "| --- | --- | --- | --- |", sep="\n")
    for r in main():
        print(f"| {r['batch']} | {r['torch_ms']:.2f} | {r['ort_ms']:.2f} | {r['speedup']:.2f}× |")
    sys.stdout.flush()
