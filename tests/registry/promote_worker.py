"""One promotion in its own process (a pipeline's promote step, without the pipeline), for crash and race tests:
python -m tests.registry.promote_worker STORE NAME RUN_KEY FID MODEL_URI RUN_ID"""

import sys
from pathlib import Path

from components import tracking
from components.config import Improvement, PromotionConfig
from components.registry import promote
from components.workspace import Workspace

RULES = PromotionConfig(thresholds={}, improvement=Improvement(metric="fid", mode="min", significant=False))


def main(store: str, name: str, run_key: str, fid: str, model_uri: str, run_id: str) -> None:
    ws = Workspace(Path(store))
    client = tracking.configure(ws)
    audit = tracking.experiment_id(client, ws, tracking.AUDIT_EXPERIMENT)
    candidate = promote.Candidate(
        name=name,
        run_key=run_key,
        model_uri=model_uri,
        run_id=run_id,
        metrics={"fid": float(fid)},
        parity_passed=True,
        parity_reason="",
        eval_space="space-1",
    )
    decision, moves = promote.promote(client, audit, candidate, RULES, promote.lock_dir_of(ws.mlflow_dir))
    print(decision.action, decision.version, "|".join(moves))


if __name__ == "__main__":
    main(*sys.argv[1:])
