"""A temporary SQLite store holding one logged ONNX model (a tiny DCGAN generator): what promotion registers."""

import onnx
import pytest
import torch

from components import tracking
from components.config import DCGANConfig
from components.export.onnx_export import export_onnx
from components.models.dcgan import DCGANGenerator
from components.workspace import Workspace


@pytest.fixture
def logged_model(tmp_path):
    """(store root, client, the logged model's URI, its run id)."""
    ws = Workspace(tmp_path)
    client = tracking.configure(ws)
    experiment = tracking.experiment_id(client, ws, "registry-test")
    torch.manual_seed(0)
    g = DCGANGenerator(DCGANConfig(latent_dim=6, g_features=4)).eval()
    path = export_onnx(g, tmp_path / "g.onnx", g.example_inputs(2), g.input_names)
    with tracking.run(client, experiment, "export") as step, step.activate():
        info = tracking.log_onnx_model(onnx.load(str(path)), *g.onnx_io(), g.example_inputs(2)[0].numpy())
    return tmp_path, client, info.model_uri, step.run_id
