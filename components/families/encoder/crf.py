"""The NER baseline: a linear-chain CRF (CRFsuite, through python-crfsuite) on standard character features — the
character and its neighbours within two, the bigrams around it, and its kind (digit, Latin letter, punctuation,
other) — trained with L-BFGS and L2 regularisation. Cached per data version and settings, like the evaluators."""

from __future__ import annotations

import hashlib
import unicodedata
from pathlib import Path

from components.atomic import atomic_path
from components.progress import Progress

VERSION = 1  # of the features: a change makes a new cache entry


def _kind(c: str) -> str:
    if c.isdigit() or unicodedata.category(c) == "Nd":
        return "digit"
    if c.isascii() and c.isalpha():
        return "latin"
    return "punct" if unicodedata.category(c).startswith("P") else "other"


def features(text: str) -> list[list[str]]:
    padded = f"^^{text}$$"
    out = []
    for i in range(len(text)):
        j = i + 2
        w = padded[j - 2 : j + 3]  # the character at w[2]
        out.append([
            "bias", f"c0={w[2]}", f"c-1={w[1]}", f"c+1={w[3]}", f"c-2={w[0]}", f"c+2={w[4]}",
            f"c-1c0={w[1]}{w[2]}", f"c0c+1={w[2]}{w[3]}", f"c-1c+1={w[1]}{w[3]}", f"kind={_kind(w[2])}",
        ])  # fmt: skip
    return out


def load_or_train(cache_dir: Path, dataset_md5: str, train: list[tuple[str, list[str]]], iterations: int, c2: float):
    """A pycrfsuite.Tagger: the cached model of this data version and settings, else one trained now."""
    import pycrfsuite

    key = hashlib.sha256(f"{VERSION}:{dataset_md5}:{iterations}:{c2}:{len(train)}".encode()).hexdigest()[:16]
    path = Path(cache_dir) / f"crf-{key}.crfsuite"
    if not path.is_file():

        class Trainer(pycrfsuite.Trainer):  # CRFsuite's log → the progress line every trainer shows
            def message(self, message):  # (its on_iteration hook fires only with verbose=True, which prints all)
                if self.logparser.feed(message) == "iteration":
                    progress.update(1, loss=float(self.logparser.last_iteration.get("loss", float("nan"))))

        progress = Progress("CRF baseline", iterations)
        trainer = Trainer(verbose=False)
        for text, tags in train:
            trainer.append(features(text), tags)
        trainer.set_params({"c1": 0.0, "c2": c2, "max_iterations": iterations})
        with atomic_path(path) as tmp:
            trainer.train(str(tmp))
    tagger = pycrfsuite.Tagger()
    tagger.open(str(path))
    return tagger


def predict(tagger, texts: list[str]) -> list[list[str]]:
    return [tagger.tag(features(text)) for text in texts]
