"""DiffAugment's effect on the face GAN at equal steps: the default facegan-orl config trained with Zhao et al.'s
colour/translation/cutout policy and without it (same seeds, same number of steps), scored like the pipeline does
(KID and FID with the standard Inception features against the 8 held-out people, with bootstrap intervals; the
identity match rate; C2ST AUC). Needs `make data`, the ORL faces and the Inception weights
(`python -m components.evaluation.inception fetch`).

Run: python bench/facegan_diffaugment.py [--epochs 150] [--seeds 0 1] [--policies diffaugment none]
(≈ 5 min per training on 2 cores)
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np

from components.data import dataset
from components.families import load_config
from components.families.base import EvalJob, TrainJob
from components.families.facegan import steps

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ("kid", "fid", "identity_match_rate", "c2st_auc")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--policies", nargs="+", choices=["diffaugment", "none"], default=["diffaugment", "none"])
    args = parser.parse_args()
    base = load_config(ROOT / "configs" / "facegan-orl.yaml")
    data = dataset.prepare(ROOT, base.data, dataset=base.dataset)
    rows = {}
    policies = {"diffaugment": ("color", "translation", "cutout"), "none": ()}
    for policy in (policies[name] for name in args.policies):
        for seed in args.seeds:
            cfg = load_config(
                ROOT / "configs" / "facegan-orl.yaml",
                {"seed": seed, "train": {"epochs": args.epochs, "diffaugment": list(policy)},
                 "evaluation": {"curve": False}},
            )  # fmt: skip
            with tempfile.TemporaryDirectory() as tmp:
                result = steps.train(cfg, TrainJob(Path(data.path), Path(tmp)))
                job = EvalJob(Path(result.checkpoint), Path(data.path), data.dataset_md5, ROOT / ".genforge" / "cache")
                metrics = steps.evaluate(steps.load(result.checkpoint), cfg, job).metrics
            rows[(policy, seed)] = metrics
            print(f"{'+'.join(policy) or 'none'} seed {seed}: " + ", ".join(f"{k} {metrics[k]:.4f}" for k in COLUMNS))
    floor = next(iter(rows.values()))
    print(f"\nfacegan-orl, {args.epochs} epochs (10 steps each), seeds {args.seeds}; real floors: "
          f"KID {floor['kid_real_floor']:.4f}, FID {floor['fid_real_floor']:.1f}, "
          f"identity {floor['identity_match_rate_real_floor']:.3f} "
          f"(ceiling {floor['identity_match_ceiling']:.3f})")  # fmt: skip
    print("| DiffAugment | KID (95% CI) | FID (95% CI) | identity match rate | C2ST AUC |")
    print("| --- | --- | --- | --- | --- |")
    for (policy, seed), m in rows.items():
        name = "+".join(policy) or "none"
        print(f"| {name} (seed {seed}) | {m['kid']:.4f} ({m['kid_ci_low']:.4f}–{m['kid_ci_high']:.4f}) "
              f"| {m['fid']:.1f} ({m['fid_ci_low']:.1f}–{m['fid_ci_high']:.1f}) | {m['identity_match_rate']:.3f} "
              f"| {m['c2st_auc']:.3f} |")  # fmt: skip
    for policy in {p for p, _ in rows}:
        kids = [m["kid"] for (p, _), m in rows.items() if p == policy]
        print(f"mean KID {'+'.join(policy) or 'none'}: {np.mean(kids):.4f}")


if __name__ == "__main__":
    main()
