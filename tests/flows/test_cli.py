"""The `genforge` command as a user runs it: clear errors with non-zero exits, torch-free consumer commands."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Each test runs the CLI in a fresh interpreter (it starts its own Prefect API); the ones on `first_run` get the
# session's Prefect harness through that fixture.


def genforge(*args, cwd=None, env=None, check_torch=False):
    """Run the CLI in a fresh interpreter; with check_torch, report whether torch was imported."""
    probe = (
        "import atexit, sys; "
        "atexit.register(lambda: print('TORCH-IMPORTED' if 'torch' in sys.modules else 'NO-TORCH'));"
        if check_torch
        else ""
    )
    code = f"{probe}import sys; sys.argv = ['genforge'] + {list(args)!r}; from flows.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        # mlflow.set_tracking_uri() in this process exported MLFLOW_TRACKING_URI: the CLI must find its own store.
        env={**{k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}, **(env or {})},
        timeout=300,
    )


def test_help_lists_every_command():
    result = genforge("--help")
    assert result.returncode == 0
    for command in ("run", "data", "models", "pull", "generate", "ui"):
        assert command in result.stdout


def test_bad_config_names_the_field_and_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  lr: -3\n")
    result = genforge("run", str(bad), "--root", str(tmp_path))
    assert result.returncode == 2
    assert "train.lr" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "item, says",
    [("train.lr=-3", "train.lr"), ("train.epoch=2", "train.epoch"), ("train.lr", "FIELD=VALUE")],
)
def test_a_bad_set_on_the_command_line_names_it_and_exits_2(tmp_path, item, says):
    good = tmp_path / "good.yaml"
    good.write_text("family: vae\n")
    result = genforge("run", str(good), "--set", item, "--root", str(tmp_path))
    assert result.returncode == 2, result.stderr[-2000:]
    assert says in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_missing_inception_weights_stop_the_run_before_it_starts(workspace, tmp_path):
    """A config scored with the standard Inception features refuses to start (no training, no MLflow run) when the
    weights are not on the machine, and says how to fetch them."""
    config = tmp_path / "faces.yaml"
    config.write_text("family: facegan\nevaluation: {features: inception}\n")
    env = {**os.environ, "GENFORGE_INCEPTION_PT": str(tmp_path / "absent.pt")}
    result = genforge("run", str(config), "--root", str(workspace), env=env)
    assert result.returncode == 2, result.stderr
    assert "inception fetch" in result.stderr and "Traceback" not in result.stderr
    assert not (workspace / ".genforge" / "checkpoints").exists()
    from mlflow import MlflowClient

    uri = f"sqlite:///{workspace}/mlflow/mlflow.db"
    assert MlflowClient(uri, uri).get_experiment_by_name("facegan-orl") is None


def test_missing_source_data_says_how_to_get_it(workspace, tmp_path):
    result = genforge("data", "fetch", "--source-dir", str(tmp_path / "empty"), "--root", str(workspace))
    assert result.returncode == 2 and "apt-get install dataset-fashion-mnist" in result.stderr


def test_data_status_without_data(workspace):
    result = genforge("data", "status", "--root", str(workspace))
    assert result.returncode == 1 and "genforge data build" in result.stdout


@pytest.mark.slow
def test_consumer_commands_work_from_the_registry_without_torch(first_run, tmp_path):
    ws, *_ = first_run
    grid = tmp_path / "grid.png"
    result = genforge(
        "generate",
        "dcgan-fashion-mnist@champion",
        "-n",
        "16",
        "-o",
        str(grid),
        "--seed",
        "3",
        "--root",
        str(ws),
        check_torch=True,
    )
    assert result.returncode == 0, result.stderr
    assert "NO-TORCH" in result.stdout and grid.stat().st_size > 100

    pulled = genforge(
        "pull", "dcgan-fashion-mnist@champion", "-o", str(tmp_path / "m"), "--root", str(ws), check_torch=True
    )
    assert pulled.returncode == 0 and "NO-TORCH" in pulled.stdout and "sha256 verified" in pulled.stdout
    assert (tmp_path / "m" / "model.onnx").is_file()

    listing = genforge("models", "--root", str(ws))
    assert listing.returncode == 0 and "dcgan-fashion-mnist" in listing.stdout and "@champion" in listing.stdout
    history = genforge("models", "--history", "dcgan-fashion-mnist", "--root", str(ws))
    assert history.returncode == 0 and "champion" in history.stdout


@pytest.mark.slow
def test_unknown_model_is_a_clear_error(first_run, tmp_path):
    ws, *_ = first_run
    result = genforge("pull", "nope@champion", "-o", str(tmp_path / "x"), "--root", str(ws))
    assert result.returncode == 2 and "does not resolve" in result.stderr


@pytest.mark.slow
def test_generate_from_a_local_onnx_file(first_run, tmp_path):
    ws, *_ = first_run
    genforge("pull", "dcgan-fashion-mnist@champion", "-o", str(tmp_path / "m"), "--root", str(ws))
    result = genforge("generate", str(tmp_path / "m" / "model.onnx"), "-n", "4", "-o", str(tmp_path / "g.png"))
    assert result.returncode == 0 and Path(tmp_path / "g.png").is_file()


@pytest.mark.slow
def test_report_is_regenerated_from_the_registry(first_run, tmp_path):
    ws, *_ = first_run
    result = genforge(
        "report", "dcgan-fashion-mnist/1", "--against", "dcgan-fashion-mnist/1", "-o", str(tmp_path), "--root", str(ws)
    )
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "dcgan-fashion-mnist"
    text = (folder / "report.md").read_text()
    assert "| fid |" in text and "| champion v1 |" in text and "memorised_fraction" in text
    assert "![challenger_samples](challenger_samples.png)" in result.stdout
    assert (folder / "challenger_samples.png").is_file() and (folder / "champion_samples.png").is_file()
    assert (folder / "challenger_memorisation.png").is_file() and (folder / "challenger_loss_curves.png").is_file()
