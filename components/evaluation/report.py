"""Pictures and the markdown report of an evaluation: loss curves, ROC of the real/fake test, metric table."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: files only
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

HEADLINE = ("fid", "kid", "c2st_auc", "c2st_accuracy", "c2st_p_value", "onnx_parity", "evaluator_test_accuracy")
FLOORS = {"fid": "fid_real_floor", "kid": "kid_real_floor", "c2st_auc": None}


def loss_curves(history: list[dict], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 3.5))
    steps = [row["step"] for row in history]
    for key in ("d_loss", "g_loss"):
        ax.plot(steps, [row[key] for row in history], label=key)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("GAN losses")
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


def markdown(
    model: str,
    version: str,
    metrics: dict[str, float],
    champion: dict[str, float] | None,
    decision: str,
    reasons: list[str],
) -> str:
    n = int(metrics.get("eval_num_samples", 0))
    lines = (
        [f"# {model} v{version}", "", f"**Decision: {decision}**", ""]
        + [f"- {r}" for r in reasons]
        + [
            "",
            f"Evaluator features, N = {n} generated vs {n} real test images.",
            "",
            "| metric | challenger | 95 % CI | real floor | champion |",
            "| --- | --- | --- | --- | --- |",
        ]
    )
    for key in HEADLINE:
        if key not in metrics:
            continue
        low, high = metrics.get(f"{key}_ci_low"), metrics.get(f"{key}_ci_high")
        ci = f"[{_fmt(low)}, {_fmt(high)}]" if low is not None else "—"
        floor = metrics.get(FLOORS.get(key) or "")
        lines.append(f"| {key} | {_fmt(metrics[key])} | {ci} | {_fmt(floor)} | {_fmt((champion or {}).get(key))} |")
    lines += ["", "Pictures: `samples.png` (fixed evaluation latents), `roc.png`, `loss_curves.png`."]
    return "\n".join(lines) + "\n"
