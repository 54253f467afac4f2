#!/usr/bin/env bash
# The CUDA paths on a machine with GPUs (issue 12): a tiny pipeline trained on the GPU with ONNX parity of the
# CUDA-trained weights, and data-parallel training over NCCL on every visible GPU checked against one process.
# Needs the venv (`make install`) and a CUDA build of torch 2.13.0 in it. Without a GPU every check skips, saying so.
#   bash bench/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -c "import torch; print('torch', torch.__version__, '| CUDA devices:', torch.cuda.device_count(), '|', ', '.join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())) or 'none')"
exec .venv/bin/pytest -q -rs tests/gpu/test_cuda.py "$@"
