"""The leaderboard of the Train tab's queue box: which runs it lists, the best of them, and the best's settings
cloned into the form or its adapter exported (each saying what it did). The table's rows come from
core.sweep.leaderboard; app.queue_panel lays it out and wires it.
"""

from pathlib import Path

import gradio as gr

from app.charts import sweep_figure
from app.common import box
from app.train_form import FIELDS, form_values
from app.train_tab import adapter_zip
from core.config import TrainConfig
from core.evaluate.of_run import load_run_inputs
from core.sweep import leaderboard
from core.sweep.leaderboard import table_rows
from core.tracking import load_run_dict
from core.train.queue import Queue


def latest_sweep() -> str:
    """The parent run of the queue's latest sweep ("" when the queue holds none)."""
    return next((i.sweep for i in reversed(Queue.load().items) if i.sweep), "")


def board_rows(parent: str, database: str = "") -> list[dict]:
    """The leaderboard's rows: every run on the connected database (single runs, the queue's, every sweep's); with
    no database connected, the sweep's (the latest when none was started here), else the queue's."""
    if database:
        return leaderboard(database=database)
    parent = parent or latest_sweep()
    if parent:
        return leaderboard(parent)
    ids = [i.mlflow_run_id for i in Queue.load().items if i.mlflow_run_id]
    return leaderboard(run_ids=ids) if ids else []


def database_of(ds) -> str:
    return ds.database if ds else ""


def board(parent: str, ds=None):
    """(leaderboard rows, chart)."""
    try:
        rows = board_rows(parent, database_of(ds))
    except Exception:  # noqa: BLE001 - MLflow away: the board waits for the next refresh
        return gr.skip(), gr.skip()
    figure = sweep_figure(rows)
    return table_rows(rows), (gr.Plot(figure, visible=True) if figure is not None else gr.Plot(visible=False))


def best_row(parent: str, ds=None) -> dict | None:
    return next((r for r in board_rows(parent, database_of(ds)) if r["best"]), None)


def _said(row: dict) -> str:
    """The best run in words: its name, what it was chosen on and its score there."""
    score = (
        f"{row['own']:.0%} on your {row['own_n']} questions"
        if row["basis"].startswith("your")
        else f"{row['adapter']:.0%} on the held-out rows"
    )
    return f"{row['run']} ({TrainConfig.describe(row['settings']) or 'the first settings'}; {score})"


NOTHING_SCORED = "No run of the leaderboard has an accuracy yet: the best is chosen once one is evaluated."


def export_best(parent: str, ds=None):
    """The best run's adapter as a zip (the Train tab's zip, with its README), and what was exported."""
    row = best_row(parent, ds)
    if row is None:
        return gr.File(visible=False), box(NOTHING_SCORED, "warn")
    _, _, adapter, _ = load_run_inputs(row["run_id"])
    zipped = adapter_zip({"adapter_path": adapter, "job_id": f"best-{row['run_id'][:8]}"})
    return gr.File(zipped, visible=True), box(
        f"Exported the best run, {_said(row)}: {Path(zipped).name}, below.", "ok"
    )


def clone_best(parent: str, ds=None):
    """The form showing the best run's settings (unchanged when no run is scored yet), and what was cloned."""
    row = best_row(parent, ds)
    if row is None:
        return (*(gr.skip(),) * (len(FIELDS) + 1), box(NOTHING_SCORED, "warn"))
    cfg = TrainConfig.from_dict({**load_run_dict(row["run_id"], "config.json"), "parent_run_id": ""})
    return (*form_values(cfg), box(f"The form now holds the settings of the best run, {_said(row)}.", "ok"))
