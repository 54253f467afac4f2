"""The ORL faces: every file checked against the pinned list, split by person (never by photo), deterministic bytes,
and one clear line for a missing folder or a changed photo."""

import json
import shutil

import numpy as np
import pytest

from components.data import orl
from components.data.fashion_mnist import SourceError
from components.data.shards import dataset_md5, load_split
from tests.conftest import orl_source


def test_split_by_person_32_train_8_held_out(orl_dataset):
    meta = json.loads((orl_dataset / "meta.json").read_text())
    train_x, train_y = load_split(orl_dataset, "train")
    test_x, test_y = load_split(orl_dataset, "test")
    assert train_x.shape == (320, 64, 64) and test_x.shape == (80, 64, 64) and train_x.dtype == np.uint8
    assert sorted(set(train_y.tolist())) == meta["train_people"] and sorted(set(test_y.tolist())) == meta["test_people"]
    assert len(meta["train_people"]) == 32 and not set(meta["train_people"]) & set(meta["test_people"])
    assert meta["test_people"] == orl.held_out_people(8) == [3, 7, 9, 14, 18, 21, 26, 31]  # fixed by the hash
    assert (np.bincount(train_y)[meta["train_people"]] == 10).all()  # ordered person, then photo
    assert (train_y[:10] == train_y[0]).all() and train_y[10] != train_y[0]
    assert "AT&T Laboratories Cambridge" in meta["credit"]


def test_the_crop_keeps_the_face_and_the_bytes_are_deterministic(orl_dataset, tmp_path):
    raw = orl.face(orl_source() / "s1" / "1.pgm", 92)  # no resize: exactly the crop
    from PIL import Image

    full = np.asarray(Image.open(orl_source() / "s1" / "1.pgm"))
    assert (raw == full[orl.CROP_TOP : orl.CROP_TOP + 92]).all()
    again = orl.build(tmp_path, orl.OrlDataConfig(source_dir=str(orl_source())))
    assert dataset_md5(again) == dataset_md5(orl_dataset)


def test_a_changed_photo_is_refused_naming_it(tmp_path):
    copy = tmp_path / "orl"
    shutil.copytree(orl_source(), copy)
    data = bytearray((copy / "s5" / "3.pgm").read_bytes())
    data[-1] ^= 1  # one pixel off by one
    (copy / "s5" / "3.pgm").write_bytes(bytes(data))
    with pytest.raises(SourceError, match=r"s5/3\.pgm does not match its published sha256"):
        orl.build(tmp_path / "project", orl.OrlDataConfig(source_dir=str(copy)))
    (copy / "s5" / "3.pgm").unlink()
    with pytest.raises(SourceError, match=r"s5/3\.pgm is missing"):
        orl.build(tmp_path / "project", orl.OrlDataConfig(source_dir=str(copy)))
    assert not (tmp_path / "project" / "data" / "orl-faces").exists()  # nothing half-written


def test_where_the_faces_are_looked_for(tmp_path, monkeypatch):
    monkeypatch.delenv(orl.ENV_VAR, raising=False)
    with pytest.raises(SourceError, match="holds no s1/ folder") as error:
        orl.locate(str(tmp_path / "nowhere"), tmp_path)
    assert orl.ENV_VAR in str(error.value) and "data.source_dir" in str(error.value)
    monkeypatch.setenv(orl.ENV_VAR, str(orl_source()))
    assert orl.locate(None, tmp_path) == orl_source()
    monkeypatch.delenv(orl.ENV_VAR)
    with pytest.raises(SourceError, match="are not in"):
        orl.locate(None, tmp_path / "project")  # no ../shared beside it
