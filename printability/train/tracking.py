"""Experiment tracking in MLflow, or nowhere with --no-mlflow.

Default store: a local sqlite file and an artifact folder, no server; MLFLOW_TRACKING_URI is
respected. Browse with `mlflow ui --backend-store-uri sqlite:///mlflow.db --host 127.0.0.1`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

DEFAULT_STORE = "mlflow.db"
DEFAULT_ARTIFACTS = "mlartifacts"


class NullTracker:
    """Tracks nothing; the loop calls it the same way."""

    run_id: str | None = None

    def log_params(self, params: dict[str, Any]) -> None:
        pass

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        pass

    def log_artifact(self, path: str | Path) -> None:
        pass

    def end(self, status: str = "FINISHED") -> None:
        pass


class MlflowTracker(NullTracker):
    """One MLflow run; `run_id` continues an earlier run (for --resume).

    Started while another run is active (a tuning study's parent run, see printability.tune),
    it is nested under that run.
    """

    def __init__(self, experiment: str, run_name: str, run_id: str | None = None) -> None:
        import mlflow

        logging.getLogger("mlflow").setLevel(logging.WARNING)
        self.mlflow = mlflow
        if "MLFLOW_TRACKING_URI" not in os.environ:
            mlflow.set_tracking_uri(f"sqlite:///{Path(DEFAULT_STORE).resolve()}")
        found = mlflow.get_experiment_by_name(experiment)
        if found is None:
            artifacts = Path(DEFAULT_ARTIFACTS).resolve().as_uri()
            experiment_id = mlflow.create_experiment(experiment, artifact_location=artifacts)
        else:
            experiment_id = found.experiment_id
        run = mlflow.start_run(
            run_id=run_id,
            experiment_id=experiment_id,
            run_name=None if run_id else run_name,
            nested=mlflow.active_run() is not None,
        )
        self.run_id = run.info.run_id

    def log_params(self, params: dict[str, Any]) -> None:
        flat = _flatten(params)
        self.mlflow.log_params({k: str(v)[:500] for k, v in flat.items()})

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.mlflow.log_metrics({k: float(v) for k, v in metrics.items()}, step=step)

    def log_artifact(self, path: str | Path) -> None:
        self.mlflow.log_artifact(str(path))

    def end(self, status: str = "FINISHED") -> None:
        self.mlflow.end_run(status=status)


def _flatten(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts to dotted keys: {"data": {"resolution": 64}} -> {"data.resolution": 64}."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat
