"""The speech VAE's train and evaluate steps: waveform shards → spectrograms → the trainer / the evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from components import audio
from components.data.shards import load_split
from components.evaluation.result import Evaluation
from components.families.base import EvalJob, TrainJob
from components.families.vae_audio import evaluation
from components.families.vae_audio.config import AudioVAEPipelineConfig
from components.families.vae_audio.trainer import AudioVAETrainer, load_audio_vae
from components.models.tensors import pick_device
from components.training.result import TrainResult


def spectrograms(dataset_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(log-magnitude spectrograms (N, 128, 128) float32, language labels (N,)) of a split's clips."""
    waves, labels = load_split(dataset_dir, split)
    feats = np.concatenate([audio.log_magnitude(waves[i : i + 256]) for i in range(0, len(waves), 256)])
    return feats, labels


def train(cfg: AudioVAEPipelineConfig, job: TrainJob) -> TrainResult:
    x, _ = spectrograms(job.dataset_dir, "train")
    trainer = AudioVAETrainer(cfg, x, job.checkpoint_dir, on_log=job.on_log, on_epoch=job.on_epoch)
    return trainer.fit(resume=job.resume)


def evaluate(cfg: AudioVAEPipelineConfig, job: EvalJob) -> Evaluation:
    torch.set_num_threads(cfg.train.num_threads)
    vae = load_audio_vae(job.checkpoint, pick_device(cfg.train.device))
    train, test = spectrograms(job.dataset_dir, "train"), spectrograms(job.dataset_dir, "test")
    names = json.loads((Path(job.dataset_dir) / "meta.json").read_text())["files"]["test"]
    metrics, ci, pictures, media = evaluation.evaluate(vae, cfg, train, test, names, job.dataset_md5, job.cache_dir)
    return Evaluation(metrics, ci, pictures=pictures, media=media)
