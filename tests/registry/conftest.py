"""A temporary SQLite store holding one logged ONNX model (a tiny DCGAN generator): what promotion registers."""

import shutil
from pathlib import Path

import onnx
import pytest
import torch

from components import tracking
from components.config import DCGANConfig
from components.export.onnx_export import export_onnx
from components.models.dcgan import DCGANGenerator
from components.workspace import Workspace


@pytest.fixture(scope="session")
def _template(tmp_path_factory):
    """Made once per session (what each test's fresh store starts from): an MLflow SQLite file with its tables
    created (the migrations take most of a second) and the exported tiny generator."""
    root = tmp_path_factory.mktemp("registry-template")
    ws = Workspace(root)
    tracking.configure(ws).search_experiments()  # creates the tables
    torch.manual_seed(0)
    g = DCGANGenerator(DCGANConfig(latent_dim=6, g_features=4)).eval()
    export_onnx(g, root / "g.onnx", g.example_inputs(2), g.input_names)
    return ws.mlflow_dir / "mlflow.db", root / "g.onnx", g


@pytest.fixture
def logged_model(tmp_path, _template):
    """(store root, client, the logged model's URI, its run id): a fresh store of this test's own."""
    db, onnx_file, g = _template
    ws = Workspace(tmp_path)
    ws.mlflow_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(db, ws.mlflow_dir / "mlflow.db")
    path = Path(shutil.copyfile(onnx_file, tmp_path / "g.onnx"))
    client = tracking.configure(ws)
    experiment = tracking.experiment_id(client, ws, "registry-test")  # its artifacts under tmp_path
    with tracking.run(client, experiment, "export") as step, step.activate():
        info = tracking.log_onnx_model(onnx.load(str(path)), *g.onnx_io(), g.example_inputs(2)[0].numpy())
    return tmp_path, client, info.model_uri, step.run_id
