"""The two self-correcting pretraining objectives of the encoder: BERT's masked-token prediction and ELECTRA's
replaced-token detection (Devlin et al. 2019; Clark et al., ICLR 2020).

Both start by choosing `rate` of the real characters (never [CLS], [SEP], [PAD]; at least one per text):
- BERT replaces a chosen character by [MASK] (80 %), a random character (10 %) or leaves it (10 %), and scores the
  cross-entropy of the original character at the chosen positions only.
- ELECTRA replaces the chosen characters by [MASK], lets a small generator (an MLM) sample a character for each, and
  trains the discriminator to tell, at every real position, whether the character differs from the original: a
  sampled character equal to the original counts as original (the paper's rule). The generator's MLM loss is added
  to rtd_weight × the discriminator's loss (λ = 50 in the paper).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from components.text.chars import MASK, SPECIALS

FIRST_CHAR = len(SPECIALS)


def choose(tokens: torch.Tensor, lengths: torch.Tensor, rate: float, gen: torch.Generator) -> torch.Tensor:
    """(B, T) bool: the positions to corrupt, `rate` of each text's characters (positions 1 … length − 2)."""
    b, t = tokens.shape
    positions = torch.arange(t)[None, :]
    chars = (positions >= 1) & (positions < lengths[:, None] - 1)
    scores = torch.rand(b, t, generator=gen).masked_fill(~chars, 2.0)
    count = (chars.sum(dim=1).float() * rate).round().clamp(min=1).long()  # (B,)
    rank = scores.argsort(dim=1).argsort(dim=1)  # each position's rank among its row's scores
    return (rank < count[:, None]) & chars


def bert_corrupt(tokens: torch.Tensor, chosen: torch.Tensor, vocab_size: int, gen: torch.Generator) -> torch.Tensor:
    """The input BERT reads: chosen characters → [MASK] (80 %), a random character (10 %), unchanged (10 %)."""
    u = torch.rand(tokens.shape, generator=gen)
    random_chars = torch.randint(FIRST_CHAR, vocab_size, tokens.shape, generator=gen)
    out = torch.where(chosen & (u < 0.8), torch.full_like(tokens, MASK), tokens)
    return torch.where(chosen & (u >= 0.8) & (u < 0.9), random_chars, out)


def mlm_loss(logits: torch.Tensor, tokens: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of the original character at the chosen positions; logits (N, V) at those positions."""
    return F.cross_entropy(logits, tokens[chosen])


def electra_replace(
    tokens: torch.Tensor, chosen: torch.Tensor, generator_logits: torch.Tensor, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """(the discriminator's input, its labels): chosen characters replaced by a sample of the generator's
    distribution (logits (N, V) at the chosen positions; no gradient flows through the sample); label 1 where the
    result differs from the original."""
    probs = generator_logits.detach().float().cpu().softmax(dim=-1)  # (N, V)
    probs[:, :FIRST_CHAR] = 0.0  # the generator fills characters, never specials
    sampled = torch.multinomial(probs + 1e-12, 1, generator=gen).squeeze(1)
    corrupted = tokens.clone()
    corrupted[chosen] = sampled
    return corrupted, (corrupted != tokens).float()


def rtd_loss(logits: torch.Tensor, labels: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of "replaced" over every real position ([CLS] … [SEP]); logits (B, T)."""
    real = torch.arange(logits.shape[1], device=logits.device)[None, :] < lengths[:, None]
    return F.binary_cross_entropy_with_logits(logits[real], labels[real])
