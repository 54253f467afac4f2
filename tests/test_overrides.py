"""`--set FIELD=VALUE`: values read as the config file would (numbers, YAML), nested into the mapping load_config
merges, and a malformed item refused in one line."""

from __future__ import annotations

import pytest

from components.errors import UserError
from components.families import parse_config
from components.overrides import nested, parse_overrides


def test_items_nest_into_the_mapping_the_config_merges():
    assert parse_overrides(["train.distributed.nproc_per_node=2", "train.lr=1e-4", "seed=3", "train.device=cpu"]) == {
        "train": {"distributed": {"nproc_per_node": 2}, "lr": 1e-4, "device": "cpu"},
        "seed": 3,
    }
    fid = {"promotion": {"thresholds": {"fid": {"max": 20}}}}
    assert parse_overrides(["promotion.thresholds.fid={max: 20}"]) == fid
    assert parse_overrides(["train.lr=1e-3", "train.lr=2e-3"]) == {"train": {"lr": 2e-3}}  # the last one wins
    assert parse_overrides([]) == {}


def test_the_merged_config_is_validated_like_the_file():
    cfg = parse_config({"family": "vae", "train": {"batch_size": 64}} | parse_overrides(["seed=7"]))
    assert cfg.seed == 7
    with pytest.raises(Exception, match="epoch"):
        parse_config({"family": "vae", **nested({"train.epoch": 2})})  # a misspelt field is refused, not ignored


@pytest.mark.parametrize("bad", ["train.lr", "=1", "train.lr=", "  =x"])
def test_a_malformed_item_says_the_form(bad):
    with pytest.raises(UserError, match=r"--set .*FIELD=VALUE"):
        parse_overrides([bad])


def test_a_field_cannot_be_both_a_value_and_a_section():
    with pytest.raises(UserError, match="cannot also"):
        nested({"train": 1, "train.lr": 2})
    with pytest.raises(UserError, match="cannot also"):
        nested({"train.lr": 2, "train": 1})
