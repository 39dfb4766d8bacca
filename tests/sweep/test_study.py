"""Searches with Optuna, for real: trials are ordinary runs of the engine, pruned on eval loss at their checkpoints;
a study in a PostgreSQL server is shared by two `sweep-worker` processes, each trial run once."""

import os
import subprocess
import sys
from urllib.parse import urlsplit

import optuna
import psycopg
import pytest
from mlflow.tracking import MlflowClient

from core.sweep import create_study, optimize
from core.train import Engine
from tests.conftest import ROOT
from tests.train.test_queue import scored

pytestmark = pytest.mark.slow
State = optuna.trial.TrialState


def _children(client, parent: str) -> list:
    experiment = client.get_run(parent).info.experiment_id
    return client.search_runs([experiment], f"tags.mlflow.parentRunId = '{parent}'")


def test_two_trials_the_second_pruned_on_eval_loss(mlflow_server, tmp_path):
    base = scored(run_name="search", keep_checkpoints=False, experiment="study-tests")
    study, parent = create_study(
        base, {"learning_rate": [3e-3, 1e-6]}, trials=2, storage=f"sqlite:///{tmp_path / 'sweeps.db'}"
    )
    # The first trial learns (its eval loss falls by step 2); the second barely moves: worse than the median, pruned.
    study.enqueue_trial({"learning_rate": 3e-3})
    study.enqueue_trial({"learning_rate": 1e-6})
    lines = []
    optimize(study, Engine(), progress=lines.append, tracking_uri=mlflow_server)

    trials = study.get_trials()
    assert len(trials) == 2
    assert trials[0].state == State.COMPLETE and trials[0].value is not None
    assert trials[1].state == State.PRUNED, "\n".join(lines)
    assert (
        max(trials[1].intermediate_values) < base.max_steps
    )  # stopped at a checkpoint, before its last step
    client = MlflowClient(mlflow_server)
    children = _children(client, parent)
    assert len(children) == 2  # one child run per trial
    pruned = next(r for r in children if r.info.run_id == trials[1].user_attrs["mlflow_run_id"])
    assert pruned.data.tags["outcome"] == "stopped"
    parent_run = client.get_run(parent)
    completed = {t.user_attrs["mlflow_run_id"] for t in trials if t.state == State.COMPLETE}
    assert parent_run.data.tags["best_run_id"] in completed  # a pruned trial is never the best
    assert "leaderboard.md" in {a.path for a in client.list_artifacts(parent)}


@pytest.fixture
def sweep_storage(postgres):
    """A database of its own on the tests' PostgreSQL server, for Optuna's tables."""
    port = urlsplit(postgres).port
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as con:
        con.execute("DROP DATABASE IF EXISTS sweeps")
        con.execute("CREATE DATABASE sweeps OWNER studio")
    return f"postgresql://studio:pw-not-logged@127.0.0.1:{port}/sweeps"


def test_two_workers_share_a_postgres_study_without_running_a_trial_twice(
    mlflow_server, sweep_storage, tmp_path
):
    base = scored(run_name="shared", keep_checkpoints=False, max_steps=2, experiment="study-tests")
    study, parent = create_study(base, {"learning_rate": [5e-4, 1e-3]}, trials=2, storage=sweep_storage)
    workers = []
    for n in range(
        2
    ):  # two machines: each its own data folder (the bundled model's cache shared to save time)
        folder = tmp_path / f"machine-{n}"
        folder.mkdir()
        (folder / "models").symlink_to(ROOT / "data" / "test" / "models")
        env = {**os.environ, "STUDIO_DATA_DIR": str(folder), "MLFLOW_TRACKING_URI": mlflow_server}
        command = [
            sys.executable,
            "-m",
            "core",
            "sweep-worker",
            "--study",
            study.study_name,
            "--storage",
            sweep_storage,
        ]
        workers.append(
            subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        )
    outputs = [w.communicate(timeout=900)[0].decode() for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    assert "pw-not-logged" not in "".join(outputs)  # the storage's password is never printed

    trials = optuna.load_study(
        study_name=study.study_name, storage=sweep_storage.replace("://", "+psycopg://", 1)
    ).trials
    assert len(trials) == 2 and all(t.state == State.COMPLETE for t in trials)
    run_ids = {t.user_attrs["mlflow_run_id"] for t in trials}
    jobs = {t.user_attrs["job_id"] for t in trials}
    assert len(run_ids) == 2 and len(jobs) == 2  # each trial trained once, by one worker
    children = _children(MlflowClient(mlflow_server), parent)
    assert {
        r.info.run_id for r in children
    } == run_ids  # both logged to the same MLflow server, under the parent


def test_a_postgres_url_without_a_driver_uses_psycopg():
    """Both spellings the database box takes, postgresql:// and postgres://, become SQLAlchemy's psycopg 3 URL, the
    password's escapes and the query string kept; other storages pass as given."""
    from core.sweep.study import storage_url

    assert storage_url("postgresql://u:p%40ss@h:5432/db?sslmode=require") == (
        "postgresql+psycopg://u:p%40ss@h:5432/db?sslmode=require"
    )
    assert storage_url("postgres://u:pw@h/db") == "postgresql+psycopg://u:pw@h/db"
    for kept in ("postgresql+psycopg2://u@h/db", "sqlite:////tmp/sweeps.db"):
        assert storage_url(kept) == kept
    assert storage_url(None).startswith("sqlite:///") and storage_url(None).endswith("sweeps.db")
