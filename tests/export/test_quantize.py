"""INT8 dynamic quantisation of a language model's logits graph, and the export step's rule for registering it: only
when its held-out loss per character stays within the declared margin of the float graph's."""

import json

import numpy as np
import onnx
import pytest
import torch

from components.export.onnx_lm import export_lm
from components.export.quantize import QUANTIZATION, quantize_int8
from components.families.gpt.config import GPTPipelineConfig
from components.families.gpt.steps import INT8_FILE, export_variants, onnx_nats_per_char
from components.models.gpt import GPT, GPTConfig
from components.serving import session
from components.text.likelihood import EncodedText
from components.text.tokenizer import BPETokenizer
from components.training.lm_trainer import fit_lm, held_out_nats_per_char

TRAIN = ["The state of the Union is strong, and the people of the nation are free to work."] * 40
HELD_OUT = ["The people of the Union are strong.", "The nation is free, and the state works."]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny GPT trained for 150 steps, its tokenizer, and a dataset folder holding the held-out split."""
    folder = tmp_path_factory.mktemp("int8")
    tokenizer = BPETokenizer.train(TRAIN, vocab_size=300)
    cfg = GPTPipelineConfig.model_validate(
        {"seed": 0, "train": {"max_steps": 150, "batch_size": 8, "warmup_steps": 10, "num_threads": 1}}
    )
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=32, n_layer=2, n_head=2, n_embd=64))
    fit_lm(model, np.asarray(tokenizer.encode_documents(TRAIN)), cfg.train, seed=0)
    data = folder / "data"
    data.mkdir()
    (data / "held_out.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in HELD_OUT))
    return model.eval(), tokenizer, data, cfg, folder


def _checkpoint(model: GPT, tokenizer: BPETokenizer, path):
    torch.save({"family": "gpt", "tokenizer": tokenizer._tok.to_str(), "model": model.state_dict()}, path)
    return path


def test_int8_graph_is_smaller_keeps_metadata_and_dynamic_axes(trained):
    model, tokenizer, _, _, folder = trained
    fp32 = export_lm(model, folder / "fp32" / "model.onnx", tokenizer_sha256="abc")
    int8 = quantize_int8(fp32, folder / "fp32" / INT8_FILE)
    assert int8.stat().st_size < 0.6 * fp32.stat().st_size
    meta = {p.key: p.value for p in onnx.load(str(int8)).metadata_props}
    assert meta["genforge.tokenizer_sha256"] == "abc" and meta["genforge.block_size"] == "32"
    assert meta["genforge.quantization"] == QUANTIZATION
    sess_fp32, sess_int8 = session(fp32), session(int8)
    x = np.random.default_rng(0).integers(0, tokenizer.vocab_size, (3, 32))
    for t in (1, 9, 32):  # batch and sequence axes stay dynamic
        a, b = (s.run(None, {"tokens": x[:, :t]})[0] for s in (sess_fp32, sess_int8))
        assert a.shape == b.shape == (3, t, tokenizer.vocab_size)
        assert (a.argmax(-1) == b.argmax(-1)).mean() >= 0.9  # the same next token almost everywhere


def test_onnx_loss_per_character_matches_torch(trained):
    model, tokenizer, data, _, folder = trained
    fp32 = export_lm(model, folder / "loss" / "model.onnx")
    held = EncodedText.of(tokenizer, HELD_OUT)
    expected = held_out_nats_per_char(model, held)
    assert onnx_nats_per_char(fp32, held) == pytest.approx(expected, abs=1e-4)


@pytest.mark.slow  # make test-fast keeps the refusal test; these two run in make test
def test_an_int8_graph_within_the_margin_is_kept(trained):
    model, tokenizer, data, cfg, folder = trained
    fp32 = export_lm(model, folder / "kept" / "model.onnx")
    files, metrics = export_variants(fp32, _checkpoint(model, tokenizer, folder / "kept.pt"), data, cfg,
                                     folder / "kept" / "variants")  # fmt: skip
    assert metrics["int8_registered"] == 1.0 and abs(metrics["int8_loss_increase"]) < cfg.export.int8_max_loss_increase
    assert [f.name for f in files] == [INT8_FILE] and files[0].is_file()


def test_an_int8_graph_that_loses_too_much_is_not_registered(trained):
    """A hidden unit of every MLP is made dead in float (zero weights, bias -100: GELU gives 0) and its outgoing
    weights 1000× the largest. The float graph computes what it did before; the INT8 graph's per-tensor scale is
    now so coarse that every other weight of those matrices rounds to zero: it loses every MLP."""
    model, tokenizer, data, cfg, folder = trained
    broken = GPT(model.cfg)
    broken.load_state_dict(model.state_dict())
    with torch.no_grad():
        for block in broken.blocks:
            block.mlp.fc.weight[0], block.mlp.fc.bias[0] = 0.0, -100.0
            block.mlp.proj.weight[:, 0] = 1000.0 * block.mlp.proj.weight.abs().max()
    fp32 = export_lm(broken.eval(), folder / "broken" / "model.onnx")
    files, metrics = export_variants(fp32, _checkpoint(broken, tokenizer, folder / "broken.pt"), data, cfg,
                                     folder / "broken" / "variants")  # fmt: skip
    assert files == [] and metrics["int8_registered"] == 0.0
    assert metrics["int8_loss_increase"] > cfg.export.int8_max_loss_increase


@pytest.mark.slow  # make test-fast keeps the refusal test; these two run in make test
def test_int8_can_be_switched_off(trained):
    model, tokenizer, data, cfg, folder = trained
    off = cfg.model_copy(update={"export": cfg.export.model_copy(update={"int8": False})})
    fp32 = export_lm(model, folder / "off" / "model.onnx")
    checkpoint = _checkpoint(model, tokenizer, folder / "off.pt")
    assert export_variants(fp32, checkpoint, data, off, folder / "off") == ([], {})
