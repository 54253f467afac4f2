import pytest

from components.text.tokenizer import EOT, BPETokenizer

CORPUS = [
    "Fellow-Citizens of the Senate and House of Representatives:\n\nIn meeting you again I feel much satisfaction.",
    "The state of the Union is strong. (Applause.) We will build—together—a 21st-century economy!",
    "质量很好，物流也快。这本书的内容非常不错，推荐大家购买。",
    "迈向充满希望的新世纪——一九九八年新年讲话（附图片１张）",
] * 20

SAMPLES = [
    "质量很好，物流也快。",
    "Hello, world!\n\n\tA line with punctuation: (yes) — “quotes”, 3.14 & 100%…\r\n",
    "Mixed 中文 and English; emoji 🐋 and full-width １２月３１日",
    "  leading and trailing spaces  ",
    "",
]


@pytest.fixture(scope="module")
def tokenizer():
    return BPETokenizer.train(CORPUS, vocab_size=400)


@pytest.mark.parametrize("text", SAMPLES)
def test_round_trip_english_and_chinese(tokenizer, text):
    assert tokenizer.decode(tokenizer.encode(text)) == text


def test_merges_are_learned_for_both_languages(tokenizer):
    assert 258 < tokenizer.vocab_size <= 400
    assert len(tokenizer.encode("质量很好")) < len("质量很好".encode())  # fewer tokens than UTF-8 bytes
    assert len(tokenizer.encode("the Union")) < len("the Union")


def test_saved_file_loads_to_identical_ids_and_training_is_deterministic(tokenizer, tmp_path):
    path = tokenizer.save(tmp_path / "tokenizer.json")
    loaded = BPETokenizer.load(path)
    for text in SAMPLES + CORPUS[:4]:
        assert loaded.encode(text) == tokenizer.encode(text)
    again = BPETokenizer.train(CORPUS, vocab_size=400).save(tmp_path / "again.json")
    assert again.read_bytes() == path.read_bytes()  # same corpus → same file → same sha256 in the registry


def test_documents_are_separated_by_end_of_text(tokenizer):
    ids = tokenizer.encode_documents(["ab", "质"])
    assert tokenizer.eot_id == 0 and ids.count(0) == 2 and ids[0] == 0
    assert tokenizer.decode(ids) == "ab质"
    assert 0 not in tokenizer.encode(EOT) and tokenizer.decode(tokenizer.encode(EOT)) == EOT  # text stays text


def test_bad_files_and_sizes_fail_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="tokenizer.json"):
        BPETokenizer.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a tokenizers JSON"):
        BPETokenizer.load(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="vocab_size must be at least 258"):
        BPETokenizer.train(CORPUS, vocab_size=100)
