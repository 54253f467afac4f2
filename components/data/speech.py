"""Asterisk telephone prompts in five languages: find the WAVs, check them, materialise 2.032 s clips labelled by
language.

Source: the Debian packages asterisk-core-sounds-{en,fr,es,it,ru}-wav 1.6.1-1 (upstream asterisk-core-sounds 1.6.1),
one recorded voice each, 8 kHz mono 16-bit PCM: `usr/share/asterisk/sounds/<voice>/…/*.wav` in the package, e.g.
en_US_f_Allison/digits/1.wav. Found in this order: `data.source_dir`, $GENFORGE_SPEECH_DIR (a folder holding one
folder per language, named by the language code — en/ — or by the package's voice folder — en_US_f_Allison/, as in
an installed /usr/share/asterisk/sounds), else `<root>/.genforge/raw/asterisk-speech/<lang>/`, fetched there with
`apt-get download` (or a .deb copied there by hand), checked against its sha256 and extracted without installing it.
With `data.verify_checksums` (the default) every language folder must hold exactly the pinned package's WAVs (one
digest over all their sha256s); turn it off for recordings of your own in the same layout.

Materialised: every WAV at most MAX_SECONDS long, as int16 (N, CLIP_SAMPLES) zero-padded at the end (the length the
spectrogram code of components/audio.py needs: 127 hops of 128 samples); longer prompts are dropped and counted per
language in meta.json; an empty WAV (ru/is.wav in the package) is kept as a silent row and listed under
empty_clips. Labels are the language's index in `data.languages`; rows are ordered by language, then path.
A clip is held out (`test`) when the first 32 bits of sha256("<lang>/<path>") fall below `held_out_share`: a clip's
side never moves when other clips come or go. meta.json lists every row's "<lang>/<path>", so the evaluation can name
the training clip nearest to a generated one.

Licences, from the packages' debian/copyright (the same file in all five): en and es (Allison Smith) and fr (June
Wallack) CC-BY-SA-3.0, it (Carlo Flora) and ru (Maxim Topal) CC-BY-3.0. Credit the speakers; what is derived from the
en/es/fr recordings is shared alike.
"""

from __future__ import annotations

import hashlib
import os
import re
import wave
from pathlib import Path

import numpy as np
from pydantic import Field, field_validator

from components.audio import CLIP_SAMPLES, SAMPLE_RATE
from components.config import DataConfig, Section
from components.data import shards
from components.data.fashion_mnist import SourceError  # one error type for every source (the flow never retries it)
from components.data.packages import Package, fetch_package, is_extracted

