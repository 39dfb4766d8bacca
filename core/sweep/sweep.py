"""A sweep as MLflow sees it: a parent run, one child run per configuration (MLflow's `mlflow.parentRunId` tag, set
when the child's run is created), and the leaderboard logged to the parent when the sweep ends.

    parent = start_sweep(base, configs)   # the parent run; the configs queued (core.train.queue) as its children
    ... the queue runs them (QueueRunner) ...
    finish_sweep(parent)                  # the leaderboard and the best run, on the parent
"""

import time
from dataclasses import replace

from core.config import TrainConfig
from core.sweep.leaderboard import leaderboard, leaderboard_json, leaderboard_text
from core.train.queue import update


def open_parent(base: TrainConfig, kind: str, runs: int, space: dict, tracking_uri: str | None = None) -> str:
    """The sweep's parent MLflow run (left running until finish_sweep); returns its id."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(base.experiment)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(base.experiment)
    name = f"{base.run_name or 'sweep'} {time.strftime('%m%d-%H%M%S')}"
    run = client.create_run(
        experiment_id, run_name=name, tags={"studio.sweep": kind, "studio.sweep_runs": str(runs)}
    )
    client.log_dict(run.info.run_id, {k: [str(v) for v in vs] for k, vs in space.items()}, "sweep_space.json")
    client.log_dict(run.info.run_id, base.to_dict(), "base_config.json")
    return run.info.run_id


def start_sweep(
    base: TrainConfig, configs: list[TrainConfig], space: dict | None = None, tracking_uri: str | None = None
) -> str:
    """Open the parent run and queue every config as its child, each evaluated when it ends (the leaderboard's
    accuracy) on the same held-out rows (one seed). Returns the parent run's id."""
    parent = open_parent(base, "grid", len(configs), space or {}, tracking_uri)
    children = [replace(c, parent_run_id=parent, evaluate_after=True, seed=base.seed) for c in configs]
    update(lambda q: [q.add(c, sweep=parent) for c in children])
    return parent


def finish_sweep(parent_run_id: str, tracking_uri: str | None = None) -> list[dict]:
    """Log the leaderboard (Markdown and JSON), the best accuracy and the best run to the parent run, and end it."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    rows = leaderboard(parent_run_id, tracking_uri=tracking_uri)
    client.log_text(parent_run_id, leaderboard_text(rows), "leaderboard.md")
    client.log_text(parent_run_id, leaderboard_json(rows), "leaderboard.json")
    best = next((r for r in rows if r["best"]), None)
    if best is not None:
        client.log_metric(parent_run_id, "best_exec_accuracy", best["adapter"])
        client.set_tag(parent_run_id, "best_run_id", best["run_id"])
    client.set_terminated(parent_run_id, "FINISHED")
    return rows
