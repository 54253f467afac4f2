"""Data-parallel training's known answers on CPU (gloo), with PyTorch's real launcher: 2 processes with half the
batch each end with the weights of 1 process with the whole batch, for every kind of trainer without batch
statistics (an LM, a VAE, a CycleGAN); a killed 2-process run resumed from its checkpoint ends where an
uninterrupted one does. The runs themselves: tests/training/ddp_case.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

CASE = Path(__file__).with_name("ddp_case.py")
pytestmark = pytest.mark.slow  # each launch starts 2–3 Python processes with torch: ~15 s


def run_case(kind: str, out: Path, nproc: int | None = None, *extra: str) -> subprocess.CompletedProcess:
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}"]
    argv = [*(launcher if nproc else [sys.executable]), str(CASE), kind, str(out), *extra]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)


def final(out: Path) -> dict:
    return torch.load(out / "final.pt", weights_only=True)


@pytest.mark.parametrize("kind", ["gpt", "vae", "cyclegan"])
def test_two_processes_with_half_the_batch_train_the_weights_of_one(kind, tmp_path):
    one, two = run_case(kind, tmp_path / "one"), run_case(kind, tmp_path / "two", 2)
    assert one.returncode == 0, one.stderr[-3000:]
    assert two.returncode == 0, two.stderr[-3000:]
    a, b = final(tmp_path / "one"), final(tmp_path / "two")
    assert (a["world"], b["world"]) == (1, 2)  # the second run really was split over two processes
    assert a["steps"] == b["steps"] > 0
    for name, value in a["weights"].items():
        # A CycleGAN conv's bias just before an InstanceNorm has a zero gradient up to rounding (the norm removes
        # any constant); Adam scales that rounding noise up to steps of ±lr, so those biases stay within ±1e-3 of
        # zero in both runs without matching each other. Every other tensor matches.
        atol = 1e-3 if kind == "cyclegan" and name.endswith(".bias") else 1e-5
        torch.testing.assert_close(b["weights"][name], value, rtol=1e-4, atol=atol, msg=name)
    for row_a, row_b in zip(a["losses"], b["losses"], strict=True):
        assert row_a.keys() == row_b.keys()
        assert row_b == pytest.approx(row_a, rel=1e-4, abs=1e-6)  # the logged losses: the whole batch's


def test_a_resumed_two_process_run_equals_an_uninterrupted_one(tmp_path):
    straight = run_case("gpt", tmp_path / "straight", 2)
    assert straight.returncode == 0, straight.stderr[-3000:]
    killed = run_case("gpt", tmp_path / "resumed", 2, "--crash-at", "6")  # after the first checkpoint (step 4)
    assert killed.returncode != 0 and "killed after step 6" in killed.stderr
    assert not (tmp_path / "resumed" / "final.pt").exists()
    resumed = run_case("gpt", tmp_path / "resumed", 2, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a, b = final(tmp_path / "straight"), final(tmp_path / "resumed")
    assert b["world"] == 2 and b["steps"] == 12 and [r["step"] for r in b["losses"]] == [2, 4, 6, 8, 10, 12]
    for name, value in a["weights"].items():
        assert torch.equal(b["weights"][name], value), name
    assert b["losses"] == a["losses"]
