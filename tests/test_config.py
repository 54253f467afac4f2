from pathlib import Path

import pytest

from components.config import ConfigError
from components.errors import UserError
from components.families import load_config, parse_config
from components.families.detector.config import DetectorPipelineConfig

CONFIGS = sorted((Path(__file__).resolve().parent.parent / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_shipped_config_validates(path):
    cfg = load_config(path)
    # <family>-<dataset>, but the encoder's entity tagger is named for its task (issue 15: ner-peoplesdaily).
    expected = "ner-peoplesdaily" if cfg.dataset == "peoplesdaily-ner" else f"{cfg.family}-{cfg.dataset}"
    assert cfg.model_name == expected


def test_default_config_is_the_textbook_dcgan():
    cfg = load_config(CONFIGS[0].parent / "dcgan-fashion.yaml")
    assert (cfg.model.latent_dim, cfg.model.g_features, cfg.train.batch_size, cfg.train.lr) == (100, 64, 128, 2e-4)
    assert cfg.model_name == "dcgan-fashion-mnist"


def test_error_names_the_field_and_the_value():
    with pytest.raises(ConfigError) as info:
        parse_config({"train": {"lr": -1, "epochs": "many"}}, "my.yaml")
    text = str(info.value)
    assert "train.lr" in text and "-1" in text and "train.epochs" in text and "my.yaml" in text


def test_unknown_key_is_refused_as_a_typo():
    with pytest.raises(ConfigError, match=r"train\.lrr: unknown field"):
        parse_config({"train": {"lrr": 0.1}})


def test_threshold_without_bounds_is_refused():
    with pytest.raises(ConfigError, match="promotion.thresholds.fid"):
        parse_config({"promotion": {"thresholds": {"fid": {}}}})


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_hash_ignores_device_but_not_hyperparameters():
    base = parse_config({})
    assert parse_config({"train": {"device": "cpu", "num_threads": 1}}).config_hash == base.config_hash
    assert parse_config({"train": {"lr": 1e-3}}).config_hash != base.config_hash
    # Changing a promotion gate must not invalidate the trained model's cache.
    gates = parse_config({"promotion": {"thresholds": {"fid": {"max": 1}}}})
    assert gates.section_hash("model", "train") == base.section_hash("model", "train")


def test_family_selects_the_config_class_and_its_own_sections():
    detector = parse_config({"family": "detector", "train": {"epochs": 2}})
    assert isinstance(detector, DetectorPipelineConfig) and detector.model_name == "detector-fashion-mnist"
    assert "ap_cross" in detector.promotion.thresholds
    with pytest.raises(ConfigError, match=r"train\.samples_per_source: unknown field"):
        parse_config({"train": {"samples_per_source": 3}})  # a detector field in a dcgan config
    with pytest.raises(ConfigError, match="family 'gpt2' is unknown; choose one of dcgan, cgan, vae"):
        parse_config({"family": "gpt2"})
    with pytest.raises(ConfigError, match=r"dataset: Input should be 'emoji-google2twitter'"):
        parse_config({"family": "cyclegan", "dataset": "fashion-mnist"})  # a family refuses data it cannot use


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan"])
def test_non_finite_numbers_are_refused_with_the_field_named(tmp_path, value):
    path = tmp_path / "bad.yaml"
    path.write_text(f"train:\n  lr: {value}\n")
    with pytest.raises(ConfigError, match=r"train\.lr: Input should be a finite number") as info:
        load_config(path)
    assert isinstance(info.value, UserError) and str(path) in str(info.value)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"family": "gpt", "train": {"grad_clip": float("inf")}}, "train.grad_clip: Input should be a finite"),
        ({"evaluation": {"near_threshold": float("nan")}}, "evaluation.near_threshold: Input should be a finite"),
        ({"promotion": {"thresholds": {"fid": {"max": float("inf")}}}}, "promotion.thresholds.fid.max: Input should"),
        ({"family": "cyclegan", "train": {"decay_from": 1.5}}, "train.decay_from: Input should be less than or equal"),
        ({"family": "detector", "train": {"augment": {"blur": -0.1}}}, "train.augment.blur: Input should be greater"),
        ({"family": "gpt", "export": {"parity_atol": 0}}, "export.parity_atol: Input should be greater than 0"),
        ({"promotion": {"thresholds": {"onnx_parity": {"max": 1}}}}, "set export.parity_atol instead"),
        ({"family": "gpt", "export": {"parity_seq_lengths": [1, 0]}}, "export.parity_seq_lengths.1: Input should be"),
        ({"family": "gpt", "train": {"lr": 1e-4, "min_lr": 1e-3}}, "train: Value error, min_lr 0.001 is above lr"),
        ({"family": "gpt", "classifier": {"baseline_ngrams": [3, 1]}}, "classifier: Value error, baseline_ngrams"),
        ({"promotion": {"thresholds": {"fid": {"min": 2, "max": 1}}}}, "promotion.thresholds.fid: Value error, min 2"),
        ({"seed": -1}, "seed: Input should be greater than or equal to 0"),
    ],
)
def test_numbers_out_of_range_are_refused_with_the_field_named(raw, field):
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    assert field in str(info.value)
