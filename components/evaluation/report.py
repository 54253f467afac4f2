"""Pictures and the markdown report of an evaluation: loss curves, ROC of the real/fake test, metric table."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: files only
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from components.metrics import SAMPLE_SIZE, read  # noqa: E402

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
    headline: tuple[str, ...] | list[str] = (),
) -> str:
    """The report page: decision and reasons, the metric table beside the champion's, then the pictures, then
    texts (a language model's samples) as fenced blocks."""
    rows = read(metrics, headline, everything=True)
    n = int(metrics.get(SAMPLE_SIZE, 0))
    against = f"champion v{champion_version}" if champion_version else "champion (none yet)"
    lines = [f"# {model} v{version}", "", f"**Decision: {decision}**", ""] + [f"- {r}" for r in reasons]
    lines += [
        "",
        f"| metric | v{version} | 95 % CI | N | real floor | {against} |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for m in rows:
        ci = f"[{_fmt(m.low)}, {_fmt(m.high)}]" if m.interval else "—"
        size = str(m.n) if m.n else "—"
        champ = _fmt((champion or {}).get(m.name))
        lines.append(f"| {m.name} | {_fmt(m.value)} | {ci} | {size} | {_fmt(m.floor)} | {champ} |")
    if n:
        lines += ["", f"N = {n} generated vs {n} real test images (FID is biased by N: compare at equal N)."]
    lines += [""] + [f"## {Path(p).stem.replace('_', ' ')}\n\n![{Path(p).stem}]({p})\n" for p in pictures]
    for title, body in (texts or {}).items():
        lines += [f"## {title}", "", "````text", body.rstrip("\n"), "````", ""]
    return "\n".join(lines) + "\n"
