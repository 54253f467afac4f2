"""Registry side effects on a temporary SQLite store: versions, aliases, audit trail, verified pulls."""

import pytest

import mlflow
from components import tracking
from components.refs import Decision
from components.registry import registry
from components.registry.pull import IntegrityError, pull
from components.workspace import Workspace

NAME = "dcgan-test"


@pytest.fixture
def store(logged_model):
    root, client, uri, run_id = logged_model
    audit = tracking.experiment_id(client, Workspace(root), tracking.AUDIT_EXPERIMENT)
    return client, audit, uri, tracking_sha(uri, root), run_id


def tracking_sha(model_uri, tmp_path):
    from components.checksums import sha256_file

    local = mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(tmp_path / "dl"))
    return sha256_file(f"{local}/model.onnx")


def add_version(store, fid, action):
    client, audit, uri, sha, run_id = store
    version = registry.register(client, NAME, uri, run_id, {"genforge.onnx_sha256": sha}, {"fid": fid})
    registry.apply_decision(client, audit, NAME, version.version, Decision(action, (f"test {action}",)))
    return str(version.version)


def test_aliases_move_only_on_promotion_and_every_move_is_audited(store):
    client, audit, *_ = store
    assert registry.champion(client, NAME) is None
    v1 = add_version(store, 40.0, "promote")
    v2 = add_version(store, 55.0, "keep")  # worse: registered, challenger, not champion
    assert registry.champion(client, NAME).number == v1
    assert str(client.get_model_version_by_alias(NAME, "challenger").version) == v2
    v3 = add_version(store, 30.0, "promote")
    assert registry.champion(client, NAME).number == v3
    assert str(client.get_model_version_by_alias(NAME, "previous").version) == v1
    assert registry.champion(client, NAME).metrics == {"fid": 30.0}
    assert client.get_model_version(NAME, v2).tags["genforge.decision"] == "keep"

    moves = [(h["alias"], h["from_version"], h["to_version"]) for h in registry.history(client, audit, NAME)]
    assert moves == [
        ("challenger", "", "1"),
        ("champion", "", "1"),
        ("challenger", "1", "2"),
        ("previous", "", "1"),
        ("challenger", "2", "3"),
        ("champion", "1", "3"),
    ]
    assert all(h["who"] and h["why"] for h in registry.history(client, audit, NAME))


def test_pull_verifies_sha256_and_leaves_nothing_on_tampering(store, tmp_path):
    client, *_ = store
    add_version(store, 40.0, "promote")
    path, resolved = pull(client, f"{NAME}@champion", tmp_path / "pulled")
    assert path.is_file() and (tmp_path / "pulled" / "genforge.json").is_file() and resolved.number == "1"

    client.set_model_version_tag(NAME, "1", "genforge.onnx_sha256", "0" * 64)  # the store no longer matches
    with pytest.raises(IntegrityError, match="sha256"):
        pull(client, f"{NAME}@champion", tmp_path / "second")
    assert not (tmp_path / "second").exists() and not (tmp_path / "second.partial").exists()


def test_unknown_reference_lists_what_exists(store):
    client, *_ = store
    add_version(store, 40.0, "promote")
    with pytest.raises(registry.RegistryError, match="registered models: dcgan-test"):
        registry.resolve(client, "nope@champion")
    with pytest.raises(registry.RegistryError):
        registry.resolve(client, f"{NAME}@no-such-alias")


def test_pyfunc_predicts_images_from_latents(store):
    client, *_ = store
    add_version(store, 40.0, "promote")
    import numpy as np

    model = mlflow.pyfunc.load_model(f"models:/{NAME}@champion")
    out = model.predict(np.zeros((3, 6), np.float32))
    images = out["images"] if isinstance(out, dict) else out
    assert np.asarray(images).shape == (3, 1, 28, 28)
