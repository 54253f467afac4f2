"""The sentence VAE's known answers: a KL of zero at the prior, the likelihood counts each character and the EOS
once, word dropout touches neither BOS nor padding, the KL weight anneals, training lowers the ELBO, a resumed run
equals an uninterrupted one, and the exported graphs match torch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from components import checkpoints
from components.families import parse_config
from components.families.vae_text import steps
from components.families.vae_text.model import TextVAE, TextVAEConfig
from components.families.vae_text.trainer import TextVAETrainer, load_text_vae
from components.text.sentences import Vocab

SUBJECTS, VERBS, OBJECTS = (
    ["我们", "他们", "政府", "工人"],
    ["建设", "发展", "支持", "改革"],
    ["经济", "国家", "农村", "工业"],
)
SMALL = {
    "family": "vae-text",
    "model": {"latent_dim": 4, "n_layer": 1, "n_head": 2, "n_embd": 32, "max_chars": 12},
    "train": {"batch_size": 16, "log_every": 1, "num_threads": 1, "kl_warmup_steps": 8},
}


def corpus(n: int = 64, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [rng.choice(SUBJECTS) + rng.choice(VERBS) + rng.choice(OBJECTS) + "。" for _ in range(n)]


def _cfg(**train):
    return parse_config({**SMALL, "train": {**SMALL["train"], **train}})


def test_the_likelihood_counts_each_character_and_the_eos_once_and_kl_is_zero_at_the_prior(monkeypatch):
    vocab = Vocab.build(corpus())
    vae = TextVAE(TextVAEConfig(latent_dim=4, n_layer=1, n_head=2, n_embd=32, max_chars=12), vocab.size)
    monkeypatch.setattr(vae.encoder, "split", lambda chars, lengths: (torch.zeros(2, 4), torch.zeros(2, 4)))
    uniform = lambda tokens, z: torch.zeros(tokens.shape[0], tokens.shape[1], vocab.size)  # noqa: E731
    monkeypatch.setattr(vae.decoder, "forward", uniform)
    tokens, lengths = vocab.encode(["我们建设经济。", "工人改革。"], 14)
    recon, kl = vae.terms(torch.from_numpy(tokens), torch.from_numpy(lengths), torch.zeros(2, 4))
    expected = (lengths + 1) * math.log(vocab.size)  # a uniform decoder: log V per character and per EOS
    torch.testing.assert_close(recon, torch.from_numpy(expected).float())
    torch.testing.assert_close(kl, torch.zeros(2, 4))


def test_word_dropout_replaces_characters_only():
    vocab = Vocab.build(corpus())
    vae = TextVAE(TextVAEConfig(latent_dim=4, n_layer=1, n_head=2, n_embd=32, max_chars=12), vocab.size)
    seen = {}
    original = vae.decoder.forward

    def spy(tokens, z):
        seen["inputs"] = tokens.clone()
        return original(tokens, z)

    vae.decoder.forward = spy
    tokens, lengths = vocab.encode(["我们建设经济。", "工人改革。"], 14)
    vae.terms(torch.from_numpy(tokens), torch.from_numpy(lengths), torch.zeros(2, 4), word_dropout=0.999,
              noise=torch.Generator().manual_seed(0))  # fmt: skip
    inputs = seen["inputs"]
    assert (inputs[:, 0] == 1).all()  # BOS kept
    assert (inputs[0, 1:8] == 3).all()  # every character (and the EOS position of the shorter one) → UNK
    assert (inputs[1, 7:] == 0).all()  # padding stays padding


def test_training_lowers_the_elbo_and_anneals_the_kl(tmp_path):
    texts = corpus()
    vocab = Vocab.build(texts)
    tokens, lengths = vocab.encode(texts, 14)
    trainer = TextVAETrainer(_cfg(epochs=15, lr=3e-3), vocab, tokens, lengths, tmp_path)
    result = trainer.fit()
    weights = [row["kl_weight"] for row in result.history]
    assert weights[0] < 0.5 and weights[-1] == 1.0
    first, last = result.history[0]["nats_per_char"], result.history[-1]["nats_per_char"]
    assert last < 0.6 * first, (first, last)


def test_resumed_run_matches_an_uninterrupted_one(tmp_path):
    texts = corpus()
    vocab = Vocab.build(texts)
    tokens, lengths = vocab.encode(texts, 14)
    cfg = _cfg(epochs=2)  # 64 / 16 = 4 steps per epoch
    straight = TextVAETrainer(cfg, vocab, tokens, lengths, tmp_path / "straight").fit()

    class Crash(Exception):
        pass

    def crash(row):
        if row["step"] == 6:
            raise Crash

    with pytest.raises(Crash):
        TextVAETrainer(cfg, vocab, tokens, lengths, tmp_path / "resumed", on_log=crash).fit()
    assert checkpoints.load(tmp_path / "resumed" / "last.pt")["step"] == 4
    resumed = TextVAETrainer(cfg, vocab, tokens, lengths, tmp_path / "resumed").fit(resume=True)
    (a, _), (b, _) = load_text_vae(straight.checkpoint), load_text_vae(resumed.checkpoint)
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q), name


@pytest.mark.slow  # 6 s of ONNX export; make test only
def test_the_exported_graphs_match_torch_at_any_length(tmp_path):
    vocab = Vocab.build(corpus())
    vae = TextVAE(TextVAEConfig(latent_dim=4, n_layer=1, n_head=2, n_embd=32, max_chars=12), vocab.size).eval()
    for graph, name in ((vae.decoder, "model"), (vae.encoder, "encoder")):
        assert steps.export_graph(graph, tmp_path / f"{name}.onnx", 3) < 1e-4


def test_free_bits_charge_each_dimension_at_least_its_floor(tmp_path, monkeypatch):
    """A posterior equal to the prior (KL 0) is still charged latent_dim × free_bits nats once annealing is over."""
    texts = corpus()
    vocab = Vocab.build(texts)
    tokens, lengths = vocab.encode(texts, 14)
    trainer = TextVAETrainer(_cfg(epochs=1, free_bits=0.5), vocab, tokens, lengths, tmp_path)
    monkeypatch.setattr(trainer.vae.encoder, "split", lambda c, n: (torch.zeros(len(c), 4), torch.zeros(len(c), 4)))
    trainer.start_epoch(0)
    trainer.step = 100  # past kl_warmup_steps: weight 1
    stats, _ = trainer.train_step(0, 1)
    assert stats["kl"] == 0 and stats["kl_weight"] == 1.0
    assert stats["loss"] == pytest.approx(stats["recon"] + 4 * 0.5, rel=1e-6)
