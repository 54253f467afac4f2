import subprocess
import sys

import numpy as np
import pytest
import torch

from components.checksums import sha256_file
from components.export.onnx_lm import export_lm, parity_lm
from components.models.gpt import GPT, GPTClassifier, GPTConfig
from components.serving_text import classify, sample
from components.text.tokenizer import BPETokenizer

CORPUS = ["The state of the Union is strong, and the people are free.", "质量很好，物流也快。"] * 30


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lm")
    tokenizer_path = BPETokenizer.train(CORPUS, vocab_size=300).save(folder / "tokenizer.json")
    vocab = BPETokenizer.load(tokenizer_path).vocab_size
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=vocab, block_size=64, n_layer=2, n_head=2, n_embd=32)).eval()
    path = export_lm(model, folder / "model.onnx", tokenizer_sha256=sha256_file(tokenizer_path))
    return model, path, tokenizer_path


def test_onnx_matches_torch_at_every_sequence_length(exported):
    model, path, _ = exported
    diffs = parity_lm(model, path, seq_lengths=(1, 7, 64), batch=3)
    assert set(diffs) == {1, 7, 64} and max(diffs.values()) <= 1e-4, diffs


def test_sampling_is_seeded_and_crops_to_block_size(exported):
    _, path, tok = exported
    a = sample(path, tok, "The state", max_new_tokens=80, temperature=1.0, top_k=50, seed=1)
    b = sample(path, tok, "The state", max_new_tokens=80, temperature=1.0, top_k=50, seed=1)
    c = sample(path, tok, "The state", max_new_tokens=80, temperature=1.0, top_k=50, seed=2)
    assert a == b and a != c  # 80 new tokens + the prompt run past block_size 64: the context is cropped
    greedy = sample(path, tok, "质量", max_new_tokens=5, temperature=0, seed=1)
    assert greedy == sample(path, tok, "质量", max_new_tokens=5, temperature=0, seed=9)


def test_a_different_tokenizer_is_refused(exported, tmp_path):
    _, path, _ = exported
    other = BPETokenizer.train(CORPUS[:2], vocab_size=300).save(tmp_path / "other.json")
    with pytest.raises(ValueError, match="not the tokenizer"):
        sample(path, other, "x", max_new_tokens=1)


def test_serving_path_never_imports_torch(exported):
    _, path, tok = exported
    code = (
        f"import sys; from components.serving_text import sample; sample({str(path)!r}, {str(tok)!r}, 'The', 5); "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_classifier_exports_and_classifies_batches(exported, tmp_path):
    _, _, tok = exported
    tokenizer = BPETokenizer.load(tok)
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=16)
    clf = GPTClassifier(cfg, n_classes=2, class_names=["negative", "positive"]).eval()
    path = export_lm(clf, tmp_path / "classifier.onnx", tokenizer_sha256=sha256_file(tok))
    assert max(parity_lm(clf, path, seq_lengths=(1, 7, 16)).values()) <= 1e-4
    texts = ["质量很好，物流也快。", "The state of the Union is strong, and the people are free, free, free."]
    probs = classify(path, tok, texts)
    assert probs.shape == (2, 2) and np.allclose(probs.sum(axis=1), 1.0)
    with torch.no_grad():
        ids = torch.tensor([([tokenizer.eot_id] + tokenizer.encode(texts[0]))[:16]])
        expected = clf(ids).softmax(-1).numpy()
    assert np.allclose(probs[:1], expected, atol=1e-5)
    assert np.allclose(classify(path, tok, texts[0]), probs[:1], atol=1e-6)  # padding in the batch changes nothing