DATASET = "asterisk-speech"
ENV_VAR = "GENFORGE_SPEECH_DIR"
MAX_SECONDS = 2.0
MAX_SAMPLES = int(MAX_SECONDS * SAMPLE_RATE)  # 16000: longer clips are dropped, shorter ones padded to CLIP_SAMPLES
SAMPLE_WIDTH = 2  # bytes: 16-bit PCM
VERSION = "1.6.1-1"
VOICES = {  # language → the package's folder under usr/share/asterisk/sounds/
    "en": "en_US_f_Allison",
    "fr": "fr_CA_f_June",
    "es": "es_MX_f_Allison",
    "it": "it_IT_m_Carlo",
    "ru": "ru_RU_f_IvrvoiceRU",
}
# sha256 of the .debs as deb.debian.org serves them (`apt-get download …=1.6.1-1`, bookworm, measured 2025-12-07;
# the same values as the SHA256 fields of `apt-cache show`).
DEB_SHA256 = {
    "en": "2be3ea287d83299d143815fa804f11179a75b7affd4a758b98b55f5afc18a35d",
    "fr": "8d4e1bc32ed5ba7fbda40841ca1825ed20cc6232724a473c90f8bb0e53e6073e",
    "es": "9283a09a6d56fccdcc2bcfe86c48f0f844289cfbd46a3184d8785a6f7f569903",
    "it": "5a26638089e134b8ac39363fe249c5c93c50cd8bfdc9b2499ae61ec4a35e2fcb",
    "ru": "ccbfaebfa450b7a9ddf644ae0f3d1e9017d5df7c0aebe816e946345589d38201",
}
# files_sha256 of each package's WAVs (see folder_digest): what verify_checksums holds a language folder to.
FILES_SHA256 = {
    "en": "c5aaa003fc071d5f6d4ea9de116ca77a950fafeb7c6d4d03874f91ed4116662a",
    "fr": "c49c1fb0089813eb91e24e543845b18090bf7838b683a04473814732f9c96ebb",
    "es": "8ed65f6ab39159efe21f13e403fe52d15ce3bc1230611625a3f85fdcd37934a1",
    "it": "a20562f67dff66ffc1c659820c8e43f95d49bceeed0cd5b1e5460d03f182953b",
    "ru": "53f66bd7a1de75391bc761203c4955c68e7f20128eb426215552fce4e836a7b0",
}
# From debian/copyright (identical in the five packages): the "License:" short names and "Copyright:" lines verbatim,
# the credit from the CREDITS comments. es falls under "Files: *" (Allison Smith), like en.
LICENCES = {"en": "CC-BY-SA-3.0", "fr": "CC-BY-SA-3.0", "es": "CC-BY-SA-3.0", "it": "CC-BY-3.0", "ru": "CC-BY-3.0"}
COPYRIGHT = {
    "en": "2003-2010, Allison Smith",
    "fr": "2006-2008, June Wallack",
    "es": "2003-2010, Allison Smith",
    "it": "2012 Carlo Flora, <http://www.segreterietelefoniche.it>",
    "ru": "2010, Maxim",
}
CREDITS = {
    "en": "Recorded by Allison Smith (http://www.theivrvoice.com); financial contributions by Digium, Inc.",
    "fr": (
        "Recorded by June Wallack (http://www.junewallack.com); translated into French by Clod Patry, Kristopher "
        "Lalletti and June Wallack; financial contributions by Digium, Inc., Unlimitel and BGM Informatique"
    ),
    "es": "Recorded by Allison Smith (http://www.theivrvoice.com); financial contributions by Digium, Inc.",
    "it": "Recorded by Carlo Flora (http://www.carloflora.com); translated by Silvia Petrin",
    "ru": "Provided by Maxim Topal (http://www.ivrvoice.ru)",
}
LICENCE = (
    "per language, from debian/copyright of asterisk-core-sounds 1.6.1-1: en, es, fr CC-BY-SA-3.0; it, ru CC-BY-3.0. "
    "Attribution required for all; works derived from the en/es/fr recordings are shared alike (CC-BY-SA-3.0)"
)
CREDIT = (
    "Asterisk core sound prompts (asterisk-core-sounds 1.6.1, Digium, Inc.): English and Spanish by Allison Smith, "
    "French by June Wallack, Italian by Carlo Flora, Russian by Maxim Topal (ivrvoice.ru)"
)
PACKAGES = {
    lang: Package(
        key=DATASET,
        name=f"asterisk-core-sounds-{lang}-wav",
        version=VERSION,
        registry="debian",
        sha256=DEB_SHA256[lang],
        archive=f"asterisk-core-sounds-{lang}-wav_{VERSION}_all.deb",
        members=(rf"usr/share/asterisk/sounds/{voice}/(?:[^/]+/)*[^/]+\.wav",),
        env_var=ENV_VAR,
        licence=f"{LICENCES[lang]} ({COPYRIGHT[lang]})",
        strip=f"usr/share/asterisk/sounds/{voice}/",
    )
    for lang, voice in VOICES.items()
}


class SpeechDataConfig(Section):
    source_dir: str | None = None
    """Folder holding one folder of WAVs per language (en/ … or the packages' en_US_f_Allison/ …); else
    $GENFORGE_SPEECH_DIR, else the Debian packages fetched into .genforge/raw/asterisk-speech/."""
    languages: tuple[str, ...] = ("en", "fr", "es", "it", "ru")
    """Language folders read, in label order (label = index here)."""
    held_out_share: float = Field(0.1, gt=0, lt=1)
    """Share of clips held out (test), chosen by a hash of "<lang>/<path>"."""
    verify_checksums: bool = True
    """Hold each language folder to the pinned package's WAVs (turn off for recordings of your own)."""
    shard_size: int = Field(10_000, gt=0)
    """Clips per materialised .npy shard."""

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("name at least one language")
        if len(set(value)) != len(value):
            raise ValueError(f"languages repeat: {list(value)}")
        for lang in value:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", lang):
                raise ValueError(f"{lang!r} is not a folder name")
        return value


def raw_dir(root: Path) -> Path:
    return Path(root) / ".genforge" / "raw" / DATASET


