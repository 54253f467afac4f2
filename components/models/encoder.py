"""A bidirectional self-attention encoder (BERT, Devlin et al. 2019) over characters, and the heads the encoder family
puts on it.

    Encoder            tokens (B, T), lengths (B,) → hidden (B, T, C)
                       token + learned position embedding, `n_layer` pre-norm blocks, a final LayerNorm. Attention is
                       softmax(Q Kᵀ / √d_k + M) V with M masking the padding keys (positions ≥ length) only: every
                       character sees the whole text, left and right.
    MaskedLM           → logits (B, T, V) over characters, the output weight tied to the token embedding
    TokenDetector      → logits (B, T): "this character was replaced" (ELECTRA's discriminator, Clark et al. 2020)
    TokenTagger        → logits (B, T, n_tags) (named entities, BIO)
    SequenceClassifier → logits (B, n_classes), from the mean of the real positions' hidden states

Every head reads (tokens, lengths) and exports to ONNX with the batch and sequence axes dynamic.
"""

from __future__ import annotations

import torch
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from components.config import Section


class EncoderConfig(Section):
    n_layer: int = Field(4, gt=0)
    n_head: int = Field(4, gt=0)
    n_embd: int = Field(128, gt=0)
    block_size: int = Field(128, ge=8)
    """Longest input in tokens ([CLS] + characters + [SEP])."""
    dropout: float = Field(0.1, ge=0, lt=1)


class _Block(nn.Module):
    def __init__(self, c: EncoderConfig):
        super().__init__()
        self.n_head, self.dropout = c.n_head, c.dropout
        self.ln1, self.ln2 = nn.LayerNorm(c.n_embd), nn.LayerNorm(c.n_embd)
        self.qkv, self.proj = nn.Linear(c.n_embd, 3 * c.n_embd), nn.Linear(c.n_embd, c.n_embd)
        self.mlp = nn.Sequential(nn.Linear(c.n_embd, 4 * c.n_embd), nn.GELU(), nn.Linear(4 * c.n_embd, c.n_embd))
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v))  # (B, H, T, d)
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=keys[:, None, None, :], dropout_p=p)
        x = x + self.drop(self.proj(y.transpose(1, 2).reshape(b, t, c)))
        return x + self.drop(self.mlp(self.ln2(x)))


class Encoder(nn.Module):
    def __init__(self, c: EncoderConfig, vocab_size: int):
        super().__init__()
        self.config, self.vocab_size, self.block_size = c, vocab_size, c.block_size
        self.wte, self.wpe = nn.Embedding(vocab_size, c.n_embd), nn.Embedding(c.block_size, c.n_embd)
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(_Block(c) for _ in range(c.n_layer))
        self.ln_f = nn.LayerNorm(c.n_embd)
        self.apply(_init)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        keys = positions[None, :] < lengths[:, None]  # (B, T): True = a real token, attended to
        x = self.drop(self.wte(tokens) + self.wpe(positions))
        for block in self.blocks:
            x = block(x, keys)
        return self.ln_f(x)


def _init(m: nn.Module) -> None:
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, std=0.02)
        nn.init.zeros_(m.bias)
    elif isinstance(m, nn.Embedding):
        nn.init.normal_(m.weight, std=0.02)


class _Head(nn.Module):
    """What every exported head shares: its inputs and their seeded examples, its metadata."""

    input_names = ("tokens", "lengths")
    kind = ""

    def __init__(self, encoder: Encoder):
        super().__init__()
        self.encoder = encoder
        self.block_size, self.vocab_size = encoder.block_size, encoder.vocab_size
        self.max_seq = encoder.block_size

    def example_inputs(self, batch: int, seed: int = 0, seq: int = 12) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(seed)
        tokens = torch.randint(5, self.vocab_size, (batch, seq), generator=g)
        return tokens, torch.randint(2, seq + 1, (batch,), generator=g)

    @property
    def onnx_metadata(self) -> dict[str, str]:
        return {"genforge.kind": self.kind, "genforge.block_size": str(self.block_size),
                "genforge.vocab_size": str(self.vocab_size), **self.extra_metadata()}  # fmt: skip

    def extra_metadata(self) -> dict[str, str]:
        return {}


