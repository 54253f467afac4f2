"""Likelihood of a text under a language model, per character: the training loss's held-out estimate and the
evaluation's headline.

Loss per character (total negative log-likelihood of the held-out text / its number of characters) is what compares
across tokenizers: per-token loss rewards a tokenizer with longer tokens, per-character loss does not, and a
character-level model's per-token loss is already per character. nats/char × log2(e) = bits per character.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

LogitsFn = Callable[[np.ndarray], np.ndarray]  # tokens (B, T) int64 → logits (B, T, V) float


def per_char_nll(total_nats: float, n_chars: int) -> float:
    """Nats per character of a text whose tokens cost `total_nats` in all."""
    if n_chars <= 0:
        raise ValueError("the held-out text is empty: per-character loss needs at least one character")
    return total_nats / n_chars


@dataclass(frozen=True)
class EncodedText:
    """A corpus as one token stream (EOT before every document, so each document's first token is predicted too)
    and its number of characters: what a per-character loss needs. Encode once, score with many models."""

    ids: np.ndarray
    n_chars: int

    @classmethod
    def of(cls, tokenizer, documents: Sequence[str]) -> EncodedText:
        """`tokenizer`: a components.text.tokenizer.BPETokenizer."""
        ids = np.asarray(tokenizer.encode_documents(documents), dtype=np.int64)
        return cls(ids, sum(map(len, documents)))


def nats_per_char(logits_fn: LogitsFn, text: EncodedText, block_size: int, batch_size: int = 64) -> float:
    """Total NLL of every character of `text` under the model behind logits_fn (torch or onnxruntime) / its
    characters: comparable across tokenizers."""
    total, _ = sequence_nll(logits_fn, text.ids, block_size, batch_size=batch_size)
    return per_char_nll(total, text.n_chars)


def perplexity(nats_per_unit: float) -> float:
    """exp of a mean NLL: per token for token perplexity, per character for character perplexity."""
    return math.exp(nats_per_unit)


def sequence_nll(
    logits_fn: LogitsFn, ids: Sequence[int], block_size: int, batch_size: int = 32, stride: int | None = None
) -> tuple[float, int]:
    """Total NLL (nats) of ids[1:] given what precedes each, and how many tokens that is (len(ids) - 1).

    Windows of block_size + 1 tokens; stride = block_size (default) predicts each token once, with 0 … block_size-1
    tokens of context (the mean is what nanoGPT's estimate_loss sees); a smaller stride gives every window after the
    first stride-token predictions with ≥ block_size - stride tokens of context (a tighter, slower estimate).
    Start the stream with the tokenizer's EOT (`encode_documents`) so the first character is predicted too.
    `logits_fn` may wrap torch or an onnxruntime session: the loss is computed here, in float64.
    """
    ids = np.asarray(ids, dtype=np.int64)
    stride = stride or block_size
    if not 1 <= stride <= block_size:
        raise ValueError(f"stride must be in [1, block_size={block_size}], got {stride}")
    if len(ids) < 2:
        raise ValueError("need at least 2 tokens: the first is context only")
    windows = []  # (start, first target scored in the window, width)
    start, first = 0, 0
    while True:
        windows.append((start, first, min(block_size, len(ids) - 1 - start)))
        if start + block_size + 1 >= len(ids):
            break
        start, first = start + stride, block_size - stride
    total, count = 0.0, 0
    full, last = (windows[:-1], windows[-1:]) if windows[-1][2] < block_size else (windows, [])
    batches = [full[b : b + batch_size] for b in range(0, len(full), batch_size)] + ([last] if last else [])
    for batch in batches:  # one width per batch: only the last window can be short
        t = batch[0][2]
        x = np.stack([ids[s : s + t] for s, _, _ in batch])  # (B, t)
        y = np.stack([ids[s + 1 : s + t + 1] for s, _, _ in batch])
        logits = np.asarray(logits_fn(x), dtype=np.float64)  # (B, t, V)
        peak = logits.max(axis=-1, keepdims=True)
        logz = np.log(np.exp(logits - peak).sum(axis=-1)) + peak[..., 0]  # (B, t) log-partition
        nll = logz - np.take_along_axis(logits, y[..., None], axis=-1)[..., 0]
        for row, (_, f, _) in enumerate(batch):
            total += float(nll[row, f:].sum())
            count += t - f
    return total, count
