"""The promotion decision: a pure function of the challenger's metrics, the champion's and the declared policy."""

from __future__ import annotations

import math

from components.config import PromotionConfig
from components.refs import Decision


def _check_thresholds(metrics: dict[str, float], policy: PromotionConfig) -> list[str]:
    failures = []
    for name, bound in sorted(policy.thresholds.items()):
        value = metrics.get(name)
        if value is None or math.isnan(value):
            failures.append(f"{name} is missing from the evaluation")
        elif bound.max is not None and value > bound.max:
            failures.append(f"{name} {value:.4g} > max {bound.max:.4g}")
        elif bound.min is not None and value < bound.min:
            failures.append(f"{name} {value:.4g} < min {bound.min:.4g}")
    return failures


def decide(challenger: dict[str, float], champion: dict[str, float] | None, policy: PromotionConfig) -> Decision:
    """'reject' if any absolute gate fails; else 'promote' if there is no champion or the challenger beats it
    by the required margin (and, if asked, significantly: disjoint confidence intervals); else 'keep'."""
    failures = _check_thresholds(challenger, policy)
    if failures:
        return Decision("reject", tuple(failures))
    passed = f"passes all {len(policy.thresholds)} gates ({', '.join(sorted(policy.thresholds))})"
    if champion is None:
        return Decision("promote", (passed, "no champion yet"))

    rule = policy.improvement
    m = rule.metric
    if m not in challenger or m not in champion:
        return Decision(
            "keep", (passed, f"cannot compare: {m} missing for {'champion' if m in challenger else 'challenger'}")
        )
    sign = 1.0 if rule.mode == "min" else -1.0
    gain = sign * (champion[m] - challenger[m])  # > 0 means the challenger is better
    verdict = (
        f"{m} {challenger[m]:.4g} vs champion {champion[m]:.4g} (gain {gain:.4g}, required > {rule.min_delta:.4g})"
    )
    if not gain > rule.min_delta:
        return Decision("keep", (passed, "not better than the champion: " + verdict))
    if rule.significant:
        # For a metric to minimise, the challenger's upper bound must lie below the champion's lower bound.
        worst_challenger = challenger.get(f"{m}_ci_high" if rule.mode == "min" else f"{m}_ci_low")
        best_champion = champion.get(f"{m}_ci_low" if rule.mode == "min" else f"{m}_ci_high")
        if worst_challenger is None or best_champion is None:
            return Decision("keep", (passed, verdict, f"no confidence interval for {m}: significance cannot be shown"))
        if not sign * (best_champion - worst_challenger) > 0:
            return Decision("keep", (passed, verdict, f"not significant: the {m} confidence intervals overlap"))
    return Decision("promote", (passed, "better than the champion: " + verdict))