def how_to_get(cache: Path, languages: tuple[str, ...] = tuple(VOICES)) -> str:
    names = " ".join(f"{PACKAGES[lang].name}={VERSION}" for lang in languages if lang in PACKAGES)
    return (
        "Get the Asterisk prompts one of these ways:\n"
        f"  - cd {cache} && apt-get download {names}\n"
        "    (on a Debian or Ubuntu machine whose apt sources carry them; or copy the .deb files there by hand, then\n"
        "    build again: GenForge checks their sha256 and extracts the WAVs without installing anything)\n"
        f"  - export {ENV_VAR}=/path/to/folder   (one folder of WAVs per language: en/ … or en_US_f_Allison/ …,\n"
        "    e.g. /usr/share/asterisk/sounds where the packages are installed)\n"
        "  - set data.source_dir in the config YAML"
    )


def language_folder(folder: Path, lang: str) -> Path | None:
    """<folder>/<lang>, else the package's voice folder <folder>/en_US_f_Allison (an installed sounds folder)."""
    for name in (lang, VOICES.get(lang)):
        if name and (Path(folder) / name).is_dir():
            return Path(folder) / name
    return None


def locate(source_dir: str | None, root: Path, languages: tuple[str, ...], fetch: bool = True) -> dict[str, Path]:
    """language → its folder of WAVs. An explicit folder (config, then environment) is used alone, since a wrong
    explicit path is a mistake to report; otherwise the packages extracted earlier into .genforge/raw/asterisk-speech/,
    else fetched there (`apt-get download`, or a .deb copied there by hand)."""
    cache = raw_dir(root)
    env = os.environ.get(ENV_VAR)
    for folder, origin in ((source_dir, "data.source_dir"), (env, f"${ENV_VAR}")):
        if folder:
            found = {lang: language_folder(Path(folder), lang) for lang in languages}
            missing = [lang for lang, path in found.items() if path is None]
            if missing:
                raise SourceError(
                    f"{origin}={folder} holds no folder for {', '.join(missing)}.\n{how_to_get(cache, languages)}"
                )
            return found
    unknown = [lang for lang in languages if lang not in PACKAGES]
    if unknown:
        raise SourceError(
            f"no Debian package of Asterisk prompts for {', '.join(unknown)} (known: {', '.join(PACKAGES)}): put the "
            f"recordings in a folder per language and set data.source_dir or ${ENV_VAR}"
        )
    folders = {}
    for lang in languages:
        package, target = PACKAGES[lang], cache / lang
        if not is_extracted(package, target):
            if not fetch and not (cache / package.archive).is_file():
                raise SourceError(f"{package.name} is not in {cache}.\n{how_to_get(cache, languages)}")
            fetch_package(package, target, how_to_get(cache, languages))
        folders[lang] = target
    return folders


def wav_files(folder: Path) -> list[str]:
    """The folder's .wav files as sorted relative POSIX paths (digits/1.wav)."""
    return sorted(p.relative_to(folder).as_posix() for p in Path(folder).rglob("*.wav") if p.is_file())


def folder_digest(folder: Path, names: list[str]) -> str:
    """sha256 over "<sha256>  <path>" lines of the WAVs, sorted by path: one value for a whole language folder."""
    lines = (f"{hashlib.sha256((folder / n).read_bytes()).hexdigest()}  {n}\n" for n in names)
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def read_wav(path: Path) -> np.ndarray:
    """One 8 kHz mono 16-bit PCM WAV → int16 (samples,); anything else stops the build with the file named."""
    try:
        with wave.open(str(path), "rb") as w:
            rate, channels, width, frames = w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()
            problems = [
                f"{rate} Hz, not {SAMPLE_RATE}" if rate != SAMPLE_RATE else "",
                f"{channels} channels, not 1" if channels != 1 else "",
                f"{8 * width}-bit, not 16-bit" if width != SAMPLE_WIDTH else "",
            ]
            if any(problems):
                raise SourceError(f"{path}: {', '.join(p for p in problems if p)}: expected 8 kHz mono 16-bit PCM")
            data = w.readframes(frames)
    except (wave.Error, EOFError, OSError) as exc:
        raise SourceError(f"{path}: not a readable PCM WAV file ({exc}): expected 8 kHz mono 16-bit PCM") from None
    if len(data) != frames * SAMPLE_WIDTH:
        raise SourceError(f"{path}: truncated: the header says {frames} samples, the file holds {len(data) // 2}")
    return np.frombuffer(data, dtype="<i2").astype(np.int16)


