"""The promotion policy as a table of known answers."""

import pytest

from components.config import PromotionConfig
from components.registry.policy import decide

POLICY = PromotionConfig.model_validate(
    {
        "thresholds": {"fid": {"max": 50}, "c2st_auc": {"max": 0.999}},
        "improvement": {"metric": "fid", "mode": "min", "min_delta": 0.5, "significant": True},
    }
)


def m(fid, low=None, high=None, auc=0.9, parity=1e-7):
    return {
        "fid": fid,
        "fid_ci_low": fid - 1 if low is None else low,
        "fid_ci_high": fid + 1 if high is None else high,
        "c2st_auc": auc,
        "onnx_parity": parity,
    }


@pytest.mark.parametrize(
    "challenger, champion, action, reason",
    [
        (m(30), None, "promote", "no champion yet"),
        (m(30), m(40), "promote", "better than the champion"),
        (m(60), None, "reject", "fid 60 > max 50"),
        (m(30, auc=1.0), m(40), "reject", "c2st_auc 1 > max 0.999"),
        (m(45), m(40), "keep", "not better"),  # a worse challenger never wins
        (m(39.8), m(40), "keep", "not better"),  # better, but by less than min_delta
        (m(38, 36, 40), m(40, 38, 42), "keep", "not significant"),  # better, but the intervals overlap
        ({"fid": 30, "onnx_parity": 0.0, "c2st_auc": 0.5}, m(40), "keep", "no confidence interval"),
    ],
)
def test_policy_table(challenger, champion, action, reason):
    decision = decide(challenger, champion, POLICY)
    assert decision.action == action
    assert any(reason in r for r in decision.reasons), decision.reasons


def test_missing_gated_metric_rejects():
    decision = decide({"fid": 10.0, "onnx_parity": 0.0}, None, POLICY)
    assert decision.action == "reject" and "c2st_auc is missing" in decision.reasons[0]


def test_nan_metric_rejects():
    assert decide(m(float("nan")), None, POLICY).action == "reject"


def test_two_draws_of_the_same_model_are_not_an_improvement():
    """Same model, two evaluation draws: FID differs by noise, the intervals overlap, so the champion stays."""
    first, second = m(35.3, 34.1, 36.6), m(34.6, 33.5, 35.8)
    assert decide(second, first, POLICY).action == "keep"
    assert decide(first, second, POLICY).action == "keep"


def test_maximised_metric():
    policy = PromotionConfig.model_validate(
        {"thresholds": {"acc": {"min": 0.5}}, "improvement": {"metric": "acc", "mode": "max", "significant": False}}
    )
    assert decide({"acc": 0.9}, {"acc": 0.8}, policy).action == "promote"
    assert decide({"acc": 0.7}, {"acc": 0.8}, policy).action == "keep"
    assert decide({"acc": 0.4}, None, policy).action == "reject"
