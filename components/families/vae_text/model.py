"""A sentence VAE (Bowman et al., CoNLL 2016, "Generating Sentences from a Continuous Space") with transformer
encoder and decoder built from the GPT's blocks.

    encoder  chars (B, T), lengths (B,) → posterior (B, 2·latent_dim) = [mean | log-variance]   (encoder.onnx)
             a causal GPT trunk read at the last character (it has read the whole sentence), a linear head
    decoder  tokens (B, T) = [BOS] c1 … , z (B, latent_dim) → logits (B, T, V)                  (model.onnx)
             a causal GPT whose every position also receives W·z, so z conditions each next-character choice

Likelihood: p(x | z) = Π_t softmax(logits_t)[x_{t+1}] over the characters and the closing EOS; the negative ELBO
−E_q log p(x | z) + KL(q(z | x) ‖ N(0, I)) is in nats per sentence, reported per character.

Posterior collapse (a decoder strong enough to ignore z, KL → 0) is met with Bowman's two remedies — KL annealing
(the KL weight rises linearly from 0 to 1 over `kl_warmup_steps`) and word dropout (each decoder input character is
replaced by UNK with probability `word_dropout`, so the decoder must lean on z) — and, because a transformer decoder
collapsed with those alone (measured: KL 0.01 nats per sentence after 180 steps), free bits (Kingma et al. 2016):
each latent dimension's KL, averaged over the batch, is charged at least `free_bits` nats in training, so pushing it
lower earns nothing. The ELBO the evaluation reports charges the true KL. It also reports the KL and the active
units, and the gate asks a minimum KL per sentence.
"""

from __future__ import annotations

import torch
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from components.config import Section
from components.models.gpt import GPT, GPTClassifier, GPTConfig
from components.text.sentences import PAD, UNK


class TextVAEConfig(Section):
    latent_dim: int = Field(32, gt=0)
    n_layer: int = Field(2, gt=0)
    n_head: int = Field(4, gt=0)
    n_embd: int = Field(128, gt=0)
    max_chars: int = Field(40, ge=4, le=254)
    """Longest sentence kept (characters); the block holds it with BOS/EOS."""

    def gpt(self, vocab_size: int) -> GPTConfig:
        return GPTConfig(vocab_size=vocab_size, block_size=self.max_chars + 2, n_layer=self.n_layer,
                         n_head=self.n_head, n_embd=self.n_embd)  # fmt: skip


class SentenceEncoder(nn.Module):
    input_names = ("chars", "lengths")
    output_name = "posterior"
    onnx_metadata: dict[str, str] = {}  # noqa: RUF012 (read-only)

    def __init__(self, cfg: TextVAEConfig, vocab_size: int):
        super().__init__()
        self.latent_dim = cfg.latent_dim
        self.trunk = GPTClassifier(cfg.gpt(vocab_size), 2 * cfg.latent_dim, pooling="last")
        self.vocab_size = vocab_size
        self.max_seq = cfg.max_chars  # the characters of the longest sentence

    def forward(self, chars: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.trunk(chars, lengths)

    def split(self, chars: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, logvar = self(chars, lengths).chunk(2, dim=1)
        return mean, logvar

    def example_inputs(self, batch: int, seed: int = 0, seq: int = 12) -> tuple[torch.Tensor, ...]:
        g = torch.Generator().manual_seed(seed)
        chars = torch.randint(4, self.vocab_size, (batch, seq), generator=g)
        return chars, torch.randint(1, seq + 1, (batch,), generator=g)

    def onnx_io(self) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
        return {"chars": (-1, -1), "lengths": (-1,)}, {"posterior": (-1, 2 * self.latent_dim)}


class SentenceDecoder(nn.Module):
    input_names = ("tokens", "z")
    output_name = "logits"

    def __init__(self, cfg: TextVAEConfig, vocab_size: int):
        super().__init__()
        self.latent_dim, self.vocab_size = cfg.latent_dim, vocab_size
        self.gpt = GPT(cfg.gpt(vocab_size))
        self.block_size = self.gpt.block_size
        self.max_seq = cfg.max_chars + 1  # [BOS] and the longest sentence's characters
        self.from_z = nn.Linear(cfg.latent_dim, cfg.n_embd)

    def forward(self, tokens: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        g = self.gpt
        t = tokens.shape[1]
        pos = torch.arange(t, device=tokens.device)
        x = g.wte(tokens) + g.wpe(pos) + self.from_z(z)[:, None, :]  # (B, T, C): z joins every position
        for block in g.blocks:
            x = block(x)
        return g.lm_head(g.ln_f(x))  # (B, T, V)

    def example_inputs(self, batch: int, seed: int = 0, seq: int = 12) -> tuple[torch.Tensor, ...]:
        g = torch.Generator().manual_seed(seed)
        return (torch.randint(0, self.vocab_size, (batch, seq), generator=g),
                torch.randn(batch, self.latent_dim, generator=g))  # fmt: skip

    def onnx_io(self) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
        return {"tokens": (-1, -1), "z": (-1, self.latent_dim)}, {"logits": (-1, -1, self.vocab_size)}

    @property
    def onnx_metadata(self) -> dict[str, str]:
        return {
            "genforge.kind": "sentence-vae",
            "genforge.block_size": str(self.block_size),
            "genforge.vocab_size": str(self.vocab_size),
            "genforge.latent_dim": str(self.latent_dim),
        }


class TextVAE(nn.Module):
    def __init__(self, cfg: TextVAEConfig, vocab_size: int):
        super().__init__()
        self.encoder = SentenceEncoder(cfg, vocab_size)
        self.decoder = SentenceDecoder(cfg, vocab_size)

    def terms(
        self, tokens: torch.Tensor, lengths: torch.Tensor, eps: torch.Tensor, word_dropout: float = 0.0,
        noise: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """(−log p(x | z) summed over the characters and EOS (B,), KL(q ‖ N(0, I)) per latent dimension (B, L)), in
        nats, for one draw z = mean + σ·ε. tokens (B, W) = [BOS] c1 … cn [EOS] PAD…, lengths (B,) = n."""
        width = int(lengths.max()) + 2
        tokens = tokens[:, :width]
        mean, logvar = self.encoder.split(tokens[:, 1:-1], lengths)  # c1 … cn (and EOS/PAD after shorter ones)
        kl = 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar)  # (B, L)
        z = mean + torch.exp(0.5 * logvar) * eps
        inputs, targets = tokens[:, :-1], tokens[:, 1:]
        if word_dropout > 0:
            drop = torch.rand(inputs.shape, generator=noise, device=inputs.device) < word_dropout
            drop[:, 0] = False  # BOS stays
            inputs = inputs.masked_fill(drop & (inputs != PAD), UNK)
        logits = self.decoder(inputs, z)
        nll = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=PAD, reduction="none")
        return nll.view(targets.shape).sum(dim=1), kl
