"""GPT: a self-attention language model, pretrained on a corpus or fine-tuned from a registered one.

Pretrain (`sources.model` unset, e.g. configs/gpt-sotu.yaml): a byte-level BPE tokenizer is trained on the train
split, then a GPT from random weights. Fine-tune (`sources.model: gpt-sotu`, configs/gpt-moby.yaml): the base's
champion is pulled through the registry (the final weight snapshot of its training run, with the tokenizer and
architecture it embeds; the base version becomes the train run's genforge.source_* tags), trained further on the new
corpus — and, for the headline gain, the same architecture is trained from scratch for the same steps on the same
data. The tokenizer always travels with the model: in every checkpoint, and as tokenizer.json beside model.onnx in
the registry (its sha256 is recorded in the graph and on the version).

Evaluation: held-out loss per character and perplexity; fixed-seed samples from a fixed prompt (samples.txt);
memorisation (longest verbatim run in the training text, share of copied character n-grams); a text C2ST (real
held-out continuations vs the model's continuations of the same prefixes); for a fine-tune, the gain over scratch
and the forgetting on the base corpus.
"""

from __future__ import annotations

import functools
import io
import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from components import checkpoints
from components.data.text_dataset import load_documents
from components.evaluation.result import Evaluation
from components.evaluation.text_metrics import memorisation, text_c2st
from components.families.base import EvalJob, TrainJob
from components.families.gpt.classifier import (
    classifier_from_state,
    evaluate_classifier,
    train_classifier,
)
from components.families.gpt.config import GPTPipelineConfig
from components.models.gpt import GPT, GPTClassifier, GPTConfig
from components.models.tensors import pick_device
from components.refs import SourcesRef
from components.serving_text import sample_ids
from components.text.likelihood import EncodedText, nats_per_char, perplexity
from components.text.tokenizer import BPETokenizer
from components.training.lm_trainer import NextTokenTrainer, held_out_nats_per_char, torch_logits_fn
from components.training.result import TrainResult

TOKENIZER_FILE = "tokenizer.json"


def needs_sources(cfg: GPTPipelineConfig) -> bool:
    """A fine-tune pulls its base model from the registry; a pretraining run needs nothing."""
    return cfg.sources.model is not None


# ---- checkpoints -------------------------------------------------------------------------------------------------


