"""Text metrics: memorisation of the training text and a text C2ST (held-out loss per character is in
components/text/likelihood.py: training reports it too)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from components.evaluation.c2st import C2STResult, held_out_result

# ---- memorisation ----------------------------------------------------------------------------------------------

_BASE = 0x9E3779B97F4A7C15  # odd 64-bit multiplier; hashes are polynomials in it modulo 2^64 (uint64 wrap-around)


def _codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def _window_hashes(codes: np.ndarray, n: int) -> np.ndarray:
    """Polynomial hash of every length-n window of `codes` (len - n + 1 values), built by doubling: the hash of a
    2m-window is hash(first m) · B^m + hash(last m), so any n costs O(len · log n) vector operations."""
    if n < 1 or n > len(codes):
        return np.empty(0, dtype=np.uint64)
    acc, acc_len = None, 0
    piece, piece_len = codes + np.uint64(1), 1  # +1: a zero code must still count towards the hash
    remaining = n
    while True:
        if remaining & 1:  # append this power-of-two piece to the right of what is accumulated
            if acc is None:
                acc, acc_len = piece.copy(), piece_len
            else:
                count = len(codes) - (acc_len + piece_len) + 1
                acc = acc[:count] * np.uint64(pow(_BASE, piece_len, 2**64)) + piece[acc_len : acc_len + count]
                acc_len += piece_len
        remaining >>= 1
        if not remaining:
            return acc[: len(codes) - n + 1]
        count = len(piece) - piece_len
        piece = piece[:count] * np.uint64(pow(_BASE, piece_len, 2**64)) + piece[piece_len : piece_len + count]
        piece_len *= 2


class CopyIndex:
    """The training text, indexed for "is this generated substring in it verbatim?" questions.

    Substrings are compared by 64-bit rolling hashes of all training windows of a length (numpy, no Python loop over
    the training text); every longest-copy answer is confirmed with an exact `str` search, so a hash collision never
    reports a copy that is not there (the n-gram share is hash-only: ~|train|/2^64 false matches per n-gram).
    """

    def __init__(self, training_text: str):
        self.text = training_text
        self._codes = _codes(training_text)
        self._ngrams: dict[int, np.ndarray] = {}

    def _sorted_hashes(self, n: int) -> np.ndarray:
        if n not in self._ngrams:  # kept: the n-gram share asks for the same n for every batch of samples
            self._ngrams[n] = np.sort(_window_hashes(self._codes, n))
        return self._ngrams[n]

    def _hits(self, samples: list[str], n: int) -> list[np.ndarray]:
        """Per sample, the start positions of its length-n windows whose hash occurs among the training windows'.

        One pass over the training hashes: a 2^22-bit table of the wanted hashes' low bits throws out almost every
        training window in one gather; the few left are matched exactly against the sorted wanted hashes.
        """
        hashes = [_window_hashes(_codes(s), n) for s in samples]
        if not any(len(h) for h in hashes):
            return [np.empty(0, dtype=np.int64) for _ in samples]
        wanted = np.sort(np.concatenate(hashes))
        table = np.zeros(1 << 22, dtype=bool)
        mask = np.uint64((1 << 22) - 1)
        table[(wanted & mask).astype(np.int64)] = True
        train = _window_hashes(self._codes, n)
        candidates = train[table[(train & mask).astype(np.int64)]]
        at = np.minimum(np.searchsorted(wanted, candidates), len(wanted) - 1)
        found = np.unique(candidates[wanted[at] == candidates])
        return [np.flatnonzero(np.isin(h, found)) for h in hashes]

    def longest_copied(self, samples: Sequence[str]) -> list[int]:
        """Per sample, the length of its longest substring found verbatim in the training text (0: not even one
        character).

        Doubling: one pass per length 1, 2, 4, … (all samples together) finds, for each sample, the largest power of
        two m with a copied m-window. Its answer lies in [m, 2m), and the longest copy starts where an m-window is
        copied, so exact `in` searches extend only from those starts.
        """
        samples = list(samples)
        best = [0] * len(samples)
        starts = [np.empty(0, dtype=np.int64) for _ in samples]
        window = [0] * len(samples)
        active, n = [i for i, s in enumerate(samples) if s], 1
        while active:
            hits = self._hits([samples[i] for i in active], n)
            still = []
            for i, h in zip(active, hits, strict=True):
                if len(h):
                    starts[i], window[i] = h, n
                    if 2 * n <= len(samples[i]):
                        still.append(i)
            active, n = still, 2 * n
        for i, sample in enumerate(samples):
            m = window[i]
            for start in starts[i]:  # greedy extension: only ever tries to beat the best so far
                if best[i] < m and sample[start : start + m] in self.text:  # exact: a hash match may collide
                    best[i] = m
                length = best[i] + 1
                while start + length <= len(sample) and sample[start : start + length] in self.text:
                    best[i] = length
                    length += 1
        return best

    def copied_ngram_share(self, samples: Sequence[str], n: int = 8) -> float:
        """Share of all character n-grams of the samples that occur verbatim in the training text. n = 8: shorter
        n-grams are mostly common words and phrases (high share for any fluent text), longer ones mostly unique."""
        hashes = [_window_hashes(_codes(s), n) for s in samples]
        hashes = [h for h in hashes if len(h)]
        if not hashes:
            raise ValueError(f"no sample is at least {n} characters long")
        generated = np.concatenate(hashes)
        train = self._sorted_hashes(n)
        at = np.minimum(np.searchsorted(train, generated), len(train) - 1)
        return float((train[at] == generated).mean())


# ---- text C2ST -------------------------------------------------------------------------------------------------


def memorisation(training_text: str, samples: Sequence[str], n: int = 8) -> dict[str, float]:
    """How much of what a text model writes is verbatim training text: the longest copied run per sample (max and
    mean, characters) and the share of the samples' n-grams found in the training text (left out when every sample
    is shorter than n)."""
    index = CopyIndex(training_text)
    longest = index.longest_copied(samples)
    out = {"memorised_longest_run_max": float(max(longest)), "memorised_longest_run_mean": float(np.mean(longest))}
    try:
        out["copied_ngram_share"] = index.copied_ngram_share(samples, n)
    except ValueError:  # every sample shorter than n characters
        pass
    return out


def text_c2st(
    real: Sequence[str],
    generated: Sequence[str],
    seed: int = 0,
    test_fraction: float = 0.3,
    ngram_range: tuple[int, int] = (1, 4),
    max_features: int = 50_000,
) -> C2STResult:
    """Can a classifier tell real passages from generated ones? Character n-gram TF-IDF (fitted on the training half
    only) + logistic regression; held-out AUC 0.5 = indistinguishable. The p-value tests held-out accuracy against
    chance (one-sided binomial), as the image C2ST does. Label 1 = generated."""
    n = min(len(real), len(generated))
    if n < 5:
        raise ValueError(f"the text C2ST needs at least 5 passages per side, got {len(real)} real, {len(generated)}")
    texts = list(real[:n]) + list(generated[:n])
    y = np.array([0] * n + [1] * n)
    order = np.random.default_rng(seed).permutation(2 * n)
    n_test = max(2, int(round(2 * n * test_fraction)))
    test, train = order[:n_test], order[n_test:]
    if len(set(y[train])) < 2 or len(set(y[test])) < 2:
        raise ValueError("too few passages: a split holds only one class; give more passages")
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=ngram_range, max_features=max_features, sublinear_tf=True)
    x_train = vectorizer.fit_transform([texts[i] for i in train])
    x_test = vectorizer.transform([texts[i] for i in test])
    clf = LogisticRegression(C=1.0, max_iter=2000, random_state=seed).fit(x_train, y[train])
    return held_out_result(y[test], clf.decision_function(x_test))  # log-odds of "generated"
