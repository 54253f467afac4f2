"""Where a GenForge project keeps its state, and the environment that keeps every tool offline and quiet."""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

# Telemetry and update checks off: these machines are offline, and tools that phone home stall or write files.
QUIET_ENV = {
    "DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DVC_NO_ANALYTICS": "1",
    "ORT_DISABLE_TELEMETRY": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "60",
    "GIT_PYTHON_REFRESH": "quiet",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    # A server that stops answering mid-run fails the step in seconds, not after MLflow's default ~4 min of retries.
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}


# Read once, before GenForge ever configures MLflow: mlflow.set_tracking_uri() writes MLFLOW_TRACKING_URI into
# os.environ, so reading it later would return the last workspace's store instead of the user's choice.
USER_TRACKING_URI = os.environ.get("MLFLOW_TRACKING_URI")


@dataclass(frozen=True)
class Workspace:
    """A project folder: a git + DVC repository with data/, mlflow/ and a private state folder."""

    root: Path

    @classmethod
    def at(cls, root: str | Path | None = None) -> Workspace:
        return cls(Path(root or os.environ.get("GENFORGE_ROOT") or Path.cwd()).resolve())

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def state_dir(self) -> Path:
        """Checkpoints, caches and downloads: private, git-ignored, safe to delete."""
        return self.root / ".genforge"

    @property
    def mlflow_dir(self) -> Path:
        """The folder of the MLflow store, where its artifacts and promotion locks live: the project's mlflow/, or
        the folder of the SQLite file MLFLOW_TRACKING_URI names. A deployment's run works in a fresh clone that is
        deleted afterwards: the store, and what belongs to it, must live where the store does."""
        if USER_TRACKING_URI and USER_TRACKING_URI.startswith("sqlite:///"):
            return Path(USER_TRACKING_URI.removeprefix("sqlite:///").split("?")[0]).resolve().parent
        return self.root / "mlflow"

    @property
    def tracking_uri(self) -> str:
        return USER_TRACKING_URI or f"sqlite:///{self.mlflow_dir / 'mlflow.db'}"

    @property
    def artifact_root(self) -> Path:
        return self.mlflow_dir / "artifacts"

    def apply_environment(self) -> None:
        """Set quiet defaults and keep Prefect/matplotlib state inside the project; variables already set win."""
        for key, value in QUIET_ENV.items():
            os.environ.setdefault(key, value)
        os.environ.setdefault("PREFECT_HOME", str(self.root / ".prefect"))
        os.environ.setdefault("MPLCONFIGDIR", str(self.state_dir / "matplotlib"))
        os.environ.setdefault("DVC_SITE_CACHE_DIR", str(self.state_dir / "dvc-site-cache"))


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """Hash of the GenForge source: part of every cache key, so changed code never reuses a stale result."""
    digest = hashlib.sha256()
    for package in ("components", "flows"):
        base = Path(__file__).resolve().parent.parent / package
        for path in sorted(base.rglob("*.py")):
            digest.update(path.relative_to(base.parent).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
