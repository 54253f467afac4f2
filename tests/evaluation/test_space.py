"""The evaluation space id: a function of the data version and the evaluation config, never of the training seed."""

import pytest

from components.config import EvaluationConfig
from components.evaluation import space
from components.evaluation.space import evaluation_space
from components.families import parse_config

MD5 = "0123456789abcdef0123456789abcdef.dir"


def test_same_inputs_give_the_same_short_id():
    a = evaluation_space(MD5, EvaluationConfig())
    assert a == evaluation_space(MD5, EvaluationConfig()) == evaluation_space(MD5, EvaluationConfig(seed=0))
    assert len(a) == 16 and int(a, 16) >= 0


def test_the_runs_training_seed_is_not_an_input():
    runs = [parse_config({"seed": s}) for s in (0, 1, 7)]
    ids = {evaluation_space(MD5, cfg.evaluation) for cfg in runs}
    assert len(ids) == 1
    text = parse_config({"family": "gpt", "seed": 3}).evaluation
    assert evaluation_space(MD5, text) == evaluation_space(MD5, parse_config({"family": "gpt"}).evaluation)


@pytest.mark.parametrize(
    "changed",
    [
        {"seed": 1},
        {"num_samples": 1000},
        {"bootstrap": 50},
        {"evaluator": {"epochs": 3}},
        {"c2st": {"epochs": 2}},
    ],
)
def test_another_evaluation_config_is_another_space(changed):
    assert evaluation_space(MD5, EvaluationConfig(**changed)) != evaluation_space(MD5, EvaluationConfig())


def test_another_data_version_evaluator_version_or_extra_is_another_space(monkeypatch):
    base = evaluation_space(MD5, EvaluationConfig())
    assert evaluation_space("f" * 32 + ".dir", EvaluationConfig()) != base
    assert evaluation_space(MD5, EvaluationConfig(), extra="style-evaluator-v2") != base
    monkeypatch.setattr(space, "EVALUATOR_VERSION", "another-evaluator")
    assert evaluation_space(MD5, EvaluationConfig()) != base


def test_inception_features_are_named_by_their_features_id(monkeypatch):
    from components.evaluation import inception

    cfg = EvaluationConfig(features="inception")
    first = evaluation_space(MD5, cfg)
    assert first != evaluation_space(MD5, EvaluationConfig())
    monkeypatch.setattr(inception, "FEATURES_ID", inception.FEATURES_ID + "-changed-preprocessing")
    assert evaluation_space(MD5, cfg) != first