def _sha256_text(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def tokenizer_of(state: dict) -> BPETokenizer:
    return BPETokenizer.from_str(state["tokenizer"])


def _gpt(state: dict, key: str = "model", cls: type[GPT] = GPT) -> GPT:
    model = cls(GPTConfig(**state["gpt_config"]))
    model.load_state_dict(state[key])
    return model.eval()


def _read(checkpoint: str | Path) -> dict:
    """A checkpoint's state, loaded once per file version (a step asks for it several times: the model, the
    tokenizer file, the INT8 check). Shared between callers: read it, never change it."""
    path = Path(checkpoint).resolve()
    stat = path.stat()
    return _load(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=2)  # a fine-tune's own checkpoint and its base's
def _load(path: str, mtime_ns: int, size: int) -> dict:
    return checkpoints.load(path, "cpu")


# ---- train -------------------------------------------------------------------------------------------------------


def _start(cfg: GPTPipelineConfig, documents: list[str], sources: SourcesRef | None):
    """(base checkpoint or None, tokenizer, its JSON text, architecture): a base's own, else new ones."""
    if sources is None:
        tokenizer = BPETokenizer.train(documents, cfg.tokenizer.vocab_size, cfg.tokenizer.min_frequency)
        return (
            None,
            tokenizer,
            tokenizer.to_str(),
            GPTConfig(vocab_size=tokenizer.vocab_size, **cfg.model.model_dump()),
        )
    base = _read(sources.snapshots[-1])  # the base's final snapshot
    if base.get("family") != "gpt" or base.get("kind", "lm") != "lm":
        raise ValueError(f"{sources.model} v{sources.version} is not a GPT language model: cannot fine-tune it")
    return base, tokenizer_of(base), base["tokenizer"], GPTConfig(**base["gpt_config"])


def train(cfg: GPTPipelineConfig, job: TrainJob) -> TrainResult:
    """On the shared loop: `resume` continues from the last snapshot of each model this run trains."""
    dataset_dir, checkpoint_dir, sources = job.dataset_dir, job.checkpoint_dir, job.sources
    on_log = job.on_log
    started = time.perf_counter()
    torch.set_num_threads(cfg.train.num_threads)
    torch.manual_seed(cfg.seed)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    if not job.resume:
        for old in [*checkpoint_dir.glob("*.pt"), *checkpoint_dir.glob("resume/*.pt")]:
            old.unlink()
    documents = load_documents(dataset_dir, "train")
    base, tokenizer, tokenizer_json, gpt_config = _start(cfg, documents, sources)
    if cfg.task == "classify":
        return train_classifier(cfg, job, base, tokenizer_json, gpt_config, started)
    device = pick_device(cfg.train.device)
    ids = np.asarray(tokenizer.encode_documents(documents), dtype=np.int64)
    model = GPT(gpt_config)
    if base is not None:
        model.load_state_dict(base["model"])
    common = {
        "family": "gpt",
        "config": cfg.model_dump(mode="json"),
        "gpt_config": asdict(gpt_config),
        "tokenizer": tokenizer_json,
        "dataset": cfg.dataset,
        "train_tokens": len(ids),
        "train_chars": sum(map(len, documents)),
    }

    def snapshot(step: int) -> dict:
        return {**common, "model": {n: p.detach().cpu().clone() for n, p in model.state_dict().items()}, "step": step}

    run = NextTokenTrainer(model, ids, cfg.train, cfg.seed, common["config"], checkpoint_dir, on_log, snapshot,
                           device=device).fit(job.resume)  # fmt: skip
    history = run.history
    state = {**common, "model": model.cpu().state_dict(), "history": history, "steps": cfg.train.max_steps}
    state["tokens_seen"] = cfg.train.max_steps * cfg.train.batch_size * gpt_config.block_size
    state["params"] = model.num_params()
    if base is not None:
        state["base"] = base["model"]
        state["base_dataset"] = base["dataset"]
        state["sources"] = {"model": sources.model, "version": sources.version, "run_id": sources.run_id}
        if cfg.train.compare_scratch:
            torch.manual_seed(cfg.seed)
            scratch = GPT(gpt_config)
            NextTokenTrainer(scratch, ids, cfg.train, cfg.seed, common["config"], checkpoint_dir, on_log,
                             prefix="scratch_", device=device).fit(job.resume)  # fmt: skip
            state["scratch"] = scratch.cpu().state_dict()
    path = checkpoint_dir / "last.pt"
    checkpoints.save(path, state)
    return TrainResult(path, run.epochs_done, run.steps, time.perf_counter() - started, history)


# ---- load / export -----------------------------------------------------------------------------------------------


def load(checkpoint: str | Path) -> GPT | GPTClassifier:
    state = _read(checkpoint)
    if state.get("kind") == "classifier":
        model = classifier_from_state(state)
    else:
        model = _gpt(state)
    model.tokenizer_sha256 = _sha256_text(state["tokenizer"])
    return model


def extra_files(checkpoint: str | Path, out_dir: Path) -> list[Path]:
    """tokenizer.json, byte for byte the text whose sha256 the exported graph records."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / TOKENIZER_FILE
    path.write_bytes(_read(checkpoint)["tokenizer"].encode("utf-8"))
    return [path]


INT8_FILE = "model.int8.onnx"


def onnx_nats_per_char(path: Path, text: EncodedText, batch_size: int = 64) -> float:
    """Held-out loss per character of an exported logits graph, run by onnxruntime (float or quantised)."""
    from components.serving import session
    from components.serving_text import block_size

    sess = session(path)
    return nats_per_char(lambda x: sess.run(None, {"tokens": x})[0], text, block_size(sess), batch_size)


def export_variants(
    onnx_path: Path, checkpoint: str | Path, dataset_dir: Path, cfg: GPTPipelineConfig, out_dir: Path
) -> tuple[list[Path], dict[str, float]]:
    """A language model's INT8 graph (model.int8.onnx), kept only if its held-out loss per character exceeds the
    float graph's by less than cfg.export.int8_max_loss_increase; both losses are onnxruntime's, on the full
    held-out split. Returns (files to register beside model.onnx, metrics)."""
    from components.export.quantize import quantize_int8

    if not cfg.export.int8:
        return [], {}
    state = _read(checkpoint)
    if state.get("kind") == "classifier":
        return [], {}
    quantized = quantize_int8(onnx_path, Path(out_dir) / INT8_FILE)
    held = EncodedText.of(tokenizer_of(state), load_documents(dataset_dir, "held_out"))
    fp32, int8 = (onnx_nats_per_char(p, held, cfg.evaluation.eval_batch_size) for p in (onnx_path, quantized))
    kept = int8 - fp32 < cfg.export.int8_max_loss_increase
    metrics = {
        "int8_heldout_nats_per_char": int8,
        "int8_loss_increase": int8 - fp32,
        "int8_size_ratio": quantized.stat().st_size / Path(onnx_path).stat().st_size,
        "int8_registered": float(kept),
    }
    return ([quantized] if kept else []), metrics


# ---- evaluate ----------------------------------------------------------------------------------------------------


@torch.no_grad()
def continue_batch(
    model: GPT, prefixes: np.ndarray, n_tokens: int, temperature: float, top_k: int | None, seed: int
) -> np.ndarray:
    """Continue every row of prefixes (N, P) by n_tokens sampled tokens at once → (N, n_tokens)."""
    gen = torch.Generator().manual_seed(seed)  # sampled on the CPU: the same draws whatever device the model is on
    device = next(model.parameters()).device
    x = torch.from_numpy(np.asarray(prefixes, dtype=np.int64))
    for _ in range(n_tokens):
        logits = model(x[:, -model.block_size :].to(device))[:, -1].double().cpu()
        if temperature == 0:
            nxt = logits.argmax(dim=-1, keepdim=True)
        else:
            logits = logits / temperature
            if top_k is not None and top_k < logits.shape[-1]:
                kth = logits.topk(top_k, dim=-1).values[:, -1:]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            nxt = torch.multinomial(logits.softmax(dim=-1), 1, generator=gen)
        x = torch.cat([x, nxt], dim=1)
    return x[:, prefixes.shape[1] :].numpy()


def evaluate(model: GPT, cfg: GPTPipelineConfig, job: EvalJob) -> Evaluation:
    checkpoint, dataset_dir = job.checkpoint, job.dataset_dir
    e = cfg.evaluation
    torch.set_num_threads(cfg.train.num_threads)
    state = _read(checkpoint)
    device = pick_device(cfg.train.device)  # the evaluation's networks follow the training's device rule
    if state.get("kind") == "classifier":
        return evaluate_classifier(model.to(device).eval(), state, dataset_dir, cfg)
    tokenizer = tokenizer_of(state)
    model = model.to(device).eval()
    train_docs = load_documents(dataset_dir, "train")
    held = EncodedText.of(tokenizer, load_documents(dataset_dir, "held_out"))
    held_ids, n_chars = held.ids, held.n_chars  # int64 array
    nll = held_out_nats_per_char(model, held, e.eval_batch_size)
    metrics = {
        "heldout_nats_per_char": nll,
        "heldout_bits_per_char": nll / np.log(2),
        "heldout_char_perplexity": perplexity(nll),
        "heldout_token_perplexity": perplexity(nll * n_chars / (len(held_ids) - 1)),
        "heldout_chars": float(n_chars),
        "params": float(state["params"]),
        "train_steps": float(state["steps"]),
        "tokens_seen": float(state["tokens_seen"]),
        "train_flops": GPTConfig(**state["gpt_config"]).training_flops(state["tokens_seen"]),
        "chars_per_token": sum(map(len, train_docs)) / max(1, state["train_tokens"] - len(train_docs)),
    }
    if "base" in state:  # a fine-tune: gain over scratch, and what it forgot of its base corpus
        base = _gpt(state, "base").to(device)
        metrics["heldout_nats_per_char_base"] = held_out_nats_per_char(base, held, e.eval_batch_size)
        if "scratch" in state:
            scratch = held_out_nats_per_char(_gpt(state, "scratch").to(device), held, e.eval_batch_size)
            metrics["heldout_nats_per_char_scratch"] = scratch
            metrics["finetune_gain"] = scratch - nll
        base_dir = Path(dataset_dir).parent / state["base_dataset"]
        if (base_dir / "held_out.jsonl").is_file():
            base_held = EncodedText.of(tokenizer, load_documents(base_dir, "held_out"))
            before = held_out_nats_per_char(base, base_held, e.eval_batch_size)
            after = held_out_nats_per_char(model, base_held, e.eval_batch_size)
            metrics |= {"base_corpus_nats_per_char_before": before, "base_corpus_nats_per_char_after": after}
            metrics["forgetting"] = after - before

    # Samples at a fixed seed and prompt, through the same loop as the torch-free consumer.
    prompt_ids = [tokenizer.eot_id] + tokenizer.encode(e.prompt)
    samples = [
        tokenizer.decode(
            sample_ids(
                torch_logits_fn(model), prompt_ids, e.sample_tokens, model.block_size, e.temperature, e.top_k,
                seed=e.seed + i, stop_id=tokenizer.eot_id,
            )
        )
        for i in range(e.num_samples)
    ]  # fmt: skip
    texts = {
        "samples.txt": "".join(
            f"--- sample {i} (seed {e.seed + i}, prompt {e.prompt!r}) ---\n{e.prompt}{s}\n\n"
            for i, s in enumerate(samples)
        )
    }

    # Memorisation: how much of what it writes is verbatim training text?
    metrics |= memorisation("\n".join(train_docs), samples, e.memorisation_ngram)

    # Text C2ST: the held-out continuation of a prefix vs the model's continuation of the same prefix.
    p, t = e.c2st_prefix_tokens, e.c2st_tokens
    room = len(held_ids) - p - t
    if room > 0:
        rng = np.random.default_rng(e.seed)
        n = min(e.c2st_passages, room)
        starts = np.sort(rng.choice(room, size=n, replace=False))
        prefixes = np.stack([held_ids[s : s + p] for s in starts])
        fake_ids = continue_batch(model, prefixes, t, e.temperature, e.top_k, e.seed)
        real = [tokenizer.decode(held_ids[s + p : s + p + t].tolist()) for s in starts]
        fake = [tokenizer.decode(row.tolist()) for row in fake_ids]
        try:
            result = text_c2st(real, fake, seed=e.seed)
            metrics |= {"c2st_auc": result.auc, "c2st_accuracy": result.accuracy, "c2st_p_value": result.p_value}
            texts["c2st_examples.txt"] = "".join(
                f"--- prefix: {tokenizer.decode(prefixes[i].tolist())!r}\n[real] {real[i]}\n[generated] {fake[i]}\n\n"
                for i in range(min(10, n))
            )
            roc = (result.fpr, result.tpr, result.auc, "Real vs generated continuations: held-out ROC")
        except ValueError:
            roc = None
    else:
        roc = None
    buffer = io.StringIO()
    json.dump({k: round(v, 6) for k, v in metrics.items()}, buffer, indent=2, sort_keys=True)
    texts["text_metrics.json"] = buffer.getvalue() + "\n"
    return Evaluation(metrics, {}, roc=roc, extras={"texts": texts})
