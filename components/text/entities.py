"""Named entities as character spans and as BIO tags, and the pieces of a paragraph a tagger reads. numpy-free:
serving (`genforge ner`) decodes tags into spans with this module alone.

BIO: the first character of an entity is B-<TYPE>, the following ones I-<TYPE>, every other character O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

TYPES = ("PER", "LOC", "ORG")
TAGS = ("O", *(f"{p}-{t}" for t in TYPES for p in ("B", "I")))
"""Tag ids: 0 = O, then B-PER, I-PER, B-LOC, I-LOC, B-ORG, I-ORG."""
Span = tuple[int, int, str]  # (start, end exclusive, type), in characters
_SENTENCE_END = re.compile(r"(?<=[。！？；])")


def bio(length: int, entities: Sequence[Span]) -> list[str]:
    tags = ["O"] * length
    for start, end, kind in entities:
        if not 0 <= start < end <= length:
            raise ValueError(f"entity ({start}, {end}, {kind}) is outside a text of {length} characters")
        if any(t != "O" for t in tags[start:end]):
            raise ValueError(f"entity ({start}, {end}, {kind}) overlaps another")
        tags[start] = f"B-{kind}"
        tags[start + 1 : end] = [f"I-{kind}"] * (end - start - 1)
    return tags


def spans(tags: Sequence[str]) -> list[Span]:
    """BIO tags → entity spans, the way CoNLL's scorer (seqeval's default mode) reads them: an I- tag that does not
    continue an entity of its type starts one."""
    out: list[Span] = []
    start, kind = None, None
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, this = tag.partition("-")
        if kind is not None and (prefix != "I" or this != kind):
            out.append((start, i, kind))
            start, kind = None, None
        if prefix in ("B", "I") and kind is None:
            start, kind = i, this
    return out


def pieces(text: str, entities: Sequence[Span], max_chars: int) -> list[tuple[str, list[Span]]]:
    """A paragraph cut into sentences (after 。！？；), and a sentence longer than max_chars cut further where no
    entity is cut (else at max_chars); each piece with its entities, re-based to the piece."""
    cuts, at = [0], 0
    for sentence in _SENTENCE_END.split(text):
        at += len(sentence)
        if sentence:
            cuts.append(at)
    inside = set()
    for start, end, _ in entities:
        inside.update(range(start + 1, end))  # cutting before one of these would split an entity
    bounds = [0]
    for end in cuts[1:]:
        while end - bounds[-1] > max_chars:
            cut = bounds[-1] + max_chars
            while cut in inside and cut > bounds[-1] + 1:
                cut -= 1
            bounds.append(cut if cut not in inside else bounds[-1] + max_chars)
        if end > bounds[-1]:
            bounds.append(end)
    out = []
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        kept = [(max(s, lo) - lo, min(e, hi) - lo, k) for s, e, k in entities if s < hi and e > lo]
        out.append((text[lo:hi], kept))
    return out
