"""No code runs from a file: a pickle payload planted in a registered checkpoint never runs. The sha256 recorded at
registration refuses the swapped file; and where an attacker also rewrote that tag, the plain-tensor loader
refuses it. Either way `genforge run` exits 2 naming the file, and nothing is registered."""

import json
import os
from pathlib import Path
from urllib.parse import urlparse

import pytest
import torch

from components.checksums import sha256_file
from flows.pipeline import pipeline
from mlflow import MlflowClient
from tests.flows.conftest import write_config
from tests.flows.test_cli import genforge

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]  # full pipeline runs


class Payload:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def plant(path: Path, marker: Path) -> None:
    torch.save({"generator": Payload(marker), "config": {}}, path)


def test_planted_payload_never_runs_and_the_run_exits_2_naming_the_file(tmp_path, digits_source):
    from tests.conftest import make_workspace

    ws = make_workspace(tmp_path / "project", tmp_path / "remote")
    pipeline(write_config(ws, digits_source, "tiny"), str(ws))
    client = MlflowClient(f"sqlite:///{ws}/mlflow/mlflow.db", f"sqlite:///{ws}/mlflow/mlflow.db")
    version = client.get_model_version_by_alias("dcgan-fashion-mnist", "champion")
    artifacts = Path(urlparse(client.get_run(version.tags["genforge.train_run_id"]).info.artifact_uri).path)
    target = artifacts / "checkpoint" / "epoch_001.pt"
    assert target.is_file()
    marker = tmp_path / "PAYLOAD-RAN"
    plant(target, marker)

    detector = write_config(ws, digits_source, "detector", {"family": "detector", "name": "tiny-detector"})
    refused = genforge("run", detector, "--root", str(ws))
    assert refused.returncode == 2 and "epoch_001.pt" in refused.stderr and "sha256" in refused.stderr
    assert "Traceback" not in refused.stderr and not marker.exists()

    # The attacker rewrites the recorded checksum too: the loader itself refuses to unpickle anything but tensors.
    recorded = json.loads(version.tags["genforge.checkpoints"]) | {"epoch_001.pt": sha256_file(target)}
    client.set_model_version_tag("dcgan-fashion-mnist", version.version, "genforge.checkpoints", json.dumps(recorded))
    refused = genforge("run", detector, "--root", str(ws))
    assert refused.returncode == 2 and "epoch_001.pt" in refused.stderr and "plain-tensor" in refused.stderr
    assert "Traceback" not in refused.stderr and not marker.exists()
    assert not client.search_registered_models(filter_string="name = 'detector-fashion-mnist'")
