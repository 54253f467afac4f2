"""The data task retries transient I/O failures only: a corrupt source fails at once with its own message."""

import time

import pytest

from components.data.fashion_mnist import SourceError
from components.families import parse_config
from flows.pipeline import data_step

# slow: the only fast test that needed the session's Prefect harness (14 s to start); make test runs it
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


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
    assert not (workspace / "data").exists(), "a failed build left files behind"
    assert _final_run_count(state.state_details.task_run_id) == 1, "retried a non-transient error"


def _final_run_count(task_run_id, timeout: float = 30.0) -> int:
    """run_count once the API has recorded the final state: task-run states reach it through events, asynchronously,
    so reading it right after the call can see a task run that has not even started (run_count 0)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            try:
                run = client.read_task_run(task_run_id)
            except (ObjectNotFound, PrefectHTTPStatusError):  # not recorded yet
                run = None
            if run is not None and run.state is not None and run.state.is_final():
                return run.run_count
            if time.monotonic() > deadline:
                raise AssertionError(f"task run {task_run_id} reached no final state in the API within {timeout} s")
            time.sleep(0.2)
