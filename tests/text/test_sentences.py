"""Sentences and characters of the sentence VAE: cut at sentence ends, length limits, a vocabulary whose encode and
decode invert each other, specials where they belong."""

from __future__ import annotations

import numpy as np
import pytest

from components.text.sentences import BOS, EOS, PAD, UNK, Vocab, sentences


def test_documents_are_cut_after_each_sentence_end_and_kept_by_length():
    docs = ["今天天气很好。我们去公园散步！好。明天会下雨吗？这是一个非常非常非常长的句子不会被留下。"]
    assert sentences(docs, max_chars=10) == ["今天天气很好。", "我们去公园散步！", "明天会下雨吗？"]  # "好。" too short


def test_encode_and_decode_invert_each_other_with_specials_in_place():
    vocab = Vocab.build(["天气很好。", "天气很好。", "天气不好。"], min_count=2)  # 不 seen once: unknown
    tokens, lengths = vocab.encode(["天气很好。", "天气不好。"], width=8)
    assert tokens.shape == (2, 8) and lengths.tolist() == [5, 5]
    assert tokens[0, 0] == BOS and tokens[0, 6] == EOS and tokens[0, 7] == PAD
    assert tokens[1, 3] == UNK
    assert vocab.decode(tokens[0, 1:]) == "天气很好。" and vocab.decode(tokens[1, 1:]) == "天气□好。"
    assert Vocab.from_json(vocab.to_json()) == vocab
    with pytest.raises(ValueError, match="special"):
        Vocab.from_json('{"specials": ["x"], "chars": ""}')
    cut, n = vocab.encode(["天气很好。天气很好。"], width=6)  # longer than the width: cut, EOS kept
    assert n.tolist() == [4] and cut[0, -1] == EOS and np.all(cut[0, 1:5] != PAD)
