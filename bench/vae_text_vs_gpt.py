"""The sentence VAE's ELBO bound beside the GPT's loss, on the same held-out sentences (issue 14).

Both registered champions score every held-out People's Daily sentence of 4–40 characters, each sentence alone
(the GPT gets no preceding text, as the VAE gets none), and each pays for the sentence's end (the VAE's EOS, the
GPT's end-of-text token). Printed: nats per character of each — the VAE's is an upper bound (−ELBO), the GPT's an
exact likelihood — and their difference. The GPT is expected to win: a left-to-right model of the same size spends
all its capacity on the next character, the VAE also squeezes each sentence through 32 numbers.
Needs both champions (`genforge run configs/gpt-peoplesdaily.yaml`, `genforge run configs/vae-news-zh.yaml`).
Run: .venv/bin/python bench/vae_text_vs_gpt.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import torch
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).parent.parent))
from components import tracking  # noqa: E402
from components.data.text_dataset import load_documents  # noqa: E402
from components.families.gpt import steps as gpt_steps  # noqa: E402
from components.families.vae_text.evaluation import heldout_terms  # noqa: E402
from components.families.vae_text.trainer import load_text_vae  # noqa: E402
from components.registry.registry import final_checkpoint  # noqa: E402
from components.text.sentences import sentences  # noqa: E402
from components.workspace import Workspace  # noqa: E402


@torch.no_grad()
def gpt_nats(model, tokenizer, texts: list[str], batch: int = 128) -> float:
    """Σ −log p of every token after a leading end-of-text, the closing end-of-text included, over the sentences."""
    eot, total = tokenizer.eot_id, 0.0
    rows = [[eot, *tokenizer.encode(t), eot] for t in texts]
    for i in range(0, len(rows), batch):
        chunk = rows[i : i + batch]
        width = max(map(len, chunk))
        x = torch.full((len(chunk), width), eot, dtype=torch.long)
        mask = torch.zeros((len(chunk), width - 1), dtype=torch.bool)
        for r, ids in enumerate(chunk):
            x[r, : len(ids)] = torch.tensor(ids)
            mask[r, : len(ids) - 1] = True
        logits = model(x[:, :-1])
        nll = F.cross_entropy(logits.flatten(0, 1), x[:, 1:].flatten(), reduction="none").view(mask.shape)
        total += float(nll[mask].sum())
    return total


def main() -> None:
    ws = Workspace.at(None)
    ws.apply_environment()
    client = tracking.configure(ws)
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        vae, vocab = load_text_vae(final_checkpoint(client, "vae-text-peoplesdaily@champion", Path(tmp) / "vae"))
        gpt_state = final_checkpoint(client, "gpt-peoplesdaily@champion", Path(tmp) / "gpt")
        gpt, tokenizer = gpt_steps.load(gpt_state).eval(), gpt_steps.tokenizer_of(gpt_steps._read(gpt_state))
        max_chars = vae.decoder.max_seq - 1
        held = sentences(load_documents(ws.root / "data" / "peoplesdaily", "held_out"), max_chars)
        tokens, lengths = vocab.encode(held, max_chars + 2)
        chars = float(lengths.sum())
        recon, kl, _ = heldout_terms(vae, tokens, lengths)
        vae_rate = float((recon + kl).sum() / chars)
        gpt_rate = gpt_nats(gpt, tokenizer, held) / chars
    print(f"held-out sentences: {len(held):,} ({int(chars):,} characters, 4–{max_chars} each)")
    print(f"sentence VAE  −ELBO  {vae_rate:.3f} nats/char  (of which KL {kl.sum() / chars:.3f})")
    print(f"GPT           −log p {gpt_rate:.3f} nats/char")
    print(f"difference (VAE − GPT): {vae_rate - gpt_rate:+.3f} nats/char")


if __name__ == "__main__":
    main()
