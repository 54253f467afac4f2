"""Every promotion rule through the one function the flow calls (components.registry.promote): parity blocks, the
key covers the gate, an unchanged gate reuses the version, a changed gate decides again."""

from components import tracking
from components.config import Bound, Improvement, PromotionConfig
from components.families import parse_config
from components.refs import EvalReport, ExportRef, RunRef
from components.registry import promote, registry
from components.workspace import Workspace

RULES = PromotionConfig(thresholds={"fid": Bound(max=50)}, improvement=Improvement(metric="fid", significant=False))


def candidate(logged_model, cfg=None, fid=30.0, parity=1e-7, train_key="train-key"):
    """What the promote step builds, from a config and the steps' references (the same functions it calls)."""
    _, _, uri, run_id = logged_model
    cfg = cfg or parse_config({"family": "dcgan"})
    run = RunRef(run_id, "checkpoint.pt", cfg.config_hash, train_key)
    report = EvalReport({"fid": fid}, {}, mlflow_run_id=run_id)
    export = ExportRef(uri, "sha", parity, parity <= cfg.export.parity_atol, run_id)
    return promote.candidate(cfg, run, report, export, ("evaluation",), "space", {"genforge.onnx_sha256": "sha"})


def run_promote(logged_model, cand, rules=RULES):
    root, client, _, _ = logged_model
    audit = tracking.experiment_id(client, Workspace(root), tracking.AUDIT_EXPERIMENT)
    return promote.promote(client, audit, cand, rules, promote.lock_dir_of(root))[0]


def test_a_parity_failure_is_rejected_and_the_champion_stays(logged_model):
    _, client, _, _ = logged_model
    first = run_promote(logged_model, candidate(logged_model, fid=30.0))
    assert first.action == "promote"
    broken = candidate(logged_model, fid=10.0, parity=1e-2, train_key="another-training")  # better, but broken
    assert not broken.parity_passed
    decision = run_promote(logged_model, broken)
    assert decision.action == "reject" and any("ONNX parity" in r for r in decision.reasons), decision.reasons
    assert registry.champion(client, broken.name).number == first.version


def test_the_key_covers_the_promotion_policy_and_nothing_that_cannot_change_the_decision(logged_model):
    base = parse_config({"family": "dcgan"})
    same = parse_config({"family": "dcgan", "train": {"log_every": 7}})  # a runner setting: no new decision
    stricter = parse_config({"family": "dcgan", "promotion": {"thresholds": {"fid": {"max": 20}}}})
    keys = [candidate(logged_model, cfg=c).run_key for c in (base, same, stricter)]
    assert keys[0] == keys[1] != keys[2]


def test_an_unchanged_gate_reuses_the_version_and_a_changed_one_decides_again(logged_model):
    _, client, _, _ = logged_model
    base = parse_config({"family": "dcgan"})
    first = run_promote(logged_model, candidate(logged_model, cfg=base))
    again = run_promote(logged_model, candidate(logged_model, cfg=base))
    assert again.already_registered and again.version == first.version

    stricter = parse_config({"family": "dcgan", "promotion": {"thresholds": {"fid": {"max": 20}}}})
    rules = PromotionConfig(thresholds={"fid": Bound(max=20)}, improvement=Improvement(metric="fid", significant=False))
    redecided = run_promote(logged_model, candidate(logged_model, cfg=stricter), rules)
    assert not redecided.already_registered and redecided.version != first.version
    assert redecided.action == "reject" and any("fid 30 > max 20" in r for r in redecided.reasons)
    assert registry.champion(client, stricter.model_name).number == first.version
