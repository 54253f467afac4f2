"""The ORL / AT&T Database of Faces: find the 400 PGM photos, verify every file, materialise 64×64 faces split by
person.

Source: a folder `s1/1.pgm … s40/10.pgm` (40 people × 10 grey photos, 92×112), found in this order: `data.source_dir`,
$GENFORGE_ORL_DIR, then `<project>/../shared/data/orl-faces`. No package registry carries it; every file's sha256 is
checked against `orl_faces.sha256` beside this module (itself pinned by its own sha256 below), so a changed or
missing photo stops the build with one line naming it.

Materialised: a centred 92×92 crop (the top 10 rows dropped: the faces sit low in the frame, the bottom rows are
chin and neck) resized to 64×64 with PIL's bicubic filter. Split **by identity**: the 8 people whose
sha256("orl-faces/s<id>") are smallest are held out (`test`, never seen by the generator), the other 32 train.
Labels are person ids; images are ordered by person, then photo number (photo k of a person is row 10·i + k − 1 of
its split), which the identity network relies on to fit on some photos of each person and calibrate on the rest.

Credit, as the database asks: AT&T Laboratories Cambridge. Research use; keep models trained on it internal.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
from PIL import Image
from pydantic import Field

from components.config import DataConfig, Section
from components.data import shards
from components.data.fashion_mnist import SourceError

DATASET = "orl-faces"
ENV_VAR = "GENFORGE_ORL_DIR"
PEOPLE = 40
PHOTOS = 10
RAW_SHAPE = (112, 92)  # height, width
CROP_TOP = 10  # rows dropped above the 92×92 crop
CHECKSUMS = Path(__file__).with_name("orl_faces.sha256")
CHECKSUMS_SHA256 = "7dbbd2ba1d2e2b6303e0776d093e037ea726e8b27d88056716fdb23dbb210d51"
CREDIT = "AT&T Laboratories Cambridge (ORL Database of Faces; Samaria & Harter 1994)"
LICENCE = "research use, credit AT&T Laboratories Cambridge; no formal licence: keep trained models internal"


class OrlDataConfig(Section):
    source_dir: str | None = None
    """Folder holding s1/ … s40/; else $GENFORGE_ORL_DIR, else ../shared/data/orl-faces beside the project."""
    shard_size: int = Field(1000, gt=0)
    image_size: int = Field(64, ge=16, le=92)
    """Side of the materialised faces (a centred 92×92 crop, bicubic)."""
    held_out_people: int = Field(8, ge=1, le=20)
    """People never shown to the generator: the quality reference and the identity network's unseen people."""


def how_to_get(root: Path) -> str:
    return (
        "Get the ORL faces (s1/1.pgm … s40/10.pgm) one of these ways:\n"
        f"  - put the folder at {Path(root).resolve().parent / 'shared' / 'data' / 'orl-faces'}\n"
        f"  - export {ENV_VAR}=/path/to/orl-faces\n"
        "  - set data.source_dir in the config YAML"
    )


def locate(source_dir: str | None, root: Path) -> Path:
    """The first of: the config's folder, $GENFORGE_ORL_DIR, ../shared/data/orl-faces. An explicit folder that is
    missing is an error (not a reason to look elsewhere)."""
    env = os.environ.get(ENV_VAR)
    for folder, origin in ((source_dir, "data.source_dir"), (env, f"${ENV_VAR}")):
        if folder:
            if not (Path(folder) / "s1").is_dir():
                raise SourceError(f"{origin}={folder} holds no s1/ folder of ORL faces.\n{how_to_get(root)}")
            return Path(folder)
    shared = Path(root).resolve().parent / "shared" / "data" / "orl-faces"
    if (shared / "s1").is_dir():
        return shared
    raise SourceError(f"the ORL faces are not in {shared}.\n{how_to_get(root)}")


