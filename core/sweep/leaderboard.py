"""The leaderboard of a sweep (or of any runs): each run's settings that differ from the others', base and adapter
execution accuracy, valid SQL, final eval loss and minutes, sorted by the adapter's accuracy; the first is the best.

    rows = leaderboard(parent_run_id)        # the sweep's child runs
    rows = leaderboard(run_ids=[...])        # the runs of a queue
    text = leaderboard_text(rows)            # a Markdown table, as the sweep's parent run logs it

All runs of a sweep or a queue are scored on the same held-out rows (one split seed; each run records a hash of the
rows it held out, `held_out_rows`): a row whose hash differs from the others' is marked, because its accuracy does
not compare.
"""

import json

from core.config import TrainConfig
from core.data.english import share
from core.db.your_questions import ENOUGH
from core.redact import redact

COLUMNS = [
    "best",
    "run",
    "settings",
    "base exec acc",
    "adapter exec acc",
    "your questions",
    "valid SQL",
    "eval loss",
    "minutes",
    "status",
]
OWN = "eval_your_questions"  # the metrics of the person's own questions (core.evaluate.of_run)


def _runs(
    parent_run_id: str | None, run_ids: list[str] | None, tracking_uri: str | None, database: str | None
) -> list:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    if run_ids:
        return [client.get_run(r) for r in run_ids if r]
    if database is not None:  # every run that trained on this database: single runs, queues and sweeps alike
        experiments = [e.experiment_id for e in client.search_experiments()]
        value = redact(database).replace(
            '"', '\\"'
        )  # MLflow reads a double-quoted value as written (O'Brien.sqlite)
        return client.search_runs(experiments, f'params.`cfg.database` = "{value}"', max_results=500)
    parent = client.get_run(parent_run_id)
    return client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent_run_id}'", max_results=500
    )


def _differing(runs: list) -> dict[str, dict]:
    """run id -> the cfg.* params whose values are not the same in every run (the run name left out)."""
    params = {
        r.info.run_id: {k[4:]: v for k, v in r.data.params.items() if k.startswith("cfg.")} for r in runs
    }
    names = {k for p in params.values() for k in p} - {"run_name", "data_name"}
    varying = sorted(n for n in names if len({p.get(n) for p in params.values()}) > 1)
    return {run_id: {n: _typed(n, p.get(n, "")) for n in varying} for run_id, p in params.items()}


def _typed(name: str, text: str):
    """A logged parameter (MLflow keeps text) as its setting's type, so it is said as the form says it."""
    if name not in TrainConfig.__dataclass_fields__:
        return text
    try:
        return TrainConfig.coerce(name, None if text == "None" else text)
    except (ValueError, TypeError):
        return text


def leaderboard(
    parent_run_id: str | None = None,
    run_ids: list[str] | None = None,
    tracking_uri: str | None = None,
    database: str | None = None,
) -> list[dict]:
    """One row per run, the best first (see `choose_best`; runs without an accuracy last). `database`: every run
    that trained on that connected database (its source as the studio connected it)."""
    runs = [r for r in _runs(parent_run_id, run_ids, tracking_uri, database) if not _is_sweep_parent(r)]
    settings = _differing(runs)
    # the held-out rows most scored runs share (runs never evaluated have no say)
    held = [r.data.tags.get("held_out_rows", "") for r in runs if "eval_exec_accuracy" in r.data.metrics]
    common = max(set(held), key=held.count) if held else ""
    rows = []
    for run in runs:
        m, info = run.data.metrics, run.info
        minutes = (info.end_time - info.start_time) / 60000 if info.end_time and info.start_time else None
        rows.append(
            {
                "run_id": info.run_id,
                "run": info.run_name or info.run_id[:8],
                "settings": settings.get(info.run_id, {}),
                "base": m.get("base_exec_accuracy"),
                # a run with score_checkpoints: its adapter is its most accurate step (adapter_step)
                "adapter": m.get("adapter_exec_accuracy", m.get("eval_exec_accuracy")),
                "step": run.data.tags.get("adapter_step", ""),
                "own": m.get(f"{OWN}_exec_accuracy"),
                "own_n": int(m.get(f"{OWN}_n", 0)),
                "valid": m.get("eval_valid_sql_rate"),
                "eval_loss": m.get("eval_loss"),
                "minutes": minutes,
                "status": run.data.tags.get("outcome", info.status.lower()),
                "same_rows": run.data.tags.get("held_out_rows", "") == common,
                "best": False,
            }
        )
    return choose_best(rows)


def _is_sweep_parent(run) -> bool:
    return "studio.sweep" in run.data.tags


def choose_best(rows: list[dict]) -> list[dict]:
    """The rows sorted best first, the best marked, and `basis` saying what it was chosen on: the person's own
    questions when a run was scored on ENOUGH of them (they are what the person cares about and never trained on),
    else the held-out rows."""
    own = [r for r in rows if r["own"] is not None and r["own_n"] >= ENOUGH]
    if own:  # ranked among the runs scored on all of the questions: 10 of 10 does not outrank 27 of 30
        n = max(r["own_n"] for r in own)
        basis = f"your {n} questions"
        rows.sort(key=lambda r: (r["own"] is None or r["own_n"] < n, -(r["own"] or 0), -(r["adapter"] or 0)))
    else:  # runs scored on other held-out rows do not compare: they come after
        basis = "the held-out rows"
        rows.sort(
            key=lambda r: (
                r["adapter"] is None,
                not r["same_rows"],
                -(r["adapter"] or 0),
                r["eval_loss"] or 1e9,
            )
        )
    for r in rows:
        r["basis"] = basis
    if rows and (rows[0]["own"] if own else rows[0]["adapter"]) is not None:
        rows[0]["best"] = True
    return rows


def _pct(value) -> str:
    return f"{value:.0%}" if value is not None else "-"


def table_rows(rows: list[dict]) -> list[list]:
    """The rows as a grid shows them (COLUMNS): settings by their form labels, accuracies with their counts where
    known; no paths, no run ids."""
    return [
        [
            f"best (on {r['basis']})" if r["best"] else "",
            r["run"],
            TrainConfig.describe(r["settings"]) or "-",
            _pct(r["base"]),
            _pct(r["adapter"])
            + (f" (step {r['step']}, chosen on these rows)" if r.get("step") else "")
            + ("" if r["same_rows"] else " (other rows)"),
            share(round(r["own"] * r["own_n"]), r["own_n"]) if r["own"] is not None and r["own_n"] else "-",
            _pct(r["valid"]),
            f"{r['eval_loss']:.4f}" if r["eval_loss"] is not None else "-",
            f"{r['minutes']:.1f}" if r["minutes"] is not None else "-",
            r["status"],
        ]
        for r in rows
    ]


def leaderboard_text(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in table_rows(rows)]
    return "\n".join(lines) + "\n"


def leaderboard_json(rows: list[dict]) -> str:
    return json.dumps(rows, indent=1, default=str)
