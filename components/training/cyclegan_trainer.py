"""CycleGAN training (Zhu et al. 2017): LSGAN + cycle + identity losses, two generators, two PatchGAN critics.

Unpaired: each domain is shuffled with its own seeded permutation per epoch, so a batch of A and the batch of B it
is trained beside hold unrelated emoji; the name correspondence (the shards' labels) is never read here.
Seeded, checkpointed every epoch (atomically), resumable to the same weights.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from components import checkpoints
from components.config import CycleGANConfig, PipelineConfig
from components.models.cyclegan import PatchDiscriminator, ResnetGenerator, init_weights
from components.models.tensors import to_tensor_rgb
from components.training.loop import EpochTrainer

SAMPLE_INPUTS = 8  # fixed held-out A images behind the per-epoch sample grid (each followed by its translation)


def load_generators(checkpoint: str | Path, device: str | torch.device = "cpu") -> tuple[ResnetGenerator, ...]:
    """(G_AB, G_BA) rebuilt from a checkpoint alone: the checkpoint embeds its config."""
    state = checkpoints.load_family(checkpoint, "cyclegan", device)
    model = CycleGANConfig.model_validate(state["config"]["model"])
    out = []
    for key in ("g_ab", "g_ba"):
        generator = ResnetGenerator(model).to(device)
        generator.load_state_dict(state[key])
        out.append(generator.eval())
    return tuple(out)


def _permutation(n: int, seed: int, epoch: int, domain: int) -> torch.Tensor:
    """The order of one domain in one epoch: depends on (seed, epoch, domain) only, so a resumed run sees the same
    batches, and the two domains' orders are unrelated."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch * 2 + domain))


