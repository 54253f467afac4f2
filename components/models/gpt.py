"""GPT: a decoder-only transformer language model (Radford et al. 2018/2019), sized like nanoGPT's small configs.

tokens (B, T) int64 → logits (B, T, V): token embedding + learned position embedding, `n_layer` pre-norm blocks
(x + attn(LN(x)), then x + mlp(LN(x))), a final LayerNorm and a linear head that shares its weight with the token
embedding (weight tying, Press & Wolf 2017). Each block's attention is causal multi-head self-attention:

    Attention(Q, K, V) = softmax(Q Kᵀ / √d_k + M) V

with, per head, Q, K, V of shape (B, n_head, T, d_k), d_k = n_embd / n_head, and M (T, T) the causal mask (0 on and
below the diagonal, −∞ above it), so position t attends only to positions ≤ t. The product runs through
`torch.nn.functional.scaled_dot_product_attention(is_causal=True)`; `naive_attention` is the formula written out,
the reference the tests hold it to.

`GPTClassifier` puts a linear head on the pooled hidden states of the same trunk (the sentiment fine-tune).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass
class GPTConfig:
    vocab_size: int
    """Tokenizer vocabulary size (the tokenizer file's, special tokens included)."""
    block_size: int = 64
    """Longest context in tokens: the position table's length."""
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    """Width of the residual stream; must be divisible by n_head."""
    dropout: float = 0.0

    def training_flops(self, tokens: int) -> float:
        """Training FLOPs for `tokens` tokens (Kaplan et al. 2020, 6 per multiply-add parameter per token, forward +
        backward): the blocks' 12·L·d² matrix weights, the V·d head, and attention's L·T·d scores and mixing at full
        context. Compares models whose tokenizers differ: a bigger vocabulary costs compute in the head."""
        per_token = 12 * self.n_layer * self.n_embd**2 + self.vocab_size * self.n_embd
        return 6.0 * tokens * (per_token + self.n_layer * self.block_size * self.n_embd)

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            if getattr(self, name) < 1:
                raise ValueError(f"model.{name} must be a positive integer, got {getattr(self, name)}")
        if self.n_embd % self.n_head:
            raise ValueError(
                f"model.n_embd ({self.n_embd}) must be divisible by model.n_head ({self.n_head}): each head gets "
                "n_embd / n_head dimensions"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"model.dropout must be in [0, 1), got {self.dropout}")


def naive_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True) -> torch.Tensor:
    """softmax(Q Kᵀ / √d_k + M) V written out; q, k, v (..., T, d_k) → (..., T, d_k). Reference for the tests."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (..., T, T)
    if causal:
        t = q.shape[-2]
        future = torch.triu(torch.ones(t, t, dtype=torch.bool, device=q.device), diagonal=1)
        scores = scores.masked_fill(future, float("-inf"))
    return scores.softmax(dim=-1) @ v


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.n_head = cfg.n_head
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)  # Q, K and V for all heads in one matmul
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.dropout = cfg.dropout
        self.resid_dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=2)
        # (B, T, C) → (B, nh, T, hs): each head attends over its own hs = C / nh dimensions
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True
        )  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(b, t, c)  # heads side by side again
        return self.resid_dropout(self.proj(y))


class MLP(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd)
        self.proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.proj(F.gelu(self.fc(x))))


class Block(nn.Module):
    """Pre-norm: normalising the branch input, not the residual stream, keeps deep stacks trainable without warm-up
    tricks (GPT-2, Xiong et al. 2020)."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd)
        self.mlp = MLP(cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    input_names = ("tokens",)
    output_name = "logits"

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.cfg = cfg
        self.block_size = cfg.block_size
        self.vocab_size = cfg.vocab_size
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)  # token → vector
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)  # position → vector (learned, as GPT-2)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying: one (V, C) matrix reads tokens in and writes them out
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("proj.weight"):  # GPT-2: residual branches scaled by 1/√(2 n_layer) at init
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0.0, 0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, 0.0, 0.02)

    def num_params(self, embeddings: bool = True) -> int:
        """Parameters, the tied matrix counted once; without the position table if embeddings=False (nanoGPT's
        convention leaves the token table in, since the head uses it)."""
        n = sum(p.numel() for p in self.parameters())
        return n if embeddings else n - self.wpe.weight.numel()

    def hidden(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (B, T) int64 → final normalised hidden states (B, T, C)."""
        t = tokens.shape[1]
        if t > self.block_size:
            raise ValueError(f"sequence of {t} tokens is longer than block_size {self.block_size}: crop the context")
        pos = torch.arange(t, device=tokens.device)  # (T,)
        x = self.drop(self.wte(tokens) + self.wpe(pos))  # (B, T, C)
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.lm_head(self.hidden(tokens))  # (B, T, V)

    def example_inputs(self, batch: int, seed: int = 0, seq: int | None = None) -> tuple[torch.Tensor, ...]:
        """Seeded uniform token ids (B, seq), seq = block_size unless given: what export and parity checks feed."""
        g = torch.Generator().manual_seed(seed)
        return (torch.randint(0, self.vocab_size, (batch, seq or self.block_size), generator=g),)

    def onnx_io(self) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
        """Input and output shapes of the exported graph, -1 for the dynamic batch and sequence axes."""
        return {"tokens": (-1, -1)}, {"logits": (-1, -1, self.vocab_size)}

    @property
    def onnx_metadata(self) -> dict[str, str]:
        """Read by the torch-free consumer: how far to crop the context, which tokenizer size the graph expects."""
        return {
            "genforge.kind": "language-model",
            "genforge.block_size": str(self.block_size),
            "genforge.vocab_size": str(self.vocab_size),
        }


class GPTClassifier(nn.Module):
    """A GPT trunk + linear head on pooled hidden states: tokens (B, T), lengths (B,) → class logits (B, n_classes).

    Right padding is harmless by construction: attention is causal, so positions < length never see the padding,
    and pooling reads only them. pooling="last" takes the hidden state of the last real token (it has read the whole
    text); "mean" averages the real positions.
    """

    input_names = ("tokens", "lengths")
    output_name = "class_logits"

    def __init__(self, cfg: GPTConfig, n_classes: int, pooling: str = "last", class_names: list[str] | None = None):
        super().__init__()
        if pooling not in ("last", "mean"):
            raise ValueError(f"pooling must be 'last' or 'mean', got {pooling!r}")
        if n_classes < 2:
            raise ValueError(f"n_classes must be at least 2, got {n_classes}")
        if class_names is not None and len(class_names) != n_classes:
            raise ValueError(f"{len(class_names)} class_names given for {n_classes} classes")
        self.gpt = GPT(cfg)
        self.pooling = pooling
        self.n_classes = n_classes
        self.class_names = class_names
        self.dropout = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.n_embd, n_classes)

    @property
    def block_size(self) -> int:
        return self.gpt.block_size

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        h = self.gpt.hidden(tokens)  # (B, T, C)
        b, t, _ = h.shape
        if lengths is None:
            lengths = torch.full((b,), t, dtype=torch.long, device=tokens.device)
        lengths = lengths.clamp(1, t)
        if self.pooling == "last":
            pooled = h[torch.arange(b, device=h.device), lengths - 1]  # (B, C)
        else:
            real = (torch.arange(t, device=h.device)[None, :] < lengths[:, None]).to(h.dtype)  # (B, T)
            pooled = (h * real[:, :, None]).sum(1) / lengths[:, None].to(h.dtype)
        return self.head(self.dropout(pooled))  # (B, n_classes)

    def example_inputs(self, batch: int, seed: int = 0, seq: int | None = None) -> tuple[torch.Tensor, ...]:
        g = torch.Generator().manual_seed(seed)
        seq = seq or self.block_size
        tokens = torch.randint(0, self.gpt.vocab_size, (batch, seq), generator=g)
        return tokens, torch.randint(1, seq + 1, (batch,), generator=g)

    def onnx_io(self) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
        return {"tokens": (-1, -1), "lengths": (-1,)}, {"class_logits": (-1, self.n_classes)}

    @property
    def onnx_metadata(self) -> dict[str, str]:
        meta = {**self.gpt.onnx_metadata, "genforge.kind": "text-classifier", "genforge.pooling": self.pooling}
        if self.class_names:
            meta["genforge.classes"] = json.dumps(self.class_names)
        return meta
