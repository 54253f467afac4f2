"""Model families: the registry of what the pipeline can train, and the configs that choose among them.

Each family is a folder here — config.py (its pipeline config), family.py (its components.families.base.Family
subclass), its own modules — and one line in FAMILIES below. Nothing else names a family: the flow, the CLI and
the report read the contract (base.Family), never a family's name.
"""

from __future__ import annotations

from pathlib import Path

from components.config import ConfigError, PipelineConfig, merge, read_yaml, validate
from components.families.base import Family
from components.families.cgan.family import CGAN
from components.families.cyclegan.family import CycleGAN
from components.families.dcgan.family import DCGAN
from components.families.detector.family import Detector
from components.families.encoder.family import EncoderFamily
from components.families.facegan.family import FaceGAN
from components.families.gpt.family import GPT
from components.families.vae.family import VAE
from components.families.vae_audio.family import AudioVAE
from components.families.vae_text.family import TextVAE

FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        DCGAN(),
        CGAN(),
        VAE(),
        CycleGAN(),
        Detector(),
        GPT(),
        FaceGAN(),
        AudioVAE(),
        TextVAE(),
        EncoderFamily(),
    )
}
"""name → family; adding a family adds one entry here."""
DEFAULT_FAMILY = "dcgan"
"""A config without a `family:` line."""


def get(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise ConfigError(f"family {name!r} is unknown; choose one of {', '.join(FAMILIES)}") from None


def of(cfg: PipelineConfig) -> Family:
    """The family a validated config belongs to."""
    return FAMILIES[cfg.family]


def parse_config(raw: dict, source: str = "<config>") -> PipelineConfig:
    """Validate a config of any family (chosen by its `family` field, default dcgan)."""
    name = raw.get("family", DEFAULT_FAMILY)
    if name not in FAMILIES:
        raise ConfigError(f"{source}: family {name!r} is unknown; choose one of {', '.join(FAMILIES)}")
    return validate(FAMILIES[name].config_class, raw, source)


def load_config(path: str | Path, overrides: dict | None = None) -> PipelineConfig:
    """Read a YAML config; `overrides` is a nested dict merged on top (tests, the CLI)."""
    return parse_config(merge(read_yaml(path), overrides or {}), str(path))
