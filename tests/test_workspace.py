import mlflow
from components import tracking
from components.workspace import Workspace


def test_each_workspace_keeps_its_own_store_after_mlflow_was_configured(tmp_path):
    """Trap: mlflow.set_tracking_uri() exports MLFLOW_TRACKING_URI, which must not leak into the next workspace."""
    first, second = Workspace(tmp_path / "a"), Workspace(tmp_path / "b")
    tracking.configure(first)
    assert mlflow.get_tracking_uri() == first.tracking_uri
    assert second.tracking_uri.endswith("/b/mlflow/mlflow.db")
    tracking.configure(second)
    assert mlflow.get_tracking_uri() == second.tracking_uri != first.tracking_uri