class CycleGANTrainer(EpochTrainer):
    family = "cyclegan"
    images_per_step = 2  # one A and one B image per batch element

    def __init__(
        self,
        cfg: PipelineConfig,
        images_a: np.ndarray,
        images_b: np.ndarray,
        checkpoint_dir: Path,
        on_log: Callable[[dict], None] | None = None,
        on_epoch: Callable[[int, np.ndarray], None] | None = None,
        sample_inputs: np.ndarray | None = None,
    ):
        """images_a, images_b: uint8 (N, 64, 64, 3) of each domain (any order, any pairing: they are shuffled
        independently). sample_inputs: uint8 A images shown with their translations after each epoch."""
        t = cfg.train
        super().__init__(cfg, checkpoint_dir, on_log, on_epoch)
        self.a = to_tensor_rgb(images_a[: t.train_subset]).to(self.device)
        self.b = to_tensor_rgb(images_b[: t.train_subset]).to(self.device)
        if min(len(self.a), len(self.b)) == 0:
            raise ValueError("CycleGAN needs images of both domains: one of them is empty")
        self.G_AB, self.G_BA = (ResnetGenerator(cfg.model).to(self.device) for _ in range(2))
        self.D_A, self.D_B = (PatchDiscriminator(cfg.model).to(self.device) for _ in range(2))
        for net in (self.G_AB, self.G_BA, self.D_A, self.D_B):
            net.apply(init_weights)
        betas = (t.beta1, t.beta2)
        self.opt_g = torch.optim.Adam([*self.G_AB.parameters(), *self.G_BA.parameters()], lr=t.lr, betas=betas)
        self.opt_d = torch.optim.Adam([*self.D_A.parameters(), *self.D_B.parameters()], lr=t.lr, betas=betas)
        fixed = sample_inputs if sample_inputs is not None else images_a
        self.fixed_a = to_tensor_rgb(fixed[:SAMPLE_INPUTS]).to(self.device)
        self.mse, self.l1 = nn.MSELoss(), nn.L1Loss()

    @property
    def batch_size(self) -> int:
        return min(self.cfg.train.batch_size, len(self.a), len(self.b))

    def steps_per_epoch(self) -> int:
        return min(len(self.a), len(self.b)) // self.batch_size

    def start_epoch(self, epoch: int) -> None:
        self.order_a = _permutation(len(self.a), self.cfg.seed, epoch, 0)
        self.order_b = _permutation(len(self.b), self.cfg.seed, epoch, 1)

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.opt_g, self.opt_d]

    def state(self) -> dict:
        return {
            "g_ab": self.G_AB.state_dict(),
            "g_ba": self.G_BA.state_dict(),
            "d_a": self.D_A.state_dict(),
            "d_b": self.D_B.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
        }

    def restore(self, state: dict) -> None:
        for net, key in ((self.G_AB, "g_ab"), (self.G_BA, "g_ba"), (self.D_A, "d_a"), (self.D_B, "d_b")):
            net.load_state_dict(state[key])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])

    def begin(self) -> None:
        for net in (self.G_AB, self.G_BA, self.D_A, self.D_B):
            net.train()

    def samples(self) -> np.ndarray:
        """(2·k, 3, 64, 64) in [-1, 1]: each fixed A input followed by G_AB of it."""
        self.G_AB.eval()
        with torch.no_grad():
            out = self.G_AB(self.fixed_a)
        self.G_AB.train()
        return torch.stack([self.fixed_a, out], dim=1).flatten(0, 1).cpu().numpy()

    def _lr(self, step: int, total: int) -> float:
        """Constant, then linear decay to 0 over the last (1 - decay_from) of the steps: a function of the step
        alone, so resuming needs no scheduler state."""
        t = self.cfg.train
        start = t.decay_from * total
        if step < start or total - start <= 0:
            return t.lr
        return t.lr * (total - step) / (total - start)

    def train_step(self, index: int, total: int):
        t, bs, mse, l1 = self.cfg.train, self.batch_size, self.mse, self.l1
        lr = self._lr(self.step, total)
        for opt in (self.opt_g, self.opt_d):
            for group in opt.param_groups:
                group["lr"] = lr
        real_a = self.a[self.local(self.order_a[index * bs : (index + 1) * bs]).to(self.device)]
        real_b = self.b[self.local(self.order_b[index * bs : (index + 1) * bs]).to(self.device)]

        # (1) Generators: fool both critics (LSGAN: push D(fake) to 1), cycle back, leave targets alone.
        self.opt_g.zero_grad(set_to_none=True)
        fake_b, fake_a = self.G_AB(real_a), self.G_BA(real_b)
        p_b, p_a = self.D_B(fake_b), self.D_A(fake_a)
        adversarial = mse(p_b, torch.ones_like(p_b)) + mse(p_a, torch.ones_like(p_a))
        cycle = l1(self.G_BA(fake_b), real_a) + l1(self.G_AB(fake_a), real_b)
        identity = (
            l1(self.G_AB(real_b), real_b) + l1(self.G_BA(real_a), real_a)
            if t.lambda_identity > 0
            else torch.zeros((), device=self.device)
        )
        g_loss = adversarial + t.lambda_cycle * cycle + t.lambda_identity * identity
        g_loss.backward()
        self.opt_g.step()

        # (2) Critics: real → 1, fake → 0, halved so D learns at half G's rate (as in the paper).
        self.opt_d.zero_grad(set_to_none=True)
        d_loss = 0.0
        for critic, real, fake in ((self.D_A, real_a, fake_a), (self.D_B, real_b, fake_b)):
            p_real, p_fake = critic(real), critic(fake.detach())
            real_term, fake_term = mse(p_real, torch.ones_like(p_real)), mse(p_fake, torch.zeros_like(p_fake))
            d_loss = d_loss + 0.5 * (real_term + fake_term)
        d_loss.backward()
        self.opt_d.step()

        def extras() -> dict[str, float]:
            return {"identity": identity.item(), "adversarial": adversarial.item(), "lr": lr}

        return {"g_loss": g_loss.item(), "d_loss": d_loss.item(), "cycle": cycle.item()}, extras