def is_held_out(name: str, share: float) -> bool:
    """name = "<lang>/<path>": held out iff the first 32 bits of its sha256 fall below share."""
    return int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) / 2**32 < share


def build(root: Path, cfg: SpeechDataConfig | DataConfig) -> Path:
    """Locate (or fetch) and read every WAV, drop the ones over MAX_SECONDS, pad the rest, split by name, write
    data/asterisk-speech/ atomically. A plain `data` section gives its source folder, checksum switch and shard size;
    the rest are the defaults."""
    if not isinstance(cfg, SpeechDataConfig):
        cfg = SpeechDataConfig(
            source_dir=cfg.source_dir, verify_checksums=cfg.verify_checksums, shard_size=cfg.shard_size
        )
    folders = locate(cfg.source_dir, root, cfg.languages)
    rows: dict[str, list[tuple[str, np.ndarray, int]]] = {"train": [], "test": []}
    too_long, empty, digests = {}, [], {}
    for label, lang in enumerate(cfg.languages):
        folder = folders[lang]
        names = wav_files(folder)
        if not names:
            raise SourceError(f"{folder} holds no .wav files (language {lang})")
        digests[lang] = folder_digest(folder, names)
        if cfg.verify_checksums and digests[lang] != FILES_SHA256.get(lang):
            pinned = f"{PACKAGES[lang].name} {VERSION}" if lang in PACKAGES else f"a pinned package (none for {lang})"
            raise SourceError(
                f"{folder}: its {len(names)} WAVs are not exactly those of {pinned} (a file changed, added or "
                "missing): fetch them again, or set data.verify_checksums: false for recordings of your own"
            )
        too_long[lang] = 0
        for name in names:
            samples = read_wav(folder / name)
            if len(samples) > MAX_SAMPLES:
                too_long[lang] += 1
                continue
            if len(samples) == 0:
                empty.append(f"{lang}/{name}")
            clip = np.zeros(CLIP_SAMPLES, dtype=np.int16)
            clip[: len(samples)] = samples
            key = f"{lang}/{name}"
            rows["test" if is_held_out(key, cfg.held_out_share) else "train"].append((key, clip, label))
    for split, other in (("train", "test"), ("test", "train")):
        if not rows[split]:
            raise SourceError(
                f"no {split} clips: held_out_share {cfg.held_out_share} puts all {len(rows[other])} clips in {other}"
            )
    splits = {
        split: (
            np.stack([clip for _, clip, _ in items]).astype(np.int16),
            np.array([label for _, _, label in items], dtype=np.int64),
        )
        for split, items in rows.items()
    }
    meta = {
        "dataset": DATASET,
        "sample_rate": SAMPLE_RATE,
        "clip_samples": CLIP_SAMPLES,
        "max_seconds": MAX_SECONDS,
        "dtype": "int16",
        "languages": list(cfg.languages),
        "labels": "index into languages",
        "preprocess": (
            f"8 kHz mono 16-bit PCM as is; clips over {MAX_SAMPLES} samples dropped, the rest zero-padded at the end "
            f"to {CLIP_SAMPLES}"
        ),
        "order": "language (in `languages` order), then relative path",
        "split": f"int(sha256('<lang>/<path>').hexdigest()[:8], 16) / 2**32 < {cfg.held_out_share} → test",
        "held_out_share": cfg.held_out_share,
        "files": {split: [key for key, _, _ in items] for split, items in rows.items()},
        "dropped_too_long": too_long,
        "empty_clips": empty,
        "files_sha256": digests,
        "packages": [
            {
                "language": lang,
                "name": PACKAGES[lang].name,
                "version": VERSION,
                "registry": "debian",
                "sha256": DEB_SHA256[lang],
                "voice": VOICES[lang],
                "licence": LICENCES[lang],
                "copyright": COPYRIGHT[lang],
                "credit": CREDITS[lang],
                "files_match": digests[lang] == FILES_SHA256[lang],
            }
            for lang in cfg.languages
            if lang in PACKAGES
        ],
        "licence": LICENCE,
        "credit": CREDIT,
    }
    return shards.write_dataset(Path(root) / "data" / DATASET, splits, cfg.shard_size, meta)
