import torch

from components.config import CycleGANConfig
from components.export.onnx_export import export_onnx, parity
from components.models.cyclegan import PatchDiscriminator, ResnetGenerator, init_weights

TINY = CycleGANConfig(g_features=8, d_features=8, res_blocks=2)


def _seeded(cls, cfg=TINY):
    torch.manual_seed(0)
    module = cls(cfg)
    module.apply(init_weights)
    return module.eval()


def test_shapes_and_range():
    g, d = _seeded(ResnetGenerator), _seeded(PatchDiscriminator)
    (x,) = g.example_inputs(3, seed=1)
    assert x.shape == (3, 3, 64, 64) and -1 <= x.min() and x.max() <= 1
    y = g(x)
    assert y.shape == (3, 3, 64, 64) and y.abs().max() <= 1
    assert d(y).shape == (3, 1, 14, 14)  # one logit per (overlapping) patch
    assert g.onnx_io() == ({"image": (-1, 3, 64, 64)}, {"images": (-1, 3, 64, 64)})
    assert (g.input_names, g.output_name) == (("image",), "images")


def test_golden_slice():
    """Seeded init + seeded inputs give these exact pixels; a change here changes every registered model."""
    g = _seeded(ResnetGenerator)
    with torch.no_grad():
        pixels = g(*g.example_inputs(1, seed=0))[0, :, 31, 30:33].flatten()
    expected = torch.tensor(GOLDEN)
    assert torch.allclose(pixels, expected, rtol=1e-4, atol=1e-7), pixels.tolist()


def test_default_size():
    g, d = ResnetGenerator(CycleGANConfig()), PatchDiscriminator(CycleGANConfig())
    assert sum(p.numel() for p in g.parameters()) == 494_083
    assert sum(p.numel() for p in d.parameters()) == 167_649


def test_onnx_export_matches_torch(tmp_path):
    """Instance norm and reflection padding export to ONNX (InstanceNormalization, Pad reflect) and match torch."""
    g = _seeded(ResnetGenerator)
    with torch.no_grad():  # trained-like weights: the N(0, 0.02) init alone leaves the output near 0
        for p in g.parameters():
            p.mul_(10)
    path = export_onnx(g, tmp_path / "g.onnx", g.example_inputs(2), g.input_names, g.output_name)
    assert parity(g, path, g.example_inputs(5, seed=123), g.input_names) <= 1e-4


GOLDEN = [
    -0.08211477845907211,
    -0.010972138494253159,
    0.3753471374511719,
    -0.19579415023326874,
    -0.3429662585258484,
    -0.14725135266780853,
    0.31818217039108276,
    -0.07366778701543808,
    0.23563140630722046,
]
