"""Run exported GenForge language models with onnxruntime, numpy and tokenizers alone: no torch on this path.

Sampling: repeatedly feed the last block_size tokens, take the last position's logits, divide by the temperature,
keep the top_k, draw from the softmax with numpy's seeded generator. No KV cache: the graph recomputes the context
each step, which is fine at the block sizes GenForge trains.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
import onnxruntime as ort  # noqa: E402  (after the telemetry switch)

from components.checksums import sha256_file  # noqa: E402
from components.serving import session  # noqa: E402
from components.text.tokenizer import BPETokenizer  # noqa: E402


def _metadata(sess: ort.InferenceSession) -> dict[str, str]:
    return sess.get_modelmeta().custom_metadata_map


def block_size(sess: ort.InferenceSession) -> int:
    value = _metadata(sess).get("genforge.block_size")
    if value is None:
        raise ValueError("the graph does not record genforge.block_size (not exported by GenForge)")
    return int(value)


def load(onnx_path: str | Path, tokenizer_path: str | Path, kind: str) -> tuple[ort.InferenceSession, BPETokenizer]:
    """The session and tokenizer, checked against each other: the tokenizer file must be the one the graph records
    (its sha256) — another tokenizer's ids would run without error and produce nonsense."""
    sess = session(onnx_path)
    meta = _metadata(sess)
    if meta.get("genforge.kind", kind) != kind:
        raise ValueError(f"{onnx_path} is a {meta['genforge.kind']}, not a {kind}")
    expected = meta.get("genforge.tokenizer_sha256")
    if expected and sha256_file(tokenizer_path) != expected:
        raise ValueError(
            f"{tokenizer_path} is not the tokenizer {onnx_path} was trained with (sha256 {expected[:12]}… expected): "
            "use the tokenizer.json registered beside this model version"
        )
    tokenizer = BPETokenizer.load(tokenizer_path)
    vocab = meta.get("genforge.vocab_size")
    if vocab and int(vocab) != tokenizer.vocab_size:
        raise ValueError(f"{tokenizer_path} has {tokenizer.vocab_size} tokens, the model expects {vocab}")
    return sess, tokenizer


def next_token(logits: np.ndarray, rng: np.random.Generator, temperature: float, top_k: int | None) -> int:
    """One draw from softmax(logits / temperature) restricted to the top_k logits; temperature 0 = argmax."""
    logits = np.asarray(logits, dtype=np.float64)
    if temperature == 0:
        return int(np.argmax(logits))
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    logits = logits / temperature
    if top_k is not None and top_k < len(logits):
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1 (or None for no cut), got {top_k}")
        kth = np.partition(logits, -top_k)[-top_k]
        logits = np.where(logits < kth, -np.inf, logits)
    p = np.exp(logits - logits.max())
    return int(rng.choice(len(p), p=p / p.sum()))


def sample_ids(
    logits_fn: Callable[[np.ndarray], np.ndarray],
    ids: Sequence[int],
    max_new_tokens: int,
    block_size: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 0,
    stop_id: int | None = None,
) -> list[int]:
    """The sampling loop on any logits function (tokens (1, T) int64 → logits (1, T, V)): returns the new ids,
    stopping early after `stop_id`. Shared by serving (onnxruntime) and evaluation (which may wrap torch)."""
    if not ids:
        raise ValueError("give at least one token to start from (the tokenizer's EOT starts from nothing)")
    rng = np.random.default_rng(seed)
    ids, new = list(ids), []
    for _ in range(max_new_tokens):
        context = np.asarray([ids[-block_size:]], dtype=np.int64)  # crop: positions beyond block_size do not exist
        token = next_token(logits_fn(context)[0, -1], rng, temperature, top_k)
        if token == stop_id:
            break
        ids.append(token)
        new.append(token)
    return new


def sample(
    onnx_path: str | Path,
    tokenizer_path: str | Path,
    prompt: str = "",
    max_new_tokens: int = 200,
    temperature: float = 1.0,
    top_k: int | None = 200,
    seed: int = 0,
) -> str:
    """The continuation of `prompt` (the prompt itself not included); an empty prompt starts a new document.
    Sampling stops early where the model ends the document (EOT)."""
    sess, tokenizer = load(onnx_path, tokenizer_path, "language-model")
    size = block_size(sess)
    ids = [tokenizer.eot_id] + tokenizer.encode(prompt)

    def logits_fn(tokens: np.ndarray) -> np.ndarray:
        return sess.run(None, {"tokens": tokens})[0]

    new = sample_ids(logits_fn, ids, max_new_tokens, size, temperature, top_k, seed, stop_id=tokenizer.eot_id)
    return tokenizer.decode(new)


def classes(onnx_path: str | Path) -> list[str] | None:
    names = _metadata(session(onnx_path)).get("genforge.classes")
    return json.loads(names) if names else None


def encode_labelled(tokenizer: BPETokenizer, texts: Sequence[str], size: int) -> tuple[np.ndarray, np.ndarray]:
    """Texts → right-padded tokens (N, T) and lengths (N,), each text opened by EOT and cut to `size` tokens: what
    a GPT classifier is trained on (components/families/gpt/classifier.py) and what its exported graph is fed."""
    encoded = [([tokenizer.eot_id] + ids)[:size] for ids in tokenizer.encode_batch(list(texts))]
    lengths = np.array([len(e) for e in encoded], dtype=np.int64)
    tokens = np.full((len(encoded), int(lengths.max())), tokenizer.eot_id, dtype=np.int64)
    for row, e in enumerate(encoded):
        tokens[row, : len(e)] = e
    return tokens, lengths


def classify(onnx_path: str | Path, tokenizer_path: str | Path, texts: str | Sequence[str]) -> np.ndarray:
    """Class probabilities (N, n_classes) of an exported GPTClassifier, one row per text (a str is one text).
    Texts longer than block_size tokens are cut to their first block_size tokens."""
    sess, tokenizer = load(onnx_path, tokenizer_path, "text-classifier")
    texts = [texts] if isinstance(texts, str) else list(texts)
    tokens, lengths = encode_labelled(tokenizer, texts, block_size(sess))
    (logits,) = sess.run(None, {"tokens": tokens, "lengths": lengths})
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)
