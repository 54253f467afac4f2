"""Sentences of a text dataset and their characters: what the sentence VAE reads and writes.

A document is cut after each sentence end (。！？；) and each piece stripped; pieces of MIN_CHARS to max_chars
characters are the sentences (shorter are fragments, longer would not fit the block). Tokens are characters: a
vocabulary of the training sentences' characters seen at least twice, after four specials
(PAD 0, BOS 1, EOS 2, UNK 3); a sentence is [BOS] c1 … cn [EOS], right-padded with PAD.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ("<pad>", "<s>", "</s>", "<unk>")
MIN_CHARS = 4
_ENDS = re.compile(r"(?<=[。！？；])")


def sentences(documents: Iterable[str], max_chars: int) -> list[str]:
    out = []
    for doc in documents:
        for piece in _ENDS.split(doc):
            piece = piece.strip()
            if MIN_CHARS <= len(piece) <= max_chars:
                out.append(piece)
    return out


@dataclass(frozen=True)
class Vocab:
    chars: tuple[str, ...]  # index 4 … : the characters; 0–3 the specials

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 2) -> Vocab:
        counts = Counter(c for t in texts for c in t)
        return cls(tuple(sorted(c for c, n in counts.items() if n >= min_count)))

    @property
    def size(self) -> int:
        return len(SPECIALS) + len(self.chars)

    def index(self) -> dict[str, int]:
        return {c: i + len(SPECIALS) for i, c in enumerate(self.chars)}

    def encode(self, texts: list[str], width: int) -> tuple[np.ndarray, np.ndarray]:
        """(tokens (N, width) int64 = [BOS] chars [EOS] PAD…, lengths (N,) = characters per text)."""
        index = self.index()
        out = np.full((len(texts), width), PAD, dtype=np.int64)
        lengths = np.zeros(len(texts), dtype=np.int64)
        for row, text in enumerate(texts):
            ids = [index.get(c, UNK) for c in text][: width - 2]
            out[row, 0], out[row, 1 : 1 + len(ids)], out[row, 1 + len(ids)] = BOS, ids, EOS
            lengths[row] = len(ids)
        return out, lengths

    def decode(self, ids: Iterable[int]) -> str:
        """Characters up to the first EOS (specials other than UNK dropped; UNK as □)."""
        text = []
        for i in ids:
            i = int(i)
            if i == EOS:
                break
            if i == UNK:
                text.append("□")
            elif i >= len(SPECIALS):
                text.append(self.chars[i - len(SPECIALS)])
        return "".join(text)

    def to_json(self) -> str:
        return json.dumps({"specials": list(SPECIALS), "chars": "".join(self.chars)}, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Vocab:
        data = json.loads(text)
        if data.get("specials") != list(SPECIALS):
            raise ValueError("not a GenForge sentence-VAE vocabulary (its special tokens differ)")
        return cls(tuple(data["chars"]))
