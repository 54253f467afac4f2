"""Run the encoder family's exported graphs with onnxruntime and numpy alone (no torch): entities of a text from
ner-peoplesdaily, class probabilities from encoder-sentiment-zh. The character vocabulary (vocab.json) lies beside
model.onnx; the graph records its sha256, and another vocabulary is refused."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from components.checksums import sha256_file
from components.serving import session
from components.text.chars import CharVocab
from components.text.entities import pieces, spans

VOCAB_FILE = "vocab.json"


def metadata(onnx_path: str | Path) -> dict[str, str]:
    return session(onnx_path).get_modelmeta().custom_metadata_map


def load(onnx_path: str | Path, kind: str):
    """(session, vocabulary, metadata) of an encoder graph of `kind`, with the vocabulary checked against it."""
    sess = session(onnx_path)
    meta = sess.get_modelmeta().custom_metadata_map
    if meta.get("genforge.kind") != kind:
        raise ValueError(f"{onnx_path} is a {meta.get('genforge.kind', 'graph of another kind')}, not a {kind}")
    vocab_path = Path(onnx_path).parent / VOCAB_FILE
    if not vocab_path.is_file():
        raise ValueError(f"no {VOCAB_FILE} beside {onnx_path}: pull the whole model folder (genforge pull)")
    if sha256_file(vocab_path) != meta.get("genforge.vocab_sha256"):
        raise ValueError(f"{vocab_path} is not the vocabulary {onnx_path} was trained with: use the one registered "
                         "beside this model version")  # fmt: skip
    return sess, CharVocab.from_json(vocab_path.read_text(encoding="utf-8")), meta


def entities(onnx_path: str | Path, texts: str | Sequence[str]) -> list[list[tuple[int, int, str, str]]]:
    """Per text, its entities as (start, end exclusive, type, the characters). A text is read in the pieces the
    tagger was trained on (sentences, cut to the block), so any length works."""
    sess, vocab, meta = load(onnx_path, "token-tagger")
    tags, width = json.loads(meta["genforge.tags"]), int(meta["genforge.block_size"])
    out = []
    for text in [texts] if isinstance(texts, str) else list(texts):
        found, offset = [], 0
        for piece, _ in pieces(text, [], width - 2):
            tokens, lengths = vocab.encode([piece], width)
            (logits,) = sess.run(None, {"tokens": tokens, "lengths": lengths})
            labels = [tags[i] for i in logits[0, 1 : 1 + len(piece)].argmax(axis=-1)]
            found += [(offset + s, offset + e, k, piece[s:e]) for s, e, k in spans(labels)]
            offset += len(piece)
        out.append(found)
    return out


def classify(onnx_path: str | Path, texts: str | Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """(class probabilities (N, n_classes), class names). Texts longer than the block keep their beginning."""
    sess, vocab, meta = load(onnx_path, "char-classifier")
    texts = [texts] if isinstance(texts, str) else list(texts)
    tokens, lengths = vocab.encode(texts, int(meta["genforge.block_size"]))
    (logits,) = sess.run(None, {"tokens": tokens, "lengths": lengths})
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True), json.loads(meta["genforge.classes"])
