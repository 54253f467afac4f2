"""The CUDA paths (issue 12), run by bench/gpu_check.sh on a machine with GPUs; skipped without one.

- a tiny pipeline trained on the GPU (train.device: cuda; its evaluation networks follow `auto`) registers a
  champion whose ONNX graph matches the CUDA-trained weights (the export step's parity gate, < 1e-4);
- data-parallel training over NCCL on every visible GPU ends with the weights of one process with the whole
  batch (to float tolerance), as the CPU test does over gloo;
- the GPT's evaluation (likelihood, greedy continuations, the classifier's predictions) and the standard Inception
  network give on the GPU what they give on the CPU.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from components.models.gpt import GPT, GPTClassifier, GPTConfig
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


def test_the_gpt_evaluation_on_the_gpu_matches_the_cpu():
    from components.families.gpt.classifier import predict_classes
    from components.families.gpt.steps import continue_batch
    from components.training.lm_trainer import torch_logits_fn

    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=32, block_size=16, n_layer=2, n_head=2, n_embd=32)
    cpu = GPT(cfg).eval()
    gpu = GPT(cfg).eval()
    gpu.load_state_dict(cpu.state_dict())
    gpu = gpu.cuda()
    x = np.random.default_rng(0).integers(0, 32, size=(4, 16))
    np.testing.assert_allclose(torch_logits_fn(gpu)(x), torch_logits_fn(cpu)(x), atol=1e-4)
    prefixes = x[:, :5]
    np.testing.assert_array_equal(continue_batch(gpu, prefixes, 20, 0.0, None, 0),
                                  continue_batch(cpu, prefixes, 20, 0.0, None, 0))  # fmt: skip
    head = GPTClassifier(cfg, 2).eval()
    lengths = np.array([16, 9, 3, 12])
    on_cpu = predict_classes(head, x, lengths)
    assert np.array_equal(predict_classes(head.cuda(), x, lengths), on_cpu)


def test_the_inception_features_on_the_gpu_match_onnxruntime(tmp_path):
    from components.evaluation import inception
    from tests.conftest import digits_28
    from tests.evaluation.test_inception import WEIGHTS

    if WEIGHTS is None:
        pytest.skip("no FID Inception weights: python -m components.evaluation.inception fetch")
    images = digits_28()[0][:8]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(inception.ENV_VAR, str(WEIGHTS))
        gpu = inception.InceptionFeatures.following(tmp_path, "auto")
        assert gpu.backend == "torch" and gpu.device.startswith("cuda")
        cpu = inception.InceptionFeatures(tmp_path)
        assert np.abs(gpu.features(images) - cpu.features(images)).max() < 1e-3
