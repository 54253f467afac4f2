import pytest
import torch
from torch.nn import functional as F

from components.models.gpt import GPT, GPTClassifier, GPTConfig, naive_attention

TINY = GPTConfig(vocab_size=40, block_size=16, n_layer=2, n_head=2, n_embd=16)


def _seeded(cfg=TINY):
    torch.manual_seed(0)
    return GPT(cfg).eval()


def test_sdpa_matches_the_written_out_formula():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 11, 8, generator=g) for _ in range(3))  # (B, nh, T, hs)
    for causal in (True, False):
        fused = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        assert torch.allclose(fused, naive_attention(q, k, v, causal=causal), atol=1e-5)


def test_attention_module_is_causal_multi_head_softmax_attention():
    """The module's output equals softmax(QKᵀ/√d_k + M)V per head, recomputed from its own projections."""
    attn = _seeded().blocks[0].attn
    x = torch.randn(3, 9, TINY.n_embd, generator=torch.Generator().manual_seed(1))
    q, k, v = attn.qkv(x).split(TINY.n_embd, dim=2)
    heads = [z.view(3, 9, TINY.n_head, -1).transpose(1, 2) for z in (q, k, v)]
    expected = attn.proj(naive_attention(*heads).transpose(1, 2).reshape(3, 9, TINY.n_embd))
    with torch.no_grad():
        assert torch.allclose(attn(x), expected, atol=1e-5)


def test_a_future_token_never_changes_an_earlier_logit():
    model = _seeded()
    (tokens,) = model.example_inputs(2, seed=0)
    changed = tokens.clone()
    t = 6
    changed[:, t + 1 :] = (changed[:, t + 1 :] + 1) % TINY.vocab_size
    with torch.no_grad():
        a, b = model(tokens), model(changed)
    assert a.shape == (2, TINY.block_size, TINY.vocab_size)
    assert torch.equal(a[:, : t + 1], b[:, : t + 1])
    assert not torch.allclose(a[:, t + 1 :], b[:, t + 1 :])


def test_head_and_embedding_share_one_matrix():
    model = _seeded()
    assert model.lm_head.weight is model.wte.weight
    c = TINY.n_embd
    per_block = 2 * 2 * c + (3 * c * c + 3 * c) + (c * c + c) + (4 * c * c + 4 * c) + (4 * c * c + c)
    expected = TINY.vocab_size * c + TINY.block_size * c + TINY.n_layer * per_block + 2 * c  # V×C counted once
    assert model.num_params() == expected
    model(model.example_inputs(1)[0]).sum().backward()
    assert model.wte.weight.grad is not None


def test_too_long_a_context_is_refused_and_bad_sizes_name_the_field():
    with pytest.raises(ValueError, match="block_size 16"):
        _seeded()(torch.zeros(1, 17, dtype=torch.long))
    with pytest.raises(ValueError, match="n_embd .* divisible by model.n_head"):
        GPTConfig(vocab_size=10, n_embd=30, n_head=4)


def test_one_layer_model_memorises_a_64_character_string():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    text = "It is a truth universally acknowledged, that a single man in pos"
    assert len(text) == 64
    chars = sorted(set(text))
    ids = torch.tensor([[chars.index(ch) for ch in text]])
    model = GPT(GPTConfig(vocab_size=len(chars), block_size=64, n_layer=1, n_head=2, n_embd=32))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(300):
        loss = F.cross_entropy(model(ids[:, :-1]).flatten(0, 1), ids[0, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if loss.item() < 0.05:
            break
    assert loss.item() < 0.1


@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_classifier_head_shapes_and_right_padding_is_invisible(pooling):
    torch.manual_seed(0)
    clf = GPTClassifier(TINY, n_classes=3, pooling=pooling, class_names=["a", "b", "c"]).eval()
    tokens, lengths = clf.example_inputs(4, seed=0, seq=10)
    with torch.no_grad():
        logits = clf(tokens, lengths)
        padded = tokens.clone()
        for row, n in enumerate(lengths):
            padded[row, n:] = 0  # whatever sits after the text
        assert logits.shape == (4, 3)
        assert torch.allclose(clf(padded, lengths), logits, atol=1e-6)
        one = clf(tokens[:1, : lengths[0]])  # alone, unpadded
        assert torch.allclose(one, logits[:1], atol=1e-5)
    assert clf.onnx_metadata["genforge.classes"] == '["a", "b", "c"]'
