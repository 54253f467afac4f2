import math
import random

import numpy as np
import pytest

from components.evaluation.text_metrics import CopyIndex, memorisation, text_c2st
from components.text.likelihood import per_char_nll, perplexity, sequence_nll

WORDS = (
    "the of and to in a is that for it as was with be by on not he this are or his from at which but have an "
    "they you were her she there been one all we their has would when if so no will more can its who union state "
    "people congress government nation year war peace law country great public power world"
).split()


def prose(n_passages: int, seed: int, words: int = 40) -> list[str]:
    """Seeded passages of English-like word sequences (Zipf-weighted words, capitalised sentences)."""
    rng = random.Random(seed)
    weights = [1 / (i + 1) for i in range(len(WORDS))]
    passages = []
    for _ in range(n_passages):
        sentences, left = [], words
        while left > 0:
            k = min(left, rng.randint(5, 15))
            s = " ".join(rng.choices(WORDS, weights, k=k))
            sentences.append(s[0].upper() + s[1:] + rng.choice([".", ".", ",", ";", "?"]))
            left -= k
        passages.append(" ".join(sentences))
    return passages


def test_uniform_model_costs_ln_v_per_token():
    vocab, text = 50, "some held-out text of 33 chars..."
    ids = [0] + list(np.random.default_rng(0).integers(1, vocab, 20))  # EOT + 20 tokens of the text

    def uniform(tokens):
        return np.zeros((*tokens.shape, vocab))

    total, count = sequence_nll(uniform, ids, block_size=8, batch_size=3)
    assert count == 20 and total == pytest.approx(20 * math.log(vocab))
    assert per_char_nll(total, len(text)) == pytest.approx(20 * math.log(vocab) / 33)
    assert perplexity(per_char_nll(total, count)) == pytest.approx(vocab)


@pytest.mark.parametrize("block_size,stride", [(4, 4), (4, 1), (7, 3), (64, None)])
def test_every_token_is_scored_once_whatever_the_windows(block_size, stride):
    """A bigram model's loss does not depend on context length, so every windowing must give the direct sum."""
    vocab = 11
    table = np.random.default_rng(1).normal(size=(vocab, vocab))  # logits of the next token given this one
    ids = list(np.random.default_rng(2).integers(0, vocab, 30))
    logp = table - np.log(np.exp(table).sum(axis=1, keepdims=True))
    expected = -sum(logp[a, b] for a, b in zip(ids[:-1], ids[1:], strict=True))
    total, count = sequence_nll(lambda x: table[x], ids, block_size=block_size, batch_size=2, stride=stride)
    assert count == len(ids) - 1
    assert total == pytest.approx(expected, rel=1e-9)


def test_longest_copied_substring_known_answers():
    training = " ".join(prose(30, seed=0))
    index = CopyIndex(training)
    copied = training[1000:1137]
    novel = "§¶∆" * 5
    assert index.longest_copied([copied, novel + copied + novel, novel, "", "q"]) == [137, 137, 0, 0, 0]
    assert index.copied_ngram_share([copied], n=8) == 1.0
    assert index.copied_ngram_share([novel], n=8) == 0.0
    assert memorisation(training, [copied, novel], n=8) == {
        "memorised_longest_run_max": 137.0,
        "memorised_longest_run_mean": 68.5,
        "copied_ngram_share": pytest.approx(130 / (130 + 8)),  # 130 copied 8-grams, 8 novel ones
    }
    assert "copied_ngram_share" not in memorisation(training, ["q"], n=8)  # every sample shorter than n


def test_longest_copied_agrees_with_brute_force():
    rng = random.Random(0)
    training = "".join(rng.choices("abc", k=3000))  # small alphabet: many partial matches of every length
    samples = ["".join(rng.choices("abcd", k=rng.randint(1, 80))) for _ in range(30)]

    def brute(s):
        return max((j - i for i in range(len(s)) for j in range(i + 1, len(s) + 1) if s[i:j] in training), default=0)

    assert CopyIndex(training).longest_copied(samples) == [brute(s) for s in samples]


def test_text_c2st_chance_for_real_vs_real_and_perfect_for_shuffled_characters():
    real = prose(120, seed=3)
    same = text_c2st(real[:60], real[60:], seed=0)
    assert 0.3 < same.auc < 0.7 and same.p_value > 0.05
    rng = random.Random(4)
    shuffled = ["".join(rng.sample(p, len(p))) for p in prose(60, seed=5)]  # same characters, no words
    fake = text_c2st(real[:60], shuffled, seed=0)
    assert fake.auc > 0.99 and fake.p_value < 1e-6


def test_text_c2st_depends_on_its_seed_only():
    """The same passages and seed give the same result whatever the process drew before (no global RNG is read)."""
    import torch

    real, fake = prose(60, seed=3), prose(60, seed=6)
    first = text_c2st(real, fake, seed=0)
    np.random.seed(99)
    random.seed(99)
    torch.rand(1000)
    again = text_c2st(real, fake, seed=0)
    assert (again.auc, again.accuracy, again.p_value) == (first.auc, first.accuracy, first.p_value)
    assert np.array_equal(again.fpr, first.fpr) and np.array_equal(again.tpr, first.tpr)
