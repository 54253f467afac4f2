"""INT8 vs float language model under onnxruntime: speed-up and agreement, on a registered GPT.

Baseline and candidate run in this script on the same inputs: model.onnx (float32) and model.int8.onnx (the export
step's dynamically quantised graph) of a registered version, pulled and sha256-checked. Prints
- latency of one full-context call (batch 1 × block_size: what each sampling step costs) and of an evaluation batch
  (64 × block_size): interleaved medians, float / INT8 (> 1: INT8 is faster);
- generation: tokens per second of `genforge generate`'s numpy sampling loop, 200 new tokens;
- agreement: the share of held-out positions where both graphs predict the same next token, the largest logit
  difference, and the held-out loss per character of each (the pipeline's gate measures the same on all of it);
- file sizes.
Needs a registered GPT with its INT8 graph (`genforge run configs/gpt-sotu.yaml`) and its dataset in data/.
Run: .venv/bin/python bench/gpt_int8.py [--model gpt-sotu@champion --dataset sotu] [--tokens 60000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from latency import interleaved_median_ms  # noqa: E402

from components.data.text_dataset import load_documents  # noqa: E402
from components.evaluation.text_metrics import nats_per_char  # noqa: E402
from components.serving import session  # noqa: E402
from components.serving_text import block_size, load, sample_ids  # noqa: E402
from components.text.likelihood import EncodedText
from components.workspace import Workspace  # noqa: E402


def held_out_windows(ids: np.ndarray, block: int, n: int) -> np.ndarray:
    """n non-overlapping windows of block + 1 tokens from the start of the held-out stream."""
    n = min(n, (len(ids) - 1) // (block + 1))
    return ids[: n * (block + 1)].reshape(n, block + 1)


def main(model: str, dataset: str, max_tokens: int) -> list[tuple[str, str, str, str]]:
    from components import tracking
    from components.registry.pull import pull
    from components.registry.registry import RegistryError

    ws = Workspace.at()
    ws.apply_environment()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            fp32_path = pull(tracking.configure(ws), model, Path(tmp) / "model")[0]
        except RegistryError as exc:
            raise SystemExit(f"{exc}; register it first: genforge run configs/gpt-sotu.yaml") from None
        int8_path = fp32_path.with_name("model.int8.onnx")
        if not int8_path.is_file():
            raise SystemExit(f"{model} has no model.int8.onnx (it missed the INT8 margin, or int8 is off)")
        tokenizer_path = fp32_path.with_name("tokenizer.json")
        fp32, tokenizer = load(fp32_path, tokenizer_path, "language-model")
        int8 = session(int8_path)
        block = block_size(fp32)
        docs = load_documents(ws.root / "data" / dataset, "held_out")
        ids = np.asarray(tokenizer.encode_documents(docs), dtype=np.int64)[:max_tokens]
        text_chars = len(tokenizer.decode(ids[1:].tolist()))  # the characters these tokens spell

        run = {"float": lambda x: fp32.run(None, {"tokens": x})[0], "int8": lambda x: int8.run(None, {"tokens": x})[0]}
        rows = []
        for batch, calls in ((1, 400), (64, 40)):
            x = held_out_windows(ids, block, batch)[:, :block]
            t = interleaved_median_ms({k: (lambda f=f, x=x: f(x)) for k, f in run.items()}, calls)
            rows.append((f"one call, {batch} × {block} tokens", f"{t['float']:.2f} ms", f"{t['int8']:.2f} ms",
                         f"{t['float'] / t['int8']:.2f}× faster"))  # fmt: skip

        speed, prompt = {}, [tokenizer.eot_id] + tokenizer.encode("My fellow citizens")
        for kind, fn in run.items():  # the loop `genforge generate` runs, on sessions already open
            start = time.perf_counter()
            new = sample_ids(fn, prompt, 200, block, 1.0, 200, seed=0)  # no stop token: always 200 new tokens
            speed[kind] = len(new) / (time.perf_counter() - start)
        rows.append(("generate 200 tokens (numpy sampling)", f"{speed['float']:.0f} tokens/s",
                     f"{speed['int8']:.0f} tokens/s", f"{speed['int8'] / speed['float']:.2f}× faster"))  # fmt: skip

        windows = held_out_windows(ids, block, 10_000)
        same, max_diff = [], 0.0
        for b in range(0, len(windows), 64):
            x = windows[b : b + 64, :block]
            a, q = run["float"](x), run["int8"](x)
            same.append(a.argmax(-1) == q.argmax(-1))
            max_diff = max(max_diff, float(np.abs(a - q).max()))
        agree = float(np.concatenate(same).mean())
        n_pos = sum(s.size for s in same)
        rows.append((f"next-token agreement ({n_pos:,} held-out positions)", "—", f"{agree:.4f}",
                     f"max |logit difference| {max_diff:.3f}"))  # fmt: skip
        loss = {k: nats_per_char(f, EncodedText(ids, text_chars), block) for k, f in run.items()}
        rows.append((f"held-out nats/char (first {len(ids):,} tokens)", f"{loss['float']:.4f}", f"{loss['int8']:.4f}",
                     f"{loss['int8'] - loss['float']:+.4f}"))  # fmt: skip
        size = {k: p.stat().st_size / 1e6 for k, p in (("float", fp32_path), ("int8", int8_path))}
        rows.append(("file size", f"{size['float']:.2f} MB", f"{size['int8']:.2f} MB",
                     f"{size['int8'] / size['float']:.2f}×"))  # fmt: skip
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="gpt-sotu@champion")
    parser.add_argument("--dataset", default="sotu", help="Its held-out split: data/<dataset>/held_out.jsonl.")
    parser.add_argument("--tokens", type=int, default=60_000, help="Held-out tokens for the loss row.")
    args = parser.parse_args()
    rows = main(args.model, args.dataset, args.tokens)
    print(f"{args.model}: float32 model.onnx vs INT8 model.int8.onnx, onnxruntime, 2 threads")
    print("| measure | float32 | INT8 | ratio |", "| --- | --- | --- | --- |", sep="\n")
    for row in rows:
        print("| " + " | ".join(row) + " |")
