"""INT8 dynamic quantisation of an exported ONNX graph with onnxruntime.quantization.

Dynamic quantisation stores the MatMul/Gemm weights as INT8 and quantises activations per call, so it needs no
calibration data. The graph is pre-processed first (symbolic shape inference and graph optimisation, as
onnxruntime's quantisation guide recommends: the quantiser then sees the shapes it needs). The graph's metadata
(block size, vocabulary size, tokenizer sha256) is kept, and `genforge.quantization` records what was done.
Whether the variant is good enough is the caller's decision (components/families/gpt/steps.py measures its loss).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import onnx

QUANTIZATION = "int8-dynamic"


def quantize_int8(src: Path, dst: Path) -> Path:
    """src (float32 .onnx) → dst, weights INT8 (signed, per tensor), activations quantised at run time."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    quiet = logging.getLogger()  # the quantiser warns through the root logger
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            pre = Path(tmp) / "pre.onnx"
            quant_pre_process(str(src), str(pre))
            quantize_dynamic(str(pre), str(dst), weight_type=QuantType.QInt8)
    finally:
        quiet.setLevel(level)
    proto = onnx.load(str(dst))
    metadata = {p.key: p.value for p in onnx.load(str(src), load_external_data=False).metadata_props}
    metadata["genforge.quantization"] = QUANTIZATION
    onnx.helper.set_model_props(proto, metadata)
    onnx.save(proto, str(dst))
    onnx.checker.check_model(str(dst))
    return dst
