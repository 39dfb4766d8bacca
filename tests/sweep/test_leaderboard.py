"""The leaderboard reads a sweep's child runs from a real MLflow server: sorted by the adapter's execution accuracy,
the settings that differ, the best marked, a run scored on other held-out rows flagged; the parent logs it."""

import pytest
from mlflow.tracking import MlflowClient

from core.config import TrainConfig
from core.sweep import finish_sweep, leaderboard
from core.sweep.leaderboard import choose_best, table_rows
from core.sweep.sweep import open_parent

pytestmark = pytest.mark.slow  # a real MLflow server


def _child(client, experiment_id, parent, name, lr, metrics, held="rows-a", database=""):
    tags = {"held_out_rows": held, **({"mlflow.parentRunId": parent} if parent else {})}
    run = client.create_run(experiment_id, run_name=name, tags=tags)
    run_id = run.info.run_id
    params = {
        "cfg.learning_rate": lr,
        "cfg.rank": 16,
        "cfg.run_name": name,
        "cfg.data_path": f"/up/{name}.jsonl",
    }
    for key, value in {**params, **({"cfg.database": database} if database else {})}.items():
        client.log_param(run_id, key, value)
    for key, value in metrics.items():
        client.log_metric(run_id, key, value)
    client.set_terminated(run_id, "FINISHED")
    return run_id


def test_runs_sorted_by_accuracy_with_the_best_marked_and_other_rows_flagged(mlflow_server):
    client = MlflowClient(mlflow_server)
    base = TrainConfig(experiment="sweep-tests", run_name="board")
    parent = open_parent(base, "grid", 3, {"learning_rate": [1e-4, 1e-3, 2e-3]})
    experiment_id = client.get_run(parent).info.experiment_id
    low = _child(
        client, experiment_id, parent, "low", 1e-4, {"eval_exec_accuracy": 0.3, "base_exec_accuracy": 0.1}
    )
    top = _child(
        client,
        experiment_id,
        parent,
        "top",
        1e-3,
        {"eval_exec_accuracy": 0.6, "base_exec_accuracy": 0.1, "eval_valid_sql_rate": 0.9, "eval_loss": 0.8},
    )
    other = _child(
        client,
        experiment_id,
        parent,
        "other",
        2e-3,
        {"eval_exec_accuracy": 0.5, "base_exec_accuracy": 0.1},
        "rows-b",
    )
    _child(client, experiment_id, parent, "unscored", 5e-3, {})  # failed before its evaluation

    rows = leaderboard(parent, tracking_uri=mlflow_server)
    # a run scored on other held-out rows does not compare: it comes after those on the common rows
    assert [r["run_id"] for r in rows[:3]] == [top, low, other]
    assert rows[-1]["adapter"] is None  # a run without an accuracy comes last, never "best"
    assert [r["best"] for r in rows] == [True, False, False, False]
    # only what differs (the rank is the same everywhere); the grid shows only what the form shows
    assert rows[0]["settings"] == {"learning_rate": 0.001, "data_path": "/up/top.jsonl"}
    assert [r["same_rows"] for r in rows[:3]] == [True, True, False]
    shown = table_rows(rows)
    assert (
        shown[0][0] == "best (on the held-out rows)"
        and shown[0][4] == "60%"
        and shown[2][4] == "50% (other rows)"
    )
    assert shown[0][2] == "Learning rate 0.001"  # by the form's label; no run ids or paths in the grid
    assert not any(top in str(cell) for line in shown for cell in line)

    logged = finish_sweep(parent, tracking_uri=mlflow_server)
    parent_run = client.get_run(parent)
    assert logged[0]["run_id"] == top
    assert parent_run.data.tags["best_run_id"] == top
    assert parent_run.data.metrics["best_exec_accuracy"] == 0.6
    assert parent_run.info.status == "FINISHED"
    artifacts = {a.path for a in client.list_artifacts(parent)}
    assert {"leaderboard.md", "leaderboard.json", "sweep_space.json", "base_config.json"} <= artifacts


def test_every_run_on_the_database_and_the_best_chosen_on_the_persons_own_questions(mlflow_server):
    """A single run and a sweep's run on the same database are on one board (another database's run is not); the
    run that answers more of the person's own questions is the best though it scores fewer held-out rows."""
    client = MlflowClient(mlflow_server)
    db = "/data/databases/shop.sqlite"
    experiment_id = client.create_experiment("board-by-database")
    parent = open_parent(TrainConfig(experiment="board-by-database"), "grid", 2, {"learning_rate": [1e-3]})
    single = _child(
        client,
        experiment_id,
        "",
        "single",
        1e-3,
        {"eval_exec_accuracy": 0.5, "eval_your_questions_exec_accuracy": 0.8, "eval_your_questions_n": 5},
        database=db,
    )
    swept = _child(
        client,
        experiment_id,
        parent,
        "swept",
        2e-3,
        {"eval_exec_accuracy": 0.7, "eval_your_questions_exec_accuracy": 0.4, "eval_your_questions_n": 5},
        database=db,
    )
    _child(
        client, experiment_id, "", "elsewhere", 1e-3, {"eval_exec_accuracy": 0.9}, database="/other.sqlite"
    )
    rows = leaderboard(tracking_uri=mlflow_server, database=db)
    assert [r["run_id"] for r in rows] == [single, swept] and rows[0]["best"]
    shown = table_rows(rows)
    assert shown[0][0] == "best (on your 5 questions)" and shown[0][5] == "80% (4 of 5)"
    # a run scored on fewer of the questions does not outrank those scored on all of them (10 of 10 vs 27 of 30)
    fewer = _child(
        client,
        experiment_id,
        "",
        "fewer",
        3e-3,
        {"eval_exec_accuracy": 0.1, "eval_your_questions_exec_accuracy": 1.0, "eval_your_questions_n": 6},
        database=db,
    )
    more = leaderboard(tracking_uri=mlflow_server, database=db)
    assert (
        more[0]["run_id"] == fewer and more[0]["basis"] == "your 6 questions"
    )  # all 6: it is on all of them
    for r in more:
        r["own_n"] = 6 if r["run_id"] != fewer else 5
    assert choose_best(more)[0]["run_id"] == single  # now single (80% of 6) is on all 6, fewer on 5 only
    # with fewer than five own questions, the held-out rows decide
    few = leaderboard(run_ids=[single, swept], tracking_uri=mlflow_server)
    for r in few:
        r["own_n"] = 4
    assert choose_best(few)[0]["run_id"] == swept and few[0]["basis"] == "the held-out rows"
