"""Pictures and the markdown report of an evaluation: loss curves, ROC of the real/fake test, metric table."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: files only
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

HEADLINE = (
    "fid",
    "kid",
    "precision",
    "recall",
    "density",
    "coverage",
    "c2st_auc",
    "c2st_accuracy",
    "c2st_p_value",
    "memorised_fraction",
    "exact_copy_fraction",
    "near_copy_fraction",
    "conditional_accuracy",
    "conditional_accuracy_ceiling",
    "intra_fid",
    "intra_fid_real_floor",
    "ap_in",
    "ap_cross",
    "auc_cross",
    "onnx_parity",
    "evaluator_test_accuracy",
)


NOT_LOSSES = {"step", "epoch", "img_per_s", "d_real", "d_fake", "lr"}


def loss_curves(history: list[dict], path: Path) -> Path:
    """Every loss the trainer logged (d_loss and g_loss of a GAN, the ELBO terms of a VAE, …) against the step."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    steps = [row["step"] for row in history]
    for key in [k for k in history[0] if k not in NOT_LOSSES]:
        ax.plot(steps, [row[key] for row in history], label=key)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("training losses")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def roc(
    fpr: np.ndarray, tpr: np.ndarray, auc: float, path: Path, title: str = "Real vs generated: held-out ROC"
) -> Path:
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(fpr, tpr, label=f"detector (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], "--", color="grey", label="chance (0.5)")
    ax.set_xlabel("false positive rate (real called generated)")
    ax.set_ylabel("true positive rate")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


# Metrics that are bookkeeping or the other half of a pair, not rows of their own in the table.
_NOT_ROWS = ("_ci_low", "_ci_high", "_real_floor", "eval_num_samples", "c2st_num_test", "n_test_in", "n_test_cross")


def markdown(
    model: str,
    version: str,
    metrics: dict[str, float],
    champion: dict[str, float] | None,
    champion_version: str | None,
    decision: str,
    reasons: list[str],
    pictures: list[str],
    texts: dict[str, str] | None = None,
) -> str:
    """The report page: decision and reasons, the metric table beside the champion's, then the pictures, then
    texts (a language model's samples) as fenced blocks."""
    n = int(metrics.get("eval_num_samples", 0))
    rows = [k for k in HEADLINE if k in metrics] + sorted(
        k for k in metrics if k not in HEADLINE and not k.endswith(_NOT_ROWS) and k not in _NOT_ROWS
    )
    against = f"champion v{champion_version}" if champion_version else "champion (none yet)"
    lines = [f"# {model} v{version}", "", f"**Decision: {decision}**", ""] + [f"- {r}" for r in reasons]
    lines += [
        "",
        f"| metric | v{version} | 95 % CI | N | real floor | {against} |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for key in rows:
        low, high = metrics.get(f"{key}_ci_low"), metrics.get(f"{key}_ci_high")
        ci = f"[{_fmt(low)}, {_fmt(high)}]" if low is not None else "—"
        floor = metrics.get(f"{key}_real_floor")
        size = str(n) if n and (low is not None or floor is not None) else "—"
        lines.append(
            f"| {key} | {_fmt(metrics[key])} | {ci} | {size} | {_fmt(floor)} | {_fmt((champion or {}).get(key))} |"
        )
    if n:
        lines += ["", f"N = {n} generated vs {n} real test images (FID is biased by N: compare at equal N)."]
    lines += [""] + [f"## {Path(p).stem.replace('_', ' ')}\n\n![{Path(p).stem}]({p})\n" for p in pictures]
    for title, body in (texts or {}).items():
        lines += [f"## {title}", "", "````text", body.rstrip("\n"), "````", ""]
    return "\n".join(lines) + "\n"
