"""The same pipeline on the team stack vs the embedded default: `genforge run` from the command line, once against
the workspace's SQLite store and temporary Prefect API, once against the PostgreSQL-backed MLflow (basic-auth,
proxied artifacts) and Prefect servers of `genforge stack up` — same config, same data, same machine.

Uses the real Fashion-MNIST with a reduced config (~2 × 1 min). Run: .venv/bin/python bench/team_stack.py
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from components.config import merge

REPO = Path(__file__).resolve().parent.parent
SMALL = {
    "name": "bench-team",
    "train": {"epochs": 1, "max_steps": 100},
    "evaluation": {
        "num_samples": 1000,
        "bootstrap": 50,
        "c2st": {"num_samples": 500, "epochs": 1},
        "evaluator": {"epochs": 1},
    },
    "promotion": {"thresholds": {"onnx_parity": {"max": 1e-4}}},
}


def workspace(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for cmd in (
        ["git", "init", "-q"],
        [sys.executable, "-m", "dvc", "init", "-q"],
        [sys.executable, "-m", "dvc", "remote", "add", "-d", "local", str(folder.parent / f"{folder.name}-remote")],
    ):
        subprocess.run(cmd, cwd=folder, check=True, capture_output=True)
    config = yaml.safe_load((REPO / "configs" / "dcgan-fashion.yaml").read_text())
    (folder / "bench.yaml").write_text(yaml.safe_dump(merge(config, SMALL)))
    return folder


def genforge_run(root: Path, env: dict) -> float:
    started = time.perf_counter()
    argv = [str(REPO / ".venv" / "bin" / "genforge"), "run", "bench.yaml", "--root", str(root)]
    done = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"genforge run failed: {done.stderr[-2000:]}")
    return time.perf_counter() - started


def main() -> None:
    import random

    from flows import stack

    def free_ports(count: int) -> list[int]:  # below Linux's ephemeral range, so no outgoing connection takes one
        ports: list[int] = []
        while len(ports) < count:
            port = random.randint(20000, 32000)
            ports += [port] if port not in ports and stack.port_free(port) else []
        return ports

    base = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "PREFECT_API_URL")}
    tmp = Path(tempfile.mkdtemp(prefix="genforge-bench-team-"))
    os.chmod(tmp, 0o711)  # the `postgres` user runs the cluster under it
    root = tmp / "stack"
    root.mkdir()
    try:
        embedded = genforge_run(workspace(tmp / "embedded"), base)
        pg, ml, pf = free_ports(3)
        os.environ["GENFORGE_ADMIN_PASSWORD"] = secrets.token_urlsafe(18)
        started = time.perf_counter()
        up = stack.up(stack.StackOptions(root=root, pg_port=pg, mlflow_port=ml, prefect_port=pf))
        stack_s = time.perf_counter() - started
        team = genforge_run(workspace(tmp / "team"), {**base, **up.env})
    finally:
        stack.down(root, timeout=10)
    print("| `genforge run` of the same small DCGAN config | seconds | ratio |", "| --- | --- | --- |", sep="\n")
    print(f"| embedded: SQLite store + temporary Prefect API | {embedded:.1f} | 1.00 |")
    print(
        f"| team stack: MLflow server (PostgreSQL, auth, proxied artifacts) + Prefect server (PostgreSQL) "
        f"| {team:.1f} | {team / embedded:.2f}× |"
    )
    print(f"| (once) `genforge stack up` from nothing | {stack_s:.1f} | |")


if __name__ == "__main__":
    main()
