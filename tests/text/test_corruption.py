"""The pretraining objectives' known answers: a model that copies its input scores the loss the corruption implies;
a generator that restores the original leaves nothing for ELECTRA's discriminator to find."""

from __future__ import annotations

import math

import torch

from components.text import corruption
from components.text.chars import CLS, MASK, PAD, SEP


def batch(n=64, t=40, vocab=50, seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(5, t + 1, (n,), generator=g)
    tokens = torch.randint(5, vocab, (n, t), generator=g)
    positions = torch.arange(t)[None, :]
    tokens[:, 0] = CLS
    tokens = torch.where(positions == lengths[:, None] - 1, torch.full_like(tokens, SEP), tokens)
    tokens = torch.where(positions >= lengths[:, None], torch.full_like(tokens, PAD), tokens)
    return tokens, lengths


def test_choose_takes_the_rate_of_each_texts_characters_and_never_a_special():
    tokens, lengths = batch()
    chosen = corruption.choose(tokens, lengths, 0.15, torch.Generator().manual_seed(1))
    assert not chosen[tokens < corruption.FIRST_CHAR].any()
    expected = ((lengths - 2).float() * 0.15).round().clamp(min=1)
    assert torch.equal(chosen.sum(dim=1).float(), expected)


def test_a_model_that_copies_its_input_scores_the_known_mlm_loss():
    vocab, margin = 50, 6.0
    tokens, lengths = batch(n=2000, vocab=vocab)
    gen = torch.Generator().manual_seed(2)
    chosen = corruption.choose(tokens, lengths, 0.15, gen)
    inputs = corruption.bert_corrupt(tokens, chosen, vocab, gen)
    copy_logits = margin * torch.nn.functional.one_hot(inputs, vocab).float()  # predicts the character it reads
    loss = corruption.mlm_loss(copy_logits[chosen], tokens, chosen)
    kept = (inputs[chosen] == tokens[chosen]).float().mean()
    # −log softmax: log(e^m + V − 1) − m where it reads the original, log(e^m + V − 1) elsewhere.
    known = math.log(math.exp(margin) + vocab - 1) - margin * kept.item()
    assert abs(loss.item() - known) < 1e-5
    masked = (inputs[chosen] == MASK).float().mean()
    assert abs(masked - 0.8) < 0.03 and abs(kept - 0.1) < 0.03  # BERT's 80 / 10 / 10


def test_a_generator_that_restores_the_original_leaves_nothing_replaced():
    vocab, margin = 50, 30.0
    tokens, lengths = batch(vocab=vocab)
    gen = torch.Generator().manual_seed(3)
    chosen = corruption.choose(tokens, lengths, 0.15, gen)
    perfect = margin * torch.nn.functional.one_hot(tokens[chosen], vocab).float()
    corrupted, labels = corruption.electra_replace(tokens, chosen, perfect, gen)
    assert torch.equal(corrupted, tokens) and labels.sum() == 0  # a sample equal to the original counts as original
    # A discriminator sure that nothing was replaced then scores log(1 + e^−m) at every real position.
    loss = corruption.rtd_loss(torch.full(tokens.shape, -margin), labels, lengths)
    assert abs(loss.item() - math.log1p(math.exp(-margin))) < 1e-9


def test_a_generator_that_always_writes_another_character_replaces_exactly_the_chosen():
    vocab = 50
    tokens, lengths = batch(vocab=vocab)
    gen = torch.Generator().manual_seed(4)
    chosen = corruption.choose(tokens, lengths, 0.15, gen)
    other = torch.where(tokens[chosen] == 7, 8, 7)
    logits = 30.0 * torch.nn.functional.one_hot(other, vocab).float()
    corrupted, labels = corruption.electra_replace(tokens, chosen, logits, gen)
    assert torch.equal(labels.bool(), chosen) and torch.equal(corrupted[chosen], other)