class MaskedLM(_Head):
    output_name, kind = "logits", "fill-mask"

    def __init__(self, encoder: Encoder):
        super().__init__(encoder)
        self.bias = nn.Parameter(torch.zeros(encoder.vocab_size))

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.encoder(tokens, lengths) @ self.encoder.wte.weight.T + self.bias  # tied output embedding

    def logits_at(self, tokens: torch.Tensor, lengths: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
        """(N, V) logits at the N chosen positions only: training scores ~15 % of the positions, and the vocabulary
        projection is the costliest layer."""
        return self.encoder(tokens, lengths)[chosen] @ self.encoder.wte.weight.T + self.bias

    def onnx_io(self):
        return {"tokens": (-1, -1), "lengths": (-1,)}, {"logits": (-1, -1, self.vocab_size)}


class TokenDetector(_Head):
    output_name, kind = "replaced", "replaced-token-detector"

    def __init__(self, encoder: Encoder):
        super().__init__(encoder)
        self.head = nn.Linear(encoder.config.n_embd, 1)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(tokens, lengths)).squeeze(-1)

    def onnx_io(self):
        return {"tokens": (-1, -1), "lengths": (-1,)}, {"replaced": (-1, -1)}


class TokenTagger(_Head):
    output_name, kind = "logits", "token-tagger"

    def __init__(self, encoder: Encoder, tags: tuple[str, ...]):
        super().__init__(encoder)
        self.tags = tuple(tags)
        self.head = nn.Linear(encoder.config.n_embd, len(tags))

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(tokens, lengths))

    def onnx_io(self):
        return {"tokens": (-1, -1), "lengths": (-1,)}, {"logits": (-1, -1, len(self.tags))}

    def extra_metadata(self) -> dict[str, str]:
        import json

        return {"genforge.tags": json.dumps(list(self.tags))}


class SequenceClassifier(_Head):
    output_name, kind = "logits", "char-classifier"

    def __init__(self, encoder: Encoder, classes: tuple[str, ...]):
        super().__init__(encoder)
        self.classes = tuple(classes)
        self.head = nn.Linear(encoder.config.n_embd, len(classes))

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        h = self.encoder(tokens, lengths)  # (B, T, C)
        real = (torch.arange(tokens.shape[1], device=tokens.device)[None, :] < lengths[:, None]).to(h.dtype)
        pooled = (h * real[:, :, None]).sum(dim=1) / real.sum(dim=1, keepdim=True)  # mean of the real positions
        return self.head(pooled)

    def onnx_io(self):
        return {"tokens": (-1, -1), "lengths": (-1,)}, {"logits": (-1, len(self.classes))}

    def extra_metadata(self) -> dict[str, str]:
        import json

        return {"genforge.classes": json.dumps(list(self.classes), ensure_ascii=False)}


class Electra(nn.Module):
    """ELECTRA's pair: a small generator (a MaskedLM of `generator_layers` blocks) fills the masked characters, the
    discriminator (the Encoder fine-tunes start from) tells which characters were replaced. Both share the token
    embedding, as in the paper."""

    def __init__(self, c: EncoderConfig, vocab_size: int, generator_layers: int):
        super().__init__()
        self.discriminator = TokenDetector(Encoder(c, vocab_size))
        self.generator = MaskedLM(Encoder(c.model_copy(update={"n_layer": generator_layers}), vocab_size))
        self.generator.encoder.wte = self.discriminator.encoder.wte

    @property
    def encoder(self) -> Encoder:
        return self.discriminator.encoder


class BertMLM(nn.Module):
    """BERT's masked-language model: one Encoder with a MaskedLM head."""

    def __init__(self, c: EncoderConfig, vocab_size: int):
        super().__init__()
        self.mlm = MaskedLM(Encoder(c, vocab_size))

    @property
    def encoder(self) -> Encoder:
        return self.mlm.encoder