def pinned_checksums() -> dict[str, str]:
    """relative path (s1/1.pgm) → sha256, from the list shipped with the code (whose own sha256 is checked first)."""
    data = CHECKSUMS.read_bytes()
    if hashlib.sha256(data).hexdigest() != CHECKSUMS_SHA256:
        raise SourceError(f"{CHECKSUMS} does not match its pinned sha256: reinstall GenForge")
    pairs = (line.split() for line in data.decode().splitlines() if line.strip())
    return {name: digest for digest, name in pairs}


def verify(folder: Path) -> dict[str, str]:
    """Check every photo against the pinned list; the first missing or changed file stops the build."""
    pinned = pinned_checksums()
    for name, digest in sorted(pinned.items()):
        path = folder / name
        if not path.is_file():
            raise SourceError(f"{path} is missing: the ORL folder must hold all {len(pinned)} photos")
        if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            raise SourceError(f"{path} does not match its published sha256: the copy is corrupt, fetch it again")
    return pinned


def face(path: Path, size: int) -> np.ndarray:
    """One PGM → uint8 (size, size): the centred 92×92 crop, bicubic resize."""
    with Image.open(path) as picture:
        grey = picture.convert("L")
        if grey.size != RAW_SHAPE[::-1]:
            raise SourceError(f"{path}: expected 92×112 pixels, got {grey.size[0]}×{grey.size[1]}")
        width = RAW_SHAPE[1]
        crop = grey.crop((0, CROP_TOP, width, CROP_TOP + width))
        return np.asarray(crop.resize((size, size), Image.Resampling.BICUBIC), dtype=np.uint8)


def held_out_people(count: int) -> list[int]:
    """The `count` person ids with the smallest sha256("orl-faces/s<id>"): fixed across machines and runs."""
    rank = sorted(range(1, PEOPLE + 1), key=lambda i: hashlib.sha256(f"orl-faces/s{i}".encode()).hexdigest())
    return sorted(rank[:count])


def build(root: Path, cfg: OrlDataConfig | DataConfig) -> Path:
    """Locate + verify the photos, then write data/orl-faces/ (train: 32 people, test: 8 people) atomically.

    A config of another family that reads the faces (the detector's plain `data` section) gives its source folder
    only; the rest are the defaults, so both build the same bytes."""
    if not isinstance(cfg, OrlDataConfig):
        cfg = OrlDataConfig(source_dir=cfg.source_dir)
    folder = locate(cfg.source_dir, root)
    pinned = verify(folder)
    test_people = held_out_people(cfg.held_out_people)
    train_people = [p for p in range(1, PEOPLE + 1) if p not in test_people]
    splits = {}
    for split, people in (("train", train_people), ("test", test_people)):
        images = [face(folder / f"s{p}" / f"{k}.pgm", cfg.image_size) for p in people for k in range(1, PHOTOS + 1)]
        labels = np.repeat(np.array(people, dtype=np.int32), PHOTOS)
        splits[split] = (np.stack(images), labels)
    meta = {
        "dataset": DATASET,
        "credit": CREDIT,
        "licence": LICENCE,
        "source": "the ORL folder s1/ … s40/ (every file checked against orl_faces.sha256)",
        "files_sha256": hashlib.sha256("".join(f"{d}  {n}\n" for n, d in sorted(pinned.items())).encode()).hexdigest(),
        "image_shape": [cfg.image_size, cfg.image_size],
        "dtype": "uint8",
        "preprocess": f"rows {CROP_TOP}–{CROP_TOP + 92} of 112 (92×92), PIL bicubic to {cfg.image_size}",
        "split": f"by person: the {cfg.held_out_people} ids with the smallest sha256('orl-faces/s<id>') → test",
        "train_people": train_people,
        "test_people": test_people,
        "photos_per_person": PHOTOS,
        "order": "person, then photo number",
    }
    return shards.write_dataset(Path(root) / "data" / DATASET, splits, cfg.shard_size, meta)
