"""Scoring the sentence VAE: the held-out ELBO bound per character, KL and active units (is z used?), prior samples,
latent interpolations between held-out sentences, the text C2ST and memorisation the GPT family computes."""

from __future__ import annotations

import json

import numpy as np
import torch

from components.evaluation.latent import active_units
from components.evaluation.text_metrics import memorisation, text_c2st
from components.families.vae_text.model import TextVAE
from components.metrics import CI_HIGH, CI_LOW
from components.text.sentences import BOS, EOS, PAD, Vocab

ELBO_SEED = 31_337
ELBO_SAMPLES = 4
PATH_POINTS = 7  # sentences along an interpolation, both ends included


@torch.no_grad()
def heldout_terms(vae: TextVAE, tokens: np.ndarray, lengths: np.ndarray, batch: int = 256) -> tuple[np.ndarray, ...]:
    """Per sentence: (−E_q log p(x | z) in nats over ELBO_SAMPLES fixed draws, KL in nats, posterior mean)."""
    device = next(vae.parameters()).device
    noise = torch.Generator().manual_seed(ELBO_SEED)
    recon, kl, means = [], [], []
    latent = vae.encoder.latent_dim
    for i in range(0, len(tokens), batch):
        t = torch.from_numpy(tokens[i : i + batch]).to(device)
        n = torch.from_numpy(lengths[i : i + batch]).to(device)
        draws = [torch.randn(len(t), latent, generator=noise).to(device) for _ in range(ELBO_SAMPLES)]
        r = sum(vae.terms(t, n, eps)[0] for eps in draws) / ELBO_SAMPLES
        recon.append(r.cpu().numpy())
        kl.append(vae.terms(t, n, draws[0])[1].sum(dim=1).cpu().numpy())
        width = int(n.max()) + 2
        means.append(vae.encoder.split(t[:, 1 : width - 1], n)[0].cpu().numpy())
    return (np.concatenate(recon).astype(np.float64), np.concatenate(kl).astype(np.float64), np.concatenate(means))


@torch.no_grad()
def decode(vae: TextVAE, z: np.ndarray, max_chars: int, temperature: float, seed: int) -> list[list[int]]:
    """Token ids of one sentence per latent, sampled left to right (greedy at temperature 0) until EOS."""
    device = next(vae.parameters()).device
    gen = torch.Generator().manual_seed(seed)  # draws on the CPU: the same sentences on any device
    zt = torch.from_numpy(np.asarray(z, np.float32)).to(device)
    x = torch.full((len(z), 1), BOS, dtype=torch.long, device=device)
    done = torch.zeros(len(z), dtype=torch.bool)
    for _ in range(max_chars + 1):
        logits = vae.decoder(x, zt)[:, -1].double().cpu()
        logits[:, [PAD, BOS]] = float("-inf")
        if temperature == 0:
            nxt = logits.argmax(dim=1, keepdim=True)
        else:
            nxt = torch.multinomial((logits / temperature).softmax(dim=1), 1, generator=gen)
        nxt[done] = PAD
        x = torch.cat([x, nxt.to(device)], dim=1)
        done |= nxt[:, 0] == EOS
        if done.all():
            break
    return [row[1:].tolist() for row in x.cpu()]


def interpolate(vae: TextVAE, vocab: Vocab, a: np.ndarray, b: np.ndarray, max_chars: int) -> list[str]:
    """Greedy sentences at PATH_POINTS evenly spaced points from latent a to latent b."""
    weights = np.linspace(0.0, 1.0, PATH_POINTS)[:, None]
    path = ((1 - weights) * a[None] + weights * b[None]).astype(np.float32)
    return [vocab.decode(ids) for ids in decode(vae, path, max_chars, 0.0, 0)]


def evaluate(
    vae: TextVAE, vocab: Vocab, cfg, train_sentences: list[str], held_sentences: list[str]
) -> tuple[dict[str, float], dict[str, tuple[float, float]], dict[str, str]]:
    """(metrics, intervals, text files) of a trained sentence VAE on held-out sentences."""
    e, max_chars = cfg.evaluation, cfg.model.max_chars
    tokens, lengths = vocab.encode(held_sentences, max_chars + 2)
    recon, kl, means = heldout_terms(vae, tokens, lengths)
    chars = float(lengths.sum())
    per_char = (recon + kl).sum() / chars
    # Interval of the ratio of sums by the delta method over sentences (the per-sentence terms are not i.i.d. in
    # length): var ≈ var(nll_i − r·n_i) · N / (Σ n_i)².
    residual = (recon + kl) - per_char * lengths
    half = 1.96 * np.sqrt(residual.var(ddof=1) * len(residual)) / chars
    unknown = float((tokens == 3).sum() / chars)
    metrics = {
        "heldout_nats_per_char": float(per_char),
        "heldout_recon_nats_per_char": float(recon.sum() / chars),
        "kl_per_sentence": float(kl.mean()),
        "active_units": float(active_units(means)),
        "heldout_sentences": float(len(held_sentences)),
        "heldout_unknown_char_share": unknown,
    }
    ci = {"heldout_nats_per_char": (float(per_char - half), float(per_char + half))}
    metrics |= {"heldout_nats_per_char" + CI_LOW: ci["heldout_nats_per_char"][0],
                "heldout_nats_per_char" + CI_HIGH: ci["heldout_nats_per_char"][1]}  # fmt: skip

    rng = np.random.default_rng(e.seed)
    z = rng.standard_normal((e.num_samples, vae.encoder.latent_dim)).astype(np.float32)
    samples = [vocab.decode(ids) for ids in decode(vae, z, max_chars, e.temperature, e.seed)]
    train_set = set(train_sentences)
    metrics["exact_copy_fraction"] = float(np.mean([s in train_set for s in samples]))
    metrics["mean_sample_chars"] = float(np.mean([len(s) for s in samples]))
    metrics |= memorisation("\n".join(train_sentences), samples, e.memorisation_ngram)
    order = rng.permutation(len(held_sentences))
    real = [held_sentences[i] for i in order[: len(samples)]]
    try:
        result = text_c2st(real, samples, seed=e.seed)
        metrics |= {"c2st_auc": result.auc, "c2st_accuracy": result.accuracy, "c2st_p_value": result.p_value}
    except ValueError:
        pass

    paths = []
    for k in range(min(e.interpolations, len(order) // 2)):
        i, j = order[2 * k], order[2 * k + 1]
        line = interpolate(vae, vocab, means[i], means[j], max_chars)
        paths.append(f"--- {held_sentences[i]}\n" + "".join(f"  {s}\n" for s in line) + f"--- {held_sentences[j]}\n")
    texts = {
        "samples.txt": "".join(f"{s}\n" for s in samples),
        "interpolations.txt": "\n".join(paths),
        "text_metrics.json": json.dumps({k: round(v, 6) for k, v in metrics.items()}, indent=2) + "\n",
    }
    return metrics, ci, texts
