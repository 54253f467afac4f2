"""Data-parallel training on PyTorch's elastic launcher: the train step runs `python -m torch.distributed.run`
(`torchrun`), whose processes each run the family's ordinary `train` (components/families/distributed.py starts
them); the shared loop (components/training/loop.py) makes them one run with the helpers below.

How a run stays one run, whatever the world size:
- every process seeds the same, so the networks start identical and draw the same global batch of indices, noise
  and windows; each takes its own contiguous share of it (`Trainer.local`): the shards of one batch are disjoint
  and together are the batch a single process would take (DistributedSampler's contract, on our seeded per-epoch
  order, so a 1-process run is unchanged);
- before each optimiser step the gradients are averaged over the processes (`average_gradients`, an optimiser
  step pre-hook: one all-reduce per parameter tensor). The mean of per-shard mean losses is the global mean, so
  2 processes with half the batch each take the same steps as 1 process (to float summation order). A hook
  instead of the DistributedDataParallel wrapper because a GAN step runs the discriminator three times and
  steps two optimisers: DDP's reducer fires on every backward and would need find_unused_parameters/no_sync
  juggling for the same arithmetic;
- BatchNorm normalises over each process's share (PyTorch's SyncBatchNorm runs on GPUs only): a family with
  batch statistics gets results that depend on the world size, so its cache key includes it
  (Family.batch_statistics);
- rank 0 alone logs, draws the per-epoch picture and writes checkpoints; the logged losses are averaged over the
  processes first.
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def rank_and_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def average_gradients(optimizer: torch.optim.Optimizer, world: int) -> None:
    """Average every gradient the optimiser is about to apply over the `world` processes, right before each step."""

    def hook(opt, args, kwargs):
        for group in opt.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
                    p.grad.div_(world)

    optimizer.register_step_pre_hook(hook)


def average_stats(stats: dict[str, float], world: int) -> dict[str, float]:
    """The losses of one step averaged over the processes (what one process with the whole batch would log)."""
    on = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else None  # NCCL: GPU only
    values = torch.tensor(list(stats.values()), dtype=torch.float64, device=on)
    dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return dict(zip(stats, (values / world).tolist(), strict=True))


def backend_for(choice: str, device: str) -> str:
    if choice != "auto":
        return choice
    return "nccl" if device != "cpu" and torch.cuda.is_available() else "gloo"
