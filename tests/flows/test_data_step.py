"""The data task retries transient I/O failures only: a corrupt source fails at once with its own message."""

import pytest

from components.config import parse_config
from components.data.fashion_mnist import SourceError
from flows.pipeline import data_step

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_bad_source_fails_without_retries_and_writes_nothing(workspace, tmp_path):
    (tmp_path / "src").mkdir()
    for name in (
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ):
        (tmp_path / "src" / name).write_bytes(b"not gzip")
    cfg = parse_config({"data": {"source_dir": str(tmp_path / "src"), "verify_checksums": False}})
    state = data_step(str(workspace), cfg, return_state=True)
    assert state.is_failed()
    with pytest.raises(SourceError, match="not a readable gzip"):
        state.result()
    assert not (workspace / "data").exists() and not (workspace / "data.dvc").exists()
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        assert client.read_task_run(state.state_details.task_run_id).run_count == 1, "retried a non-transient error"
