"""The name of an evaluation's feature space: which numbers may be compared with which.

FID, KID, PRDC, authenticity and the C2ST are only comparable when both versions were scored by the same networks
on the same reference images with the same seeds. Those depend on the data version and the evaluation config (its
`seed` included), never on the run's training seed: evaluation_space() hashes exactly those inputs, so a registry
can tag each version with it and compare a challenger with a champion only when the ids are equal.
"""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel

from components.models.evaluator import EVALUATOR_VERSION


def evaluation_space(dataset_md5: str, evaluation: BaseModel, extra: str = "") -> str:
    """Short sha256 hex (16 digits) naming the space a model version is scored in; equal ids: comparable metrics.

    Args:
        dataset_md5: the data version (components.data.shards.dataset_md5).
        evaluation: the config's evaluation section (`cfg.evaluation`: EvaluationConfig, GPTEvaluationConfig, …),
            all of it, its evaluation `seed` included.
        extra: whatever else a family's scores depend on (e.g. the CycleGAN style evaluator's version, or the
            VAE's `repair` section as JSON); "" for none.
    Also hashed: EVALUATOR_VERSION (the evaluator network's architecture and training), and the Inception
    FEATURES_ID when `evaluation.features` is "inception". The run's training seed (cfg.seed) is not an input: two
    runs that differ only in it are scored in the same space.
    """
    payload = {
        "data": dataset_md5,
        "evaluation": evaluation.model_dump(mode="json"),
        "evaluator": EVALUATOR_VERSION,
        "extra": extra,
    }
    if getattr(evaluation, "features", None) == "inception":
        from components.evaluation.inception import FEATURES_ID  # imports onnxruntime: only when it is used

        payload["inception"] = FEATURES_ID
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
