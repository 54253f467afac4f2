"""Character tokens for the bidirectional encoder: one token per character, so a token's index is its character's
index in the text (entity spans need no alignment step).

A vocabulary is the training text's characters seen at least twice, after five specials; a text is encoded as
[CLS] c1 … cn [SEP], right-padded with [PAD], cut to `width` tokens. Serving reads the same file (vocab.json) with
numpy only.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

PAD, UNK, CLS, SEP, MASK = 0, 1, 2, 3, 4
SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


@dataclass(frozen=True)
class CharVocab:
    chars: tuple[str, ...]  # index 5 … : the characters; 0–4 the specials

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 2) -> CharVocab:
        counts = Counter(c for t in texts for c in t)
        return cls(tuple(sorted(c for c, n in counts.items() if n >= min_count and not c.isspace())))

    @property
    def size(self) -> int:
        return len(SPECIALS) + len(self.chars)

    def index(self) -> dict[str, int]:
        return {c: i + len(SPECIALS) for i, c in enumerate(self.chars)}

    def ids(self, text: str) -> list[int]:
        index = self.index()
        return [index.get(c, UNK) for c in text]

    def encode(self, texts: Sequence[str], width: int) -> tuple[np.ndarray, np.ndarray]:
        """(tokens (N, W) int64 = [CLS] c1 … cn [SEP] [PAD]…, lengths (N,) = n + 2 tokens). A text longer than
        width − 2 characters keeps its first width − 2; W is the longest encoded text's length."""
        index = self.index()
        rows = [[CLS, *(index.get(c, UNK) for c in text[: width - 2]), SEP] for text in texts]
        lengths = np.array([len(r) for r in rows], dtype=np.int64)
        tokens = np.full((len(rows), int(lengths.max(initial=2))), PAD, dtype=np.int64)
        for i, row in enumerate(rows):
            tokens[i, : len(row)] = row
        return tokens, lengths

    def to_json(self) -> str:
        return json.dumps({"specials": list(SPECIALS), "chars": "".join(self.chars)}, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> CharVocab:
        data = json.loads(text)
        if data.get("specials") != list(SPECIALS):
            raise ValueError("not a GenForge encoder vocabulary (its special tokens differ)")
        return cls(tuple(data["chars"]))
