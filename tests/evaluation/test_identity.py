"""The identity gate's known answers on the real ORL faces: unseen photos of the training people match (the
ceiling), the held-out people match at the declared false-accept rate (the floor), noise and blank images match
nobody; fitted once and reused from the cache."""

import numpy as np
import pytest

from components.data.shards import load_split
from components.evaluation import identity

pytestmark = pytest.mark.slow  # trains networks for tens of seconds

EPOCHS = 10


@pytest.fixture(scope="module")
def faces(orl_dataset):
    return load_split(orl_dataset, "train"), load_split(orl_dataset, "test")[0]


@pytest.fixture(scope="module")
def gate(faces, tmp_path_factory):
    (train_x, train_y), unseen = faces
    cache = tmp_path_factory.mktemp("identity")
    return identity.load_or_fit(cache, "md5", train_x, train_y, unseen, far=0.05, seed=0, epochs=EPOCHS), cache


def test_floor_and_ceiling(gate, faces):
    g, _ = gate
    (train_x, train_y), unseen = faces
    held_back = train_x[identity._photo_index(train_y) >= identity.FIT_PHOTOS]  # never shown to the network
    assert g.far_measured <= g.far and identity.match_rate(g, unseen) == g.far_measured
    assert g.tar == identity.match_rate(g, held_back) >= 0.8  # measured 0.948
    best, person = identity.best_similarity(g, held_back)
    assert (person == train_y[identity._photo_index(train_y) >= identity.FIT_PHOTOS]).mean() >= 0.9  # who, too


def test_noise_and_blank_faces_match_nobody(gate):
    g, _ = gate
    rng = np.random.default_rng(0)
    assert identity.match_rate(g, rng.integers(0, 256, (64, 64, 64)).astype(np.uint8)) == 0.0
    assert identity.match_rate(g, np.full((8, 64, 64), 128, np.uint8)) == 0.0


def test_fitted_once_then_loaded(gate, faces):
    g, cache = gate
    (train_x, train_y), unseen = faces
    files = sorted(p.name for p in cache.iterdir())
    assert files == [f"identity-{g.key}.pt"]  # no .tmp left behind
    again = identity.load_or_fit(cache, "md5", train_x, train_y, unseen, far=0.05, seed=0, epochs=EPOCHS)
    assert again.threshold == g.threshold and again.tar == g.tar
    assert identity.cache_key("md5", 0.05, 0, EPOCHS) != identity.cache_key("md5", 0.01, 0, EPOCHS)
