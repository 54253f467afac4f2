"""The CUDA paths (issue 12), run by bench/gpu_check.sh on a machine with GPUs; skipped without one.

- a tiny pipeline trained on the GPU (train.device: cuda; its evaluation networks follow `auto`) registers a
  champion whose ONNX graph matches the CUDA-trained weights (the export step's parity gate, < 1e-4);
- data-parallel training over NCCL on every visible GPU ends with the weights of one process with the whole
  batch (to float tolerance), as the CPU test does over gloo.
"""

from __future__ import annotations

import pytest
import torch

from tests.training.test_distributed import final, run_case

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: run bench/gpu_check.sh on a GPU machine"),
]


@pytest.mark.usefixtures("prefect_harness")
def test_a_pipeline_trained_on_the_gpu_registers_with_onnx_parity(workspace, digits_source):
    from flows.pipeline import pipeline
    from tests.flows.conftest import write_config

    config = write_config(workspace, digits_source, "cuda", {"train": {"epochs": 1, "device": "cuda"}})
    summary = pipeline(config, str(workspace))
    assert summary["decision"] == "promote"
    assert summary["metrics"]["onnx_parity"] < 1e-4


@pytest.mark.parametrize("kind", ["gpt", "vae"])
def test_nccl_on_every_gpu_trains_the_weights_of_one_process(kind, tmp_path):
    gpus = torch.cuda.device_count()
    if gpus < 2:
        pytest.skip("one GPU: NCCL data parallelism needs two")
    one = run_case(kind, tmp_path / "one", None, "--device", "cuda")
    many = run_case(kind, tmp_path / "many", gpus, "--device", "cuda")
    assert one.returncode == 0, one.stderr[-3000:]
    assert many.returncode == 0, many.stderr[-3000:]
    a, b = final(tmp_path / "one"), final(tmp_path / "many")
    assert b["world"] == gpus
    for name, value in a["weights"].items():
        torch.testing.assert_close(b["weights"][name], value, rtol=1e-3, atol=1e-4, msg=name)
