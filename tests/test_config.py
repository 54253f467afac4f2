from pathlib import Path

import pytest

from components.config import ConfigError, DetectorPipelineConfig, load_config, parse_config

CONFIGS = sorted((Path(__file__).resolve().parent.parent / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_shipped_config_validates(path):
    cfg = load_config(path)
    assert cfg.model_name == f"{cfg.family}-{cfg.dataset}"


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
