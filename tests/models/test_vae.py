import math

import numpy as np
import pytest
import torch

from components.config import VAEConfig
from components.export.onnx_export import export_onnx, parity
from components.models.vae import VAE, bits_per_dim, discretised_logistic_log_prob, seeded_images

CFG = VAEConfig(latent_dim=6, features=8)


def _seeded() -> VAE:
    torch.manual_seed(0)
    return VAE(CFG).eval()


def test_shapes_and_range():
    vae = _seeded()
    (z,) = vae.decoder.example_inputs(3)
    x = vae.decoder(z)
    assert z.shape == (3, 6) and x.shape == (3, 1, 28, 28) and x.abs().max() <= 1
    assert vae.encoder(x).shape == (3, 12)  # [mean | log-variance]
    mean, logvar = vae.encoder.split(x)
    assert mean.shape == logvar.shape == (3, 6)
    loc, log_scale = vae.decoder.params(z)
    assert torch.equal(loc, x) and log_scale.shape == (3, 1, 28, 28) and log_scale.min() >= -7
    recon, kl = vae.terms(x, torch.Generator().manual_seed(0))
    assert recon.shape == kl.shape == (3,) and (kl >= 0).all() and torch.isfinite(recon).all()


def test_golden_slice():
    """Seeded init + seeded latents give these exact pixels and posterior; a change here changes every model."""
    vae = _seeded()
    with torch.no_grad():
        pixels = vae.decoder(*vae.decoder.example_inputs(1, seed=0))[0, 0, 13, 10:16]
        posterior = vae.encoder(*vae.encoder.example_inputs(1, seed=0))[0, :4]
    assert torch.allclose(pixels, torch.tensor(GOLDEN_PIXELS), rtol=1e-4, atol=1e-6), pixels.tolist()
    assert torch.allclose(posterior, torch.tensor(GOLDEN_POSTERIOR), rtol=1e-4, atol=1e-6), posterior.tolist()


@pytest.mark.parametrize("loc, log_scale", [(0.3, -3.0), (-1.0, -7.0), (1.0, -7.0), (0.99, -1.0), (-0.5, 2.0)])
def test_likelihood_is_a_distribution_over_the_256_grey_levels(loc, log_scale):
    levels = torch.arange(256, dtype=torch.float64) / 127.5 - 1
    log_p = discretised_logistic_log_prob(levels, torch.full_like(levels, loc), torch.full_like(levels, log_scale))
    assert torch.isfinite(log_p).all()
    assert abs(log_p.exp().sum().item() - 1) < 1e-9


def test_sharp_likelihood_puts_all_mass_on_the_location_level():
    """A pixel predicted at its own grey level with the smallest scale costs almost nothing."""
    x = torch.tensor([-1.0, 100 / 127.5 - 1, 1.0], dtype=torch.float64)
    log_p = discretised_logistic_log_prob(x, x.clone(), torch.full_like(x, -7.0))
    assert log_p.abs().max() < 0.03  # the bin holds σ(e⁷/255) − σ(−e⁷/255) = 97 % of the mass


def test_bits_per_dim_of_a_uniform_model_is_8():
    assert bits_per_dim(784 * math.log(256)) == pytest.approx(8.0)


def test_both_graphs_export_with_parity(tmp_path):
    vae = _seeded()
    for name, graph in (("model", vae.decoder), ("encoder", vae.encoder)):
        example = graph.example_inputs(2)
        path = export_onnx(graph, tmp_path / f"{name}.onnx", example, graph.input_names, graph.output_name)
        for batch in (1, 16):
            assert parity(graph, path, graph.example_inputs(batch, seed=123), graph.input_names) <= 1e-4, name
    inputs, outputs = vae.encoder.onnx_io()
    assert inputs == {"images": (-1, 1, 28, 28)} and outputs == {"posterior": (-1, 12)}
    assert vae.decoder.onnx_io() == ({"z": (-1, 6)}, {"images": (-1, 1, 28, 28)})
    assert np.all(np.abs(seeded_images(2, 0).numpy()) <= 1)


GOLDEN_PIXELS = [5.83735e-02, -2.40671e-02, -1.140686e-01, 8.962507e-02, 2.408493e-02, 4.449305e-03]
GOLDEN_POSTERIOR = [-2.500926e-02, -2.696198e-02, 2.118558e-02, 9.378262e-02]
