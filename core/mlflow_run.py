"""The MLflow run of one training job, opened in the worker thread (the fluent API's run is per thread).

Every call is guarded: when the tracking server is slow or unreachable, training goes on, the problem is
recorded in `state.mlflow_warning` for the UI, and `NullRun` stands in when no run could be opened at all.
"""

import time

from core.config import TrainConfig
from core.runstate import RunState
from core.tracking import is_healthy, wait_until_started


class NullRun:
    """Stands in for an MLflow run that could not be opened: every call does nothing."""

    active = False
    run_id = ""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


class GuardedRun:
    active = True

    def __init__(self, mlflow, run, state: RunState):
        self.mlflow, self.run_id, self.state = mlflow, run.info.run_id, state

    def _guard(self, what: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - tracking problems must never stop training
            self.state.update(mlflow_warning=f"MLflow: could not {what} ({type(e).__name__}); training continues.")
            self.state.log(f"MLflow problem while trying to {what}: {str(e).splitlines()[0][:200] if str(e) else e}")
            return None

    def log_params(self, params: dict) -> None:
        clean = {k: (", ".join(v) if isinstance(v, list) else v) for k, v in params.items()}
        self._guard("log params", self.mlflow.log_params, clean, synchronous=False)

    def set_tags(self, tags: dict) -> None:
        self._guard("set tags", self.mlflow.set_tags, {k: str(v) for k, v in tags.items()}, synchronous=False)

    def log_metric(self, key: str, value: float, step: int) -> None:
        self._guard("log a metric", self.mlflow.log_metric, key, value, step=step, synchronous=False)

    def log_dict(self, data: dict, name: str) -> None:
        self._guard(f"save {name}", self.mlflow.log_dict, data, name)

    def log_text(self, text: str, name: str) -> None:
        self._guard(f"save {name}", self.mlflow.log_text, text, name)

    def log_artifacts(self, folder, path: str) -> None:
        self._guard(f"upload {path}", self.mlflow.log_artifacts, str(folder), path)

    def close(self, status: str) -> None:
        self._guard("flush metrics", self.mlflow.flush_async_logging)
        self._guard("end the run", self.mlflow.end_run, status=status)


def open_run(cfg: TrainConfig, state: RunState):
    """Start the MLflow run for this job in the calling thread, or a NullRun when MLflow is unreachable."""
    try:
        import mlflow
    except ImportError:  # a bare GPU host may lack it: train untracked, and say so
        state.update(mlflow_warning="MLflow is not installed here: this run is not tracked; training continues.")
        return NullRun()
    wait_until_started()  # the embedded server may still be coming up when the first run starts
    uri = mlflow.get_tracking_uri()
    if not is_healthy(uri, timeout=5.0):
        state.update(mlflow_warning=f"MLflow at {uri} is not reachable: this run is not tracked; training continues.")
        state.log(state.mlflow_warning)
        return NullRun()
    try:
        experiment = mlflow.set_experiment(cfg.experiment)
        if mlflow.active_run():  # a leftover run in this thread would swallow ours
            mlflow.end_run()
        run = mlflow.start_run(run_name=cfg.run_name or f"sql-lora-r{cfg.rank}-{time.strftime('%m%d-%H%M%S')}")
    except Exception as e:  # noqa: BLE001
        state.update(mlflow_warning=f"MLflow: could not open a run ({type(e).__name__}); training continues untracked.")
        return NullRun()
    state.update(mlflow_run_id=run.info.run_id, experiment_id=experiment.experiment_id, tracking_uri=uri)
    state.log(f"MLflow run {run.info.run_id} at {uri}")
    return GuardedRun(mlflow, run, state)
