"""A pipeline run shared by the flow and CLI tests (session scope: it costs ~30 s)."""

import pytest
import yaml

from components.config import merge
from flows.pipeline import pipeline
from mlflow import MlflowClient
from tests.conftest import TINY


def write_config(ws, digits_source, name, extra=None):
    """TINY with the digits source; a detector keeps only TINY's family-independent sections."""
    base = TINY if (extra or {}).get("family", "dcgan") == "dcgan" else {k: TINY[k] for k in ("data", "evaluation")}
    cfg = merge(base, {"data": {"source_dir": str(digits_source)}, "train": {"epochs": 3}, **(extra or {})})
    (ws / "configs").mkdir(exist_ok=True)
    path = ws / "configs" / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return f"configs/{name}.yaml"


@pytest.fixture(scope="session")
def first_run(tmp_path_factory, digits_source, prefect_harness):
    from tests.conftest import make_workspace

    base = tmp_path_factory.mktemp("e2e")
    ws = make_workspace(base / "project", base / "remote")
    config = write_config(ws, digits_source, "tiny")
    summary = pipeline(config, str(ws))
    client = MlflowClient(f"sqlite:///{ws}/mlflow/mlflow.db", f"sqlite:///{ws}/mlflow/mlflow.db")
    return ws, config, summary, client
