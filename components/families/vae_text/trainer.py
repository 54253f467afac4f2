"""Training of the sentence VAE on the shared loop: the negative ELBO with the KL weight annealed from 0 to 1 and
word dropout (Bowman et al. 2016), seeded, checkpointed every epoch, resumable to the same weights."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from components import checkpoints
from components.families.vae_text.model import TextVAE, TextVAEConfig
from components.text.sentences import Vocab
from components.training.loop import EpochTrainer

FAMILY = "vae-text"


def load_text_vae(checkpoint: str | Path, device: str | torch.device = "cpu") -> tuple[TextVAE, Vocab]:
    state = checkpoints.load_family(checkpoint, FAMILY, device)
    vocab = Vocab(tuple(state["vocab"]))
    vae = TextVAE(TextVAEConfig.model_validate(state["config"]["model"]), vocab.size).to(device)
    vae.load_state_dict(state["vae"])
    return vae.eval(), vocab


class TextVAETrainer(EpochTrainer):
    family = FAMILY
    smooth_logs = True

    def __init__(
        self,
        cfg,
        vocab: Vocab,
        tokens: np.ndarray,
        lengths: np.ndarray,
        checkpoint_dir: Path,
        on_log: Callable[[dict], None] | None = None,
    ):
        super().__init__(cfg, checkpoint_dir, on_log, None)
        if len(tokens) == 0:
            raise ValueError("no training sentences: the train split holds none of the allowed length")
        self.vocab = vocab
        self.data = torch.from_numpy(tokens[: cfg.train.train_subset]).to(self.device)
        self.lengths = torch.from_numpy(lengths[: cfg.train.train_subset]).to(self.device)
        self.vae = TextVAE(cfg.model, vocab.size).to(self.device)
        self.opt = torch.optim.Adam(self.vae.parameters(), lr=cfg.train.lr)
        self.noise = torch.Generator(device=self.device).manual_seed(cfg.seed + 1)

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.opt]

    def state(self) -> dict:
        return {"vae": self.vae.state_dict(), "opt": self.opt.state_dict(), "noise_rng": self.noise.get_state(),
                "vocab": list(self.vocab.chars)}  # fmt: skip

    def restore(self, state: dict) -> None:
        self.vae.load_state_dict(state["vae"])
        self.opt.load_state_dict(state["opt"])
        self.noise.set_state(state["noise_rng"])

    def begin(self) -> None:
        self.vae.train()

    def samples(self) -> np.ndarray:  # no per-epoch picture: sentences are logged by the evaluation
        return np.zeros((0, 1, 1, 1), dtype=np.float32)

    def end_epoch(self, epoch: int) -> None:
        return None

    def kl_weight(self) -> float:
        warmup = self.cfg.train.kl_warmup_steps
        return 1.0 if warmup == 0 else min(1.0, self.step / warmup)

    def train_step(self, index: int, total: int):
        rows = self.batch_indices(index)
        eps = self.local(
            torch.randn(self.batch_size, self.cfg.model.latent_dim, generator=self.noise, device=self.device)
        )
        recon, kl_dims = self.vae.terms(
            self.data[rows], self.lengths[rows], eps, self.cfg.train.word_dropout, self.noise
        )
        beta = self.kl_weight()
        kl = kl_dims.sum(dim=1)
        charged = kl_dims.mean(dim=0).clamp(min=self.cfg.train.free_bits).sum()  # free bits, per dimension
        loss = recon.mean() + beta * charged
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.vae.parameters(), 1.0)
        self.opt.step()
        chars = self.lengths[rows].sum().item() + len(rows)
        return {"loss": loss.item(), "recon": recon.mean().item(), "kl": kl.mean().item(), "kl_weight": beta,
                "nats_per_char": (recon.sum() + kl.sum()).item() / chars}, dict  # fmt: skip
