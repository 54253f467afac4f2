"""Bad input gets one line and exit 2: every consumer command, fed a missing, empty, damaged or oversized file (or an
output it cannot write), prints exactly one `error: …` line on stderr that names the problem, and no traceback.

The models are real ONNX graphs built with onnx.helper (a generator, a detector, a VAE, a translator, each a few
operators): the bad inputs are derived from them (truncated) or made beside them (random bytes, 0 bytes, a PNG bomb).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.flows.test_cli import genforge

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

LATENT = 8


def _save(path: Path, nodes, inputs, outputs, weights) -> Path:
    graph = helper.make_graph(nodes, path.stem, inputs, outputs, weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())
    return path


def _float(name: str, *shape) -> TensorProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))


def _weights(name: str, *shape) -> TensorProto:
    return numpy_helper.from_array(np.random.default_rng(0).standard_normal(shape).astype(np.float32) * 0.1, name)


def generator(path: Path) -> Path:
    """z (batch, 8) → image (batch, 1, 28, 28) in [-1, 1]: a 1-layer linear generator."""
    shape = numpy_helper.from_array(np.array([-1, 1, 28, 28], dtype=np.int64), "shape")
    nodes = [
        helper.make_node("MatMul", ["z", "W"], ["h"]),
        helper.make_node("Tanh", ["h"], ["t"]),
        helper.make_node("Reshape", ["t", "shape"], ["image"]),
    ]
    return _save(path, nodes, [_float("z", "batch", LATENT)], [_float("image", "batch", 1, 28, 28)],
                 [_weights("W", LATENT, 784), shape])  # fmt: skip


def detector(path: Path) -> Path:
    """image (batch, 1, 28, 28) → a probability per image."""
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["m"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("Sigmoid", ["m"], ["probability"]),
    ]
    return _save(path, nodes, [_float("image", "batch", 1, 28, 28)], [_float("probability", "batch")], [])


def vae(folder: Path) -> Path:
    """encoder.onnx: image → posterior (batch, 2·8); model.onnx: z (batch, 8) → image (the generator)."""
    nodes = [
        helper.make_node("Flatten", ["image"], ["flat"]),
        helper.make_node("MatMul", ["flat", "E"], ["posterior"]),
    ]
    _save(folder / "encoder.onnx", nodes, [_float("image", "batch", 1, 28, 28)],
          [_float("posterior", "batch", 2 * LATENT)], [_weights("E", 784, 2 * LATENT)])  # fmt: skip
    generator(folder / "model.onnx")
    return folder


def translator(folder: Path) -> Path:
    """model.onnx: image (batch, 3, 64, 64) → the same (the identity translator), in a CycleGAN folder."""
    nodes = [helper.make_node("Identity", ["image"], ["translated"])]
    for name in ("model.onnx", "reverse.onnx"):
        _save(folder / name, nodes, [_float("image", "batch", 3, 64, 64)],
              [_float("translated", "batch", 3, 64, 64)], [])  # fmt: skip
    return folder


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(path: Path, side: int = 20_000) -> Path:
    """A real side×side 1-bit PNG of ~50 KB that decodes to side² grey bytes (400 MB at 20000)."""
    row = b"\x00" + bytes(-(-side // 8))  # filter byte + packed pixels
    packer = zlib.compressobj(9)
    pixels = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b""))
    return path


def oversized_png(path: Path) -> Path:
    """5000×5000: under PIL's own bomb limit, over GenForge's cap (refused from the header, before decoding)."""
    return png_bomb(path, side=5000)


def not_an_image(path: Path) -> Path:
    path.write_text("this is a text file, not a picture\n")
    return path


def empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def truncated_png(path: Path) -> Path:
    """The first half of a real 64×64 PNG: the header reads, the pixels do not."""
    noise = np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)
    Image.fromarray(noise).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def random_bytes(path: Path) -> Path:
    path.write_bytes(np.random.default_rng(1).bytes(4096))
    return path


def truncated_onnx(path: Path) -> Path:
    data = generator(path).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def good_image(path: Path) -> Path:
    Image.fromarray(np.full((28, 28), 128, dtype=np.uint8)).save(path)
    return path


Maker = Callable[[Path], Path]
MADE_AS = {generator: "model.onnx", detector: "model.onnx", vae: "vae", translator: "cyclegan", good_image: "ok.png"}
"""Where each good file of a row (the model, or the image beside a bad model) is made."""

# (id, command line with {model} and {input} placeholders, the maker of the good file ({model}: a model, or the
#  image beside a bad model), the bad input's name and maker (None: it does not exist), a fragment of the error line)
ROWS: list[tuple[str, list[str], Maker | None, str, Maker | None, str]] = [
    ("generate-missing-onnx", ["generate", "{input}", "-o", "g.png"], None, "gone.onnx", None,
     "no such ONNX model file"),
    ("generate-random-bytes-onnx", ["generate", "{input}", "-o", "g.png"], None, "random.onnx", random_bytes,
     "is not a valid ONNX model"),
    ("generate-truncated-onnx", ["generate", "{input}", "-o", "g.png"], None, "half.onnx", truncated_onnx,
     "is not a valid ONNX model"),
    ("generate-empty-onnx", ["generate", "{input}", "-o", "g.png"], None, "empty.onnx", empty,
     "is empty (0 bytes)"),
    ("generate-txt-output", ["generate", "{model}", "-o", "x.txt"], generator, "unused", None,
     "give a .png file (image models) or a folder (audio models)"),
    ("generate-image-into-a-folder", ["generate", "{model}", "-o", "clips"], generator, "unused", None,
     "generates images; give a file name ending in .png"),
    ("detect-not-an-image", ["detect", "{input}", "--model", "{model}"], detector, "notes.png", not_an_image,
     "is not an image PIL can read"),
    ("detect-empty-image", ["detect", "{input}", "--model", "{model}"], detector, "empty.png", empty,
     "is empty (0 bytes)"),
    ("detect-png-bomb", ["detect", "{input}", "--model", "{model}"], detector, "bomb.png", png_bomb,
     "4096×4096"),
    ("detect-oversized-png", ["detect", "{input}", "--model", "{model}"], detector, "big.png", oversized_png,
     "is 5000×5000 pixels, above the 4096×4096 cap"),
    ("detect-truncated-png", ["detect", "{input}", "--model", "{model}"], detector, "half.png", truncated_png,
     "is a damaged image"),
    ("detect-invalid-model", ["detect", "{model}", "--model", "{input}"], good_image, "random.onnx", random_bytes,
     "is not a valid ONNX model"),
    ("repair-not-an-image", ["repair", "{model}", "{input}", "--mask", "4,4,12,12"], vae, "notes.png",
     not_an_image, "is not an image PIL can read"),
    ("repair-empty-image", ["repair", "{model}", "{input}", "--mask", "4,4,12,12"], vae, "empty.png", empty,
     "is empty (0 bytes)"),
    ("repair-png-bomb", ["repair", "{model}", "{input}", "--mask", "4,4,12,12"], vae, "bomb.png", png_bomb,
     "4096×4096"),
    ("repair-txt-output", ["repair", "{model}", "{input}", "--mask", "4,4,12,12", "-o", "r.txt"], vae, "ok.png",
     good_image, "give a file name ending in .png"),
    ("repair-bad-mask", ["repair", "{model}", "{input}", "--mask", "1,2,3"], vae, "ok.png", good_image,
     "must be four integers x0,y0,x1,y1"),
    ("translate-not-an-image", ["translate", "{model}", "{input}"], translator, "notes.png", not_an_image,
     "is not an image PIL can read"),
    ("translate-empty-image", ["translate", "{model}", "{input}"], translator, "empty.png", empty,
     "is empty (0 bytes)"),
    ("translate-png-bomb", ["translate", "{model}", "{input}"], translator, "bomb.png", png_bomb, "4096×4096"),
    ("classify-missing-model", ["classify", "{input}", "质量很好"], None, "gone.onnx", None,
     "no such ONNX model file"),
]  # fmt: skip


@pytest.mark.parametrize(("command", "model_maker", "name", "input_maker", "fragment"), [r[1:] for r in ROWS],
                         ids=[r[0] for r in ROWS])  # fmt: skip
def test_bad_input_prints_one_line_and_exits_2(tmp_path, command, model_maker, name, input_maker, fragment):
    model = model_maker(tmp_path / MADE_AS[model_maker]) if model_maker else None
    bad = input_maker(tmp_path / name) if input_maker else tmp_path / name
    args = [arg.format(model=model, input=bad) for arg in command]
    result = genforge(*args, cwd=tmp_path)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and fragment in lines[0], lines[0]
    assert not list(tmp_path.glob("*.txt")), "nothing is written for refused input"


def test_the_models_behind_the_table_are_real(tmp_path):
    """The same commands on good input succeed: the refusals above are the bad files' doing, not the models'."""
    image = good_image(tmp_path / "ok.png")
    assert (
        genforge("generate", str(generator(tmp_path / "g.onnx")), "-n", "4", "-o", "g.png", cwd=tmp_path).returncode
        == 0
    )
    detected = genforge("detect", str(image), "--model", str(detector(tmp_path / "d.onnx")), cwd=tmp_path)
    assert detected.returncode == 0 and detected.stdout.startswith(f"{image}\t"), detected.stderr
    repaired = genforge("repair", str(vae(tmp_path / "vae")), str(image), "--mask", "4,4,12,12", cwd=tmp_path)
    assert repaired.returncode == 0 and (tmp_path / "repaired.png").is_file(), repaired.stderr
    translated = genforge("translate", str(translator(tmp_path / "cyc")), str(image), cwd=tmp_path)
    assert translated.returncode == 0 and (tmp_path / "translated.png").is_file(), translated.stderr


@pytest.mark.slow
def test_a_diverged_run_prints_one_line_and_registers_nothing(workspace, digits_source):
    """`genforge run` with a learning rate that blows the GAN up: the train task raises TrainingDiverged, Prefect
    hands it back out of the flow, the CLI prints it as its one error line (no traceback from Prefect's logs either)
    and exits 2; promote never ran, so the registry holds no version."""
    from mlflow import MlflowClient
    from tests.flows.conftest import write_config

    config = write_config(workspace, digits_source, "diverge", {"train": {"lr": 1e20}})
    result = genforge("run", config, "--root", str(workspace), cwd=workspace)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "Error logging to API" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: training diverged at step 1: g_loss is nan (lower train.lr or check the data)"]
    assert result.stderr.strip().splitlines()[-1] == errors[0]
    client = MlflowClient(f"sqlite:///{workspace}/mlflow/mlflow.db", f"sqlite:///{workspace}/mlflow/mlflow.db")
    assert client.search_model_versions() == [] and client.search_registered_models() == []
