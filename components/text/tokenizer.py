"""Byte-level BPE tokenizer (GPT-2's scheme) trained with Hugging Face `tokenizers`, saved as one JSON file.

Byte-level: text is UTF-8 encoded and every byte is a base symbol, so any string — English, Chinese, emoji — encodes
and decodes back exactly, with no unknown token; BPE merges learned on the training corpus make frequent byte runs
single tokens (a Chinese character is 3 bytes: on an English corpus it costs ~3 tokens, on a Chinese one often 1 or
less). No normaliser runs (NFKC would turn full-width digits into ASCII and break the round trip).

One special token, `<|endoftext|>` (id 0), separates documents and starts generation from nothing.

This module imports no torch: the serving path loads the same file with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

EOT = "<|endoftext|>"


class BPETokenizer:
    def __init__(self, tokenizer: Tokenizer):
        self._tok = tokenizer
        # Typed text that happens to spell "<|endoftext|>" stays text (bytes); only encode_documents inserts the EOT
        # id, so no input can forge a document boundary and every string round-trips.
        self._tok.encode_special_tokens = True
        eot = tokenizer.token_to_id(EOT)
        if eot is None:
            raise ValueError(f"not a GenForge tokenizer: its vocabulary lacks the special token {EOT}")
        self.eot_id = eot

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int = 4096, min_frequency: int = 2) -> BPETokenizer:
        """Learn merges on `texts` (documents, any iterable of str) until the vocabulary holds vocab_size tokens
        (256 byte symbols + EOT + merges; fewer when the corpus runs out of pairs seen min_frequency times)."""
        if vocab_size < 258:
            raise ValueError(
                f"tokenizer.vocab_size must be at least 258 (256 bytes + {EOT} + 1 merge), got {vocab_size}"
            )
        tok = Tokenizer(models.BPE())
        # GPT-2's pre-tokenizer splits words, numbers and punctuation before merging, so merges never straddle them;
        # add_prefix_space=False keeps decode(encode(s)) == s.
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            special_tokens=[EOT],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes, seen in training or not
            show_progress=False,
        )
        tok.train_from_iterator(texts, trainer=trainer)
        return cls(tok)

    @classmethod
    def load(cls, path: str | Path) -> BPETokenizer:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no tokenizer file at {path}: it is saved beside the model (tokenizer.json)")
        try:
            return cls(Tokenizer.from_file(str(path)))
        except Exception as exc:  # tokenizers raises a bare Exception on malformed JSON
            raise ValueError(f"{path} is not a tokenizers JSON file ({exc})") from None

    @classmethod
    def from_str(cls, text: str) -> BPETokenizer:
        """From the JSON text of `to_str` (how checkpoints carry the tokenizer)."""
        return cls(Tokenizer.from_str(text))

    def to_str(self) -> str:
        """The tokenizer as JSON text, byte for byte what `save` writes as tokenizer.json."""
        return self._tok.to_str()

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._tok.save(str(path), pretty=False)
        return path

    @property
    def vocab_size(self) -> int:
        return self._tok.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str) -> list[int]:
        return self._tok.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """Many texts at once (the Rust side runs them in parallel)."""
        return [e.ids for e in self._tok.encode_batch(list(texts), add_special_tokens=False)]

    def encode_documents(self, documents: Sequence[str]) -> list[int]:
        """One token stream: EOT before every document, so the first token of each document is predicted too."""
        ids: list[int] = []
        for doc in self.encode_batch(documents):
            ids.append(self.eot_id)
            ids.extend(doc)
        return ids

    def decode(self, ids: Sequence[int]) -> str:
        """Text of the ids, special tokens dropped; a byte sequence cut mid-character decodes to U+FFFD."""
        return self._tok.decode(list(ids), skip_special_tokens=True)
