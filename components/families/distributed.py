"""Data-parallel training of any family: `launch` (the train step's side) runs the family's ordinary `train` in
train.distributed.nproc_per_node processes per node under PyTorch's elastic launcher (torch.distributed.run, i.e.
torchrun, entered through `launcher_main`); `worker_main` is each process's side. How the processes stay one run
is in components/training/distributed.py and the shared loop.

Multi-node: run the same `genforge run` on every machine with train.distributed.nnodes and the same
rdzv_endpoint (HOST:PORT of a machine all can reach; torchrun's c10d rendezvous). Checkpoints are written by rank 0
on its machine; a resumed multi-node run needs the workspace on shared storage.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from components.config import PipelineConfig
from components.errors import UserError
from components.families import FAMILIES, parse_config
from components.families.base import Family, TrainJob
from components.refs import SourcesRef
from components.training.distributed import backend_for
from components.training.result import TrainResult


class DistributedTrainingFailed(UserError):
    """A process of a data-parallel run failed: the message says which and why; nothing is registered."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train(family: Family, cfg: PipelineConfig, job: TrainJob) -> TrainResult:
    """The family's training: in this process, or in train.distributed's processes when there are several."""
    if cfg.train.distributed.world_size == 1:
        return family.train(cfg, job)
    if not family.data_parallel:
        raise UserError(
            f"the {family.name} family does not train on the shared loop, so it cannot be split over processes: "
            "remove train.distributed from the config"
        )
    return launch(cfg, job)


def launch(cfg: PipelineConfig, job: TrainJob) -> TrainResult:
    """Run the family's training under torch.distributed.run with cfg.train.distributed; rank 0's log rows and
    per-epoch pictures reach job.on_log / job.on_epoch as they come. A failed process fails the whole run with
    DistributedTrainingFailed naming it (nothing half-written: rank 0's checkpoints are written atomically)."""
    d = cfg.train.distributed  # batch_size splits evenly: checked with the config
    with tempfile.TemporaryDirectory(prefix="genforge-ddp-") as tmp:
        channel = Path(tmp)
        spec = {
            "config": cfg.model_dump(mode="json"),
            "dataset_dir": str(job.dataset_dir),
            "checkpoint_dir": str(job.checkpoint_dir),
            "sources": None if job.sources is None else dataclasses.asdict(job.sources),
            "resume": job.resume,
            "channel": str(channel),
        }
        (channel / "spec.json").write_text(json.dumps(spec))
        endpoint = d.rdzv_endpoint or f"127.0.0.1:{_free_port()}"
        argv = [sys.executable, "-m", "components.families.distributed", "launch", f"--nnodes={d.nnodes}",
                f"--nproc-per-node={d.nproc_per_node}", "--rdzv-backend=c10d", f"--rdzv-endpoint={endpoint}",
                f"--rdzv-id={d.rdzv_id}", "--max-restarts=0", "-m", "components.families.distributed",
                str(channel / "spec.json")]  # fmt: skip
        env = {**os.environ, "OMP_NUM_THREADS": str(cfg.train.num_threads)}
        process = subprocess.Popen(argv, env=env)
        events = channel / "events.jsonl"
        read = 0
        while True:
            code = process.poll()
            read = _forward(events, read, job)
            if code is not None:
                break
            time.sleep(0.5)
        _forward(events, read, job)
        if code != 0:
            errors = sorted(channel.glob("error-rank*.txt"))
            why = errors[0].read_text().strip() if errors else f"torch.distributed.run exited with code {code}"
            who = errors[0].stem.removeprefix("error-") if errors else "a process"
            raise DistributedTrainingFailed(
                f"distributed training failed ({who} of {d.world_size}): {why}; nothing was registered"
            )
        done = json.loads((channel / "result.json").read_text())
    return TrainResult(Path(done["checkpoint"]), done["epochs_done"], done["steps"], done["seconds"], done["history"])


def _forward(events: Path, offset: int, job: TrainJob) -> int:
    """Pass the complete lines written since `offset` to the job's callbacks; the new offset."""
    if not events.is_file():
        return offset
    with open(events, "rb") as handle:
        handle.seek(offset)
        data = handle.read()
    end = data.rfind(b"\n") + 1
    for line in data[:end].splitlines():
        event = json.loads(line)
        if event["kind"] == "log":
            job.on_log(event["row"])
        else:
            job.on_epoch(event["epoch"], np.load(event["path"], allow_pickle=False))
    return offset + end


def worker_main(spec_path: str) -> None:
    """One process of the run (started by torch.distributed.run): join the group, run the family's `train`; rank 0
    passes its log rows and pictures back through files in the channel folder, and its result. A process that fails
    writes error-rank<N>.txt (one line) for the launcher, and exits 1."""
    spec = json.loads(Path(spec_path).read_text())
    channel = Path(spec["channel"])
    rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
    try:
        cfg = parse_config(spec["config"])
        if cfg.train.device != "cpu" and torch.cuda.is_available():
            torch.cuda.set_device(local_rank)  # "cuda" is this process's own GPU from here on
        dist.init_process_group(backend_for(cfg.train.distributed.backend, cfg.train.device))
        events = channel / "events.jsonl"

        def emit(event: dict) -> None:
            with open(events, "a") as handle:
                handle.write(json.dumps(event) + "\n")

        def on_epoch(epoch: int, samples: np.ndarray) -> None:
            path = channel / f"epoch-{epoch:04d}.npy"
            np.save(path, samples)
            emit({"kind": "epoch", "epoch": epoch, "path": str(path)})

        sources = spec["sources"]
        job = TrainJob(
            Path(spec["dataset_dir"]),
            Path(spec["checkpoint_dir"]),
            None if sources is None else SourcesRef(**{**sources, "snapshots": tuple(sources["snapshots"])}),
            on_log=lambda row: emit({"kind": "log", "row": row}),
            on_epoch=on_epoch,
            resume=spec["resume"],
        )
        result = FAMILIES[cfg.family].train(cfg, job)
        if rank == 0:
            done = {"checkpoint": str(result.checkpoint), "epochs_done": result.epochs_done, "steps": result.steps,
                    "seconds": result.seconds, "history": result.history}  # fmt: skip
            (channel / "result.json").write_text(json.dumps(done))
        dist.destroy_process_group()
    except Exception as exc:
        message = str(exc) if isinstance(exc, (UserError, ValueError)) else f"{type(exc).__name__}: {exc}"
        (channel / f"error-rank{rank}.txt").write_text(" ".join(message.split()) + "\n")
        if not isinstance(exc, (UserError, ValueError)):
            raise  # a bug: its traceback in this process's output
        sys.exit(1)


def launcher_main(args: list[str]) -> None:
    """torch.distributed.run's own main; a failed process is reported by the launcher's caller from the error
    files, so the launcher's ChildFailedError traceback is not printed again."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import main as torchrun

    try:
        torchrun(args)
    except ChildFailedError:
        sys.exit(1)


if __name__ == "__main__":
    if sys.argv[1] == "launch":
        launcher_main(sys.argv[2:])
    else:
        worker_main(sys.argv[1])
