"""Torch-free sentences from an exported sentence VAE: onnxruntime runs the decoder (tokens, z → logits) one
character at a time and the encoder (characters → posterior) for interpolations; vocab.json names the characters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from components.serving import session
from components.text.sentences import BOS, EOS, PAD, Vocab

PATH_POINTS = 7


def is_sentence_vae(sess: ort.InferenceSession) -> bool:
    return sess.get_modelmeta().custom_metadata_map.get("genforge.kind") == "sentence-vae"


class SentenceVAE:
    """The decoder (model.onnx), the encoder (encoder.onnx) and the vocabulary of a pulled folder."""

    def __init__(self, model_path: str | Path):
        folder = Path(model_path).parent
        self.decoder = session(model_path)
        if not is_sentence_vae(self.decoder):
            raise ValueError(f"{model_path} is not a sentence VAE")
        meta = self.decoder.get_modelmeta().custom_metadata_map
        self.latent_dim, self.block_size = int(meta["genforge.latent_dim"]), int(meta["genforge.block_size"])
        self.vocab = Vocab.from_json((folder / "vocab.json").read_text(encoding="utf-8"))
        if self.vocab.size != int(meta["genforge.vocab_size"]):
            raise ValueError(f"{folder / 'vocab.json'} has {self.vocab.size} tokens, the graph expects "
                             f"{meta['genforge.vocab_size']}: pull the model folder again")  # fmt: skip
        self.encoder_path = folder / "encoder.onnx"

    def decode(self, z: np.ndarray, temperature: float = 1.0, seed: int = 0) -> list[str]:
        """One sentence per latent row, sampled left to right (greedy at temperature 0) until EOS."""
        rng = np.random.default_rng(seed)
        z = np.asarray(z, dtype=np.float32)
        x = np.full((len(z), 1), BOS, dtype=np.int64)
        done = np.zeros(len(z), dtype=bool)
        for _ in range(self.block_size - 1):
            logits = self.decoder.run(None, {"tokens": x, "z": z})[0][:, -1].astype(np.float64)
            logits[:, [PAD, BOS]] = -np.inf
            if temperature == 0:
                nxt = logits.argmax(axis=1)
            else:
                p = np.exp((logits - logits.max(axis=1, keepdims=True)) / temperature)
                p /= p.sum(axis=1, keepdims=True)
                nxt = np.array([rng.choice(len(row), p=row) for row in p])
            nxt[done] = PAD
            x = np.concatenate([x, nxt[:, None]], axis=1)
            done |= nxt == EOS
            if done.all():
                break
        return [self.vocab.decode(row[1:]) for row in x]

    def sample(self, n: int, seed: int = 0, temperature: float = 1.0) -> list[str]:
        z = np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype(np.float32)
        return self.decode(z, temperature, seed)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Posterior means (N, latent_dim) of sentences (cut to the longest the model reads)."""
        tokens, lengths = self.vocab.encode(texts, self.block_size)
        if (lengths == 0).any():
            raise ValueError("an empty sentence has no meaning to encode: give at least one character")
        chars = tokens[:, 1 : int(lengths.max()) + 1]
        posterior = session(self.encoder_path).run(None, {"chars": chars, "lengths": lengths})[0]
        return posterior[:, : self.latent_dim]

    def interpolate(self, a: str, b: str, points: int = PATH_POINTS) -> list[str]:
        """Greedy sentences along the straight latent path from a's posterior mean to b's."""
        za, zb = self.encode([a, b])
        w = np.linspace(0.0, 1.0, points, dtype=np.float32)[:, None]
        return self.decode((1 - w) * za[None] + w * zb[None], temperature=0.0)
