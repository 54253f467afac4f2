"""Config fields set on the command line: `--set train.lr=1e-4` (run) or `--set train.lr=1e-4,2e-4` (sweep).

    parse_overrides(["train.epochs=2", "train.distributed.nproc_per_node=2"])
    → {"train": {"epochs": 2, "distributed": {"nproc_per_node": 2}}}   (the mapping load_config merges)

Values read as numbers when they are (1e-4 included, which YAML 1.1 leaves a string), else as YAML (true, null,
words, [1, 2]). The config's own validation then checks every field, as for a value written in the file.
"""

from __future__ import annotations

import yaml

from components.errors import UserError


def split(item: str, example: str = "train.lr=1e-4") -> tuple[str, str]:
    """ "train.lr=1e-4" → ("train.lr", "1e-4"); anything else is a UserError showing the form."""
    key, sep, text = item.partition("=")
    if not sep or not key.strip() or not text.strip():
        raise UserError(f"--set {item!r}: write FIELD=VALUE, e.g. --set {example}")
    return key.strip(), text.strip()


def value(text: str) -> object:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return yaml.safe_load(text)


def nested(flat: dict[str, object]) -> dict:
    """{"train.lr": 1e-4} → {"train": {"lr": 1e-4}}."""
    out: dict = {}
    for key, val in flat.items():
        *parents, leaf = key.split(".")
        node = out
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise UserError(f"--set {key}: {part} was set to a value above, it cannot also have fields")
            node = child
        if isinstance(node.get(leaf), dict):
            raise UserError(f"--set {key}: its fields were set above, it cannot also be a value")
        node[leaf] = val
    return out


def parse_overrides(sets: list[str]) -> dict:
    """`genforge run --set` items → the nested override mapping (one value per field; the last one wins)."""
    return nested({key: value(text) for key, text in map(split, sets)})
