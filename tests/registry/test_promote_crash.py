"""Promotion under crashes and races, with real processes on a real MLflow store: a process killed anywhere
inside promote leaves a state the next run completes, and two promotions at once are serialised."""

import os
import subprocess
import sys
import time

import pytest

from components import tracking
from components.registry import registry
from components.workspace import Workspace
from tests.conftest import REPO

NAME = "crash-test"


@pytest.fixture
def store(logged_model):
    return logged_model


def start(store, run_key, fid, kill_at=None, pause_at=None):
    root, _, uri, run_id = store
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "GENFORGE_KILL_AT")}
    env |= {"GENFORGE_KILL_AT": kill_at} if kill_at else {}
    env |= {"GENFORGE_PAUSE_AT": pause_at} if pause_at else {}
    argv = [sys.executable, "-m", "tests.registry.promote_worker", str(root), NAME, run_key, str(fid), uri, run_id]
    return subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process):
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def check_invariants(client, audit_id):
    """One champion; previous never the champion; every audit 'from' is what the alias really held."""
    champion = registry.champion(client, NAME)
    aliases = client.get_registered_model(NAME).aliases
    assert "previous" not in aliases or aliases["previous"] != aliases["champion"]
    held: dict[str, str] = {}
    for move in registry.history(client, audit_id, NAME):
        assert move["from_version"] == held.get(move["alias"], ""), move
        held[move["alias"]] = move["to_version"]
    assert held == {alias: str(v) for alias, v in aliases.items()}
    for version in client.search_model_versions(f"name = '{NAME}'"):
        if version.tags.get("genforge.promotion") == "applied" and version.tags["genforge.decision"] == "promote":
            assert int(version.version) <= int(champion.number)
    return champion


KILL_POINTS = [
    "promote:locked",
    "promote:registered",
    "promote:before-previous",
    "promote:after-previous",
    "promote:before-challenger",
    "promote:after-challenger",
    "promote:before-champion",
    "promote:after-champion",
    "promote:applied",
]


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_a_promotion_killed_anywhere_is_completed_by_the_next_run(store, kill_at):
    root, client, *_ = store
    assert finish(start(store, "key-v1", 40.0))[0] == 0  # v1: the champion
    code, *_ = finish(start(store, "key-v2", 30.0, kill_at=kill_at))  # v2 is better: promote, killed midway
    assert code == -9
    code, out, err = finish(start(store, "key-v2", 30.0))  # the same run again
    assert code == 0, err
    audit = tracking.experiment_id(client, Workspace(root), tracking.AUDIT_EXPERIMENT)
    champion = check_invariants(client, audit)
    versions = client.search_model_versions(f"name = '{NAME}'")
    assert len(versions) == 2, "the re-run registered a second copy"
    assert champion.number == "2" and out.startswith("promote 2")
    assert str(client.get_model_version_by_alias(NAME, "previous").version) == "1"
    assert all(v.tags["genforge.promotion"] == "applied" for v in versions)
    assert not registry._pending_audits(client, audit, NAME)


@pytest.mark.slow
def test_two_promotions_at_once_are_serialised(store):
    root, client, *_ = store
    assert finish(start(store, "key-v1", 40.0))[0] == 0
    # Both are better than v1 and both hold the lock for 2 s: without it, both would decide against v1.
    first = start(store, "key-a", 30.0, pause_at="promote:locked=2")
    time.sleep(0.5)
    second = start(store, "key-b", 20.0, pause_at="promote:locked=2")
    results = [finish(first), finish(second)]
    assert all(code == 0 for code, *_ in results), results
    audit = tracking.experiment_id(client, Workspace(root), tracking.AUDIT_EXPERIMENT)
    champion = check_invariants(client, audit)
    versions = {v.tags["genforge.run_key"]: v for v in client.search_model_versions(f"name = '{NAME}'")}
    a, b = versions["key-a"], versions["key-b"]
    assert a.tags["genforge.decided_against"] == "1"
    assert b.tags["genforge.decided_against"] == str(a.version)  # read inside the lock, after a's promotion
    assert champion.number == str(b.version)
    assert str(client.get_model_version_by_alias(NAME, "previous").version) == str(a.version)
