"""VAE: images from a latent prior and reconstructions, trained on the ELBO; scored by test ELBO / bits per
dimension, reconstruction error, image repair against two baselines, and the generators' FID/KID/C2ST on prior
samples (the same table as the GANs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from components import repair
from components.data.shards import load_split
from components.evaluation.evaluate import evaluate_generator
from components.evaluation.result import Evaluation
from components.families.base import EvalJob, TrainJob
from components.families.vae.config import VAEPipelineConfig
from components.images import grid, to_uint8
from components.models.tensors import to_tensor
from components.models.vae import VAE, VAEDecoder, bits_per_dim
from components.training.result import TrainResult
from components.training.vae_trainer import VAETrainer, load_vae

ELBO_SEED = 31_337  # fixed ε of the test-ELBO estimate: every version is scored on the same noise
ELBO_SAMPLES = 4  # z draws per test image in the ELBO estimate (unbiased for any number; more = less noise)
PANEL = 12  # images per row of the repair and reconstruction pictures


def train(cfg: VAEPipelineConfig, job: TrainJob) -> TrainResult:
    dataset_dir, checkpoint_dir = job.dataset_dir, job.checkpoint_dir
    on_log, on_epoch, resume = job.on_log, job.on_epoch, job.resume
    images, _ = load_split(dataset_dir, "train")
    return VAETrainer(cfg, images, checkpoint_dir, on_log=on_log, on_epoch=on_epoch).fit(resume=resume)


def load(checkpoint: str | Path) -> VAEDecoder:
    """The sampling graph (model.onnx): the decoder."""
    return load_vae(checkpoint).decoder


def extra_graphs(checkpoint: str | Path) -> dict[str, nn.Module]:
    """Exported beside model.onnx: encoder.onnx, images → posterior [mean | log-variance] (what repair needs)."""
    return {"encoder": load_vae(checkpoint).encoder}


def torch_codec(vae: VAE, batch: int = 1000) -> tuple[repair.Encode, repair.Decode]:
    """The VAE as the numpy callables of components.repair (the CLI wraps ONNX sessions the same way)."""

    @torch.no_grad()
    def encode(x: np.ndarray) -> np.ndarray:
        return np.concatenate(
            [vae.encoder.split(torch.from_numpy(x[i : i + batch]))[0].numpy() for i in range(0, len(x), batch)]
        )

    @torch.no_grad()
    def decode(z: np.ndarray) -> np.ndarray:
        return np.concatenate(
            [vae.decoder(torch.from_numpy(z[i : i + batch])).numpy() for i in range(0, len(z), batch)]
        )

    return encode, decode


@torch.no_grad()
def test_elbo(vae: VAE, x: torch.Tensor, batch: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Per image: (reconstruction term −E_q log p(x|z), KL) in nats, E_q over ELBO_SAMPLES seeded draws."""
    noise = torch.Generator().manual_seed(ELBO_SEED)
    recon, kl = [], []
    for i in range(0, len(x), batch):
        r, k = vae.terms(x[i : i + batch], noise, samples=ELBO_SAMPLES)
        recon.append(r.numpy())
        kl.append(k.numpy())
    return np.concatenate(recon).astype(np.float64), np.concatenate(kl).astype(np.float64)


def evaluate(model: VAEDecoder, cfg: VAEPipelineConfig, job: EvalJob) -> Evaluation:
    checkpoint, dataset_dir, dataset_md5, cache_dir = job.checkpoint, job.dataset_dir, job.dataset_md5, job.cache_dir
    result = evaluate_generator(model, dataset_dir, dataset_md5, cfg, cache_dir)
    vae = load_vae(checkpoint)
    test = load_split(dataset_dir, "test")[0]
    x = to_tensor(test)

    # Likelihood: the ELBO of every test image (nats), its bits per dimension, a 95 % interval of the mean.
    recon_nats, kl = test_elbo(vae, x)
    neg_elbo = recon_nats + kl
    half = 1.96 * neg_elbo.std(ddof=1) / np.sqrt(len(neg_elbo)) if len(neg_elbo) > 1 else 0.0
    encode, decode = torch_codec(vae)
    reconstructions = decode(encode(x.numpy()))
    recon_mse = float(np.mean(((reconstructions - x.numpy()) / 2.0) ** 2))  # [0, 1] pixel units

    # Repair: square holes in the first test images, seeded by the evaluation seed (never the training seed: every
    # version repairs the same holes); error inside the hole only, [0, 1] pixel units.
    r = cfg.repair
    n = min(r.num_images, len(test))
    originals = x[:n].numpy()
    boxes = repair.random_boxes(n, r.mask_size, seed=cfg.evaluation.seed)
    masks = np.stack([repair.box_mask(tuple(b)) for b in boxes])[:, None]
    by_mean = repair.mean_fill(originals, masks)
    by_patch, _ = repair.nearest_patch(originals, masks, load_split(dataset_dir, "train")[0])
    by_vae = repair.vae_repair(originals, masks, encode, decode, steps=r.steps)
    errors = {
        "repair_mse_vae": repair.masked_mse(by_vae, originals, masks),
        "repair_mse_mean_fill": repair.masked_mse(by_mean, originals, masks),
        "repair_mse_nn_patch": repair.masked_mse(by_patch, originals, masks),
    }

    metrics = {
        **result.metrics,
        "test_elbo": float(-neg_elbo.mean()),
        "test_bpd": bits_per_dim(float(neg_elbo.mean())),
        "test_bpd_ci_low": bits_per_dim(float(neg_elbo.mean() - half)),
        "test_bpd_ci_high": bits_per_dim(float(neg_elbo.mean() + half)),
        "test_recon_nats": float(recon_nats.mean()),
        "test_kl_nats": float(kl.mean()),
        "recon_mse": recon_mse,
        **errors,
        "repair_gain_over_mean_fill": errors["repair_mse_mean_fill"] - errors["repair_mse_vae"],
        "repair_num_images": float(n),
        "repair_mask_size": float(r.mask_size),
    }
    ci = {**result.ci, "test_bpd": (metrics["test_bpd_ci_low"], metrics["test_bpd_ci_high"])}

    k = min(PANEL, n)
    shown, rebuilt = to_uint8(x[: 2 * PANEL].numpy()), to_uint8(reconstructions[: 2 * PANEL])
    # Rows: test images above their reconstructions, twice.
    recon_panel = np.concatenate([shown[:PANEL], rebuilt[:PANEL], shown[PANEL:], rebuilt[PANEL:]])
    repair_panel = np.concatenate(
        [
            to_uint8(rows[:k])
            for rows in (originals, repair.masked_view(originals, masks), by_mean, by_patch, by_vae)  # one row each
        ]
    )
    pictures = {
        **result.pictures,
        "reconstructions": grid(recon_panel, ncol=PANEL),
        "repairs": grid(repair_panel, ncol=k),
    }
    return Evaluation(metrics, ci, pictures=pictures, roc=result.roc, extras=result.extras)
