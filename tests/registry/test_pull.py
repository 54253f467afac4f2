"""`genforge pull` writes only what it owns: the user's files survive every refused or forced pull."""

import json
import os

import pytest

from components.registry.pull import IntegrityError, PullTargetError, pull
from tests.registry.test_registry import NAME, add_version, store  # noqa: F401 — the store fixture


@pytest.fixture
def pulled_store(store):  # noqa: F811
    add_version(store, 40.0, "promote")
    return store[0]


def test_a_non_empty_folder_is_refused_and_its_files_survive(pulled_store, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    with pytest.raises(PullTargetError, match="already holds thesis.tex"):
        pull(pulled_store, f"{NAME}@champion", mine)
    with pytest.raises(PullTargetError, match="no manifest"):  # --force replaces only a previous pull's files
        pull(pulled_store, f"{NAME}@champion", mine, force=True)
    assert [p.name for p in mine.iterdir()] == ["thesis.tex"]
    assert (mine / "thesis.tex").read_text() == "years of work"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".mine.pull-")]  # no staging left behind


def test_force_replaces_only_the_files_of_the_previous_pull(pulled_store, tmp_path):
    out = tmp_path / "model"
    pull(pulled_store, f"{NAME}@champion", out)
    manifest = json.loads((out / "genforge.json").read_text())
    assert "model.onnx" in manifest["files"] and "genforge.json" in manifest["files"]
    (out / "notes.txt").write_text("mine")  # the user adds a file beside the pulled model
    (out / "model.onnx").write_bytes(b"stale")
    with pytest.raises(PullTargetError, match="--force"):
        pull(pulled_store, f"{NAME}@champion", out)
    pull(pulled_store, f"{NAME}@champion", out, force=True)
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "model.onnx").read_bytes() != b"stale"


@pytest.mark.parametrize("target", [".", "..", "/", "~"])
def test_cwd_parent_root_and_home_are_refused(pulled_store, tmp_path, target, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    (work / "keep.txt").write_text("x")
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(PullTargetError, match="will not write into"):
        pull(pulled_store, f"{NAME}@champion", target if target != "~" else os.path.expanduser("~"), force=True)
    assert (work / "keep.txt").read_text() == "x" and sorted(p.name for p in tmp_path.iterdir()) != []


def test_an_existing_file_is_refused(pulled_store, tmp_path):
    file = tmp_path / "model.bin"
    file.write_bytes(b"user data")
    with pytest.raises(PullTargetError, match="existing file"):
        pull(pulled_store, f"{NAME}@champion", file)
    assert file.read_bytes() == b"user data"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(("dl", "mlflow", "g.onnx"))) == [
        "model.bin"
    ]


def test_a_tampered_download_leaves_a_previous_pull_as_it_was(pulled_store, tmp_path):
    out = tmp_path / "model"
    pull(pulled_store, f"{NAME}@champion", out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    pulled_store.set_model_version_tag(NAME, "1", "genforge.onnx_sha256", "0" * 64)
    with pytest.raises(IntegrityError, match="sha256"):
        pull(pulled_store, f"{NAME}@champion", out, force=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".model.pull-")]


@pytest.mark.parametrize("name", ["../escape.onnx", "sub/x.onnx", "a\\b.onnx", ".."])
def test_file_names_with_paths_are_refused(pulled_store, tmp_path, name):
    pulled_store.set_model_version_tag(NAME, "1", "genforge.files", json.dumps({name: "0" * 64}))
    with pytest.raises(IntegrityError, match="plain file names"):
        pull(pulled_store, f"{NAME}@champion", tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "escape.onnx").exists()
