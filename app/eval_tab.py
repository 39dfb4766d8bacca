"""Tab 5: does the adapter write better SQL? Execution accuracy, base vs fine-tuned, and a playground."""

import html

import gradio as gr

from app.charts import category_figure
from app.common import RUN_DATABASE, USER_ERRORS, box, candidates_slider, db_target, result_frame
from core.db.your_questions import ENOUGH, SET_NAME
from core.evaluate import SIDE_LABELS, evaluate_run, logged_evaluation, training_busy_message, verdict
from core.evaluate.score import right
from core.redact import redact
from core.runstate import WITH_ADAPTER
from core.tracking import list_runs

FILTERS = ["all rows", "fixed by fine-tuning", "broken by fine-tuning", "still wrong", "both correct"]
ROW_HEADERS = ["row", "question", "gold SQL", "base SQL", "adapter SQL", "base", "adapter", "change"]


def build_eval_tab() -> dict:
    c = {}
    gr.Markdown(
        "Run the held-out questions (never trained on) through the base model and the adapter, **execute** "
        "both SQL answers on a real database, and compare results. Model-written SQL runs read-only, one "
        "statement at a time, with a timeout."
    )
    with gr.Row():
        c["run"] = gr.Dropdown(
            [], label="Training run", scale=3, info="Finished runs of the experiment.", elem_id="eval-run"
        )
        c["refresh_btn"] = gr.Button("Refresh", size="sm", scale=1)
    with gr.Row():
        c["db_kind"] = gr.Radio(
            [RUN_DATABASE, "Embedded DuckDB", "PostgreSQL", "SQLite file"],
            value=RUN_DATABASE,
            label="Database",
            info="The run's database: the one connected in step 1 when it "
            "trained (else DuckDB built from its schema). DuckDB is built from the run's schema plus "
            "data (the sample data for the sample schema, or a file you give).",
        )
        c["db_file"] = gr.File(
            label="Data (SQL script of INSERTs, or a SQLite file)", file_types=[".sql", ".sqlite", ".db"]
        )
        c["pg_url"] = gr.Textbox(
            label="PostgreSQL URL",
            type="password",
            placeholder="postgresql://user:pass@localhost/db",
            info="Used read-only; never logged, stored or shown.",
        )
    with gr.Row():
        c["include_base"] = gr.Checkbox(
            True, label="Also evaluate the base model (side by side)", elem_id="eval-base"
        )
        c["candidates"] = candidates_slider("eval-candidates")
        c["eval_btn"] = gr.Button("Evaluate", variant="primary", elem_id="evaluate")
    c["message"] = gr.HTML(elem_id="eval-message")
    c["headline"] = gr.HTML(elem_id="eval-headline")
    c["chart"] = gr.Plot(label="Outcomes", visible=False)
    c["filter"] = gr.Dropdown(FILTERS, value="all rows", label="Show")
    c["table"] = gr.Dataframe(
        headers=ROW_HEADERS,
        interactive=False,
        wrap=True,
        max_height=420,
        elem_id="eval-table",
        # the three SQL columns wrapped beside the question: the outcome columns stay on screen at 1440 px
        column_widths=["4%", "16%", "18%", "18%", "18%", "8%", "8%", "10%"],
    )
    c["pick"] = gr.Number(label="Row to inspect", precision=0)
    with gr.Row():
        c["gold_rows"] = gr.Dataframe(label="Gold result", interactive=False, max_height=240)
        c["base_rows"] = gr.Dataframe(label="Base model result", interactive=False, max_height=240)
        c["adapter_rows"] = gr.Dataframe(label="Adapter result", interactive=False, max_height=240)
    c["report"] = gr.State(None)

    return c


def show_logged(run_id):
    """A run's evaluation as logged (when its training ended, or an earlier Evaluate): shown without running it
    again. (message, headline, chart, table, report)."""
    report = logged_evaluation(run_id) if run_id else None
    if report is None or not report.summaries:
        return (
            (box("This run has not been evaluated yet: press Evaluate.", "info") if run_id else ""),
            "",
            gr.Plot(visible=False),
            [],
            None,
        )
    return (
        box(
            f"The evaluation logged to this run ({report.rows} held-out rows). Press Evaluate to run it again "
            "(on another database, say).",
            "ok",
        ),
        headline_html(report),
        gr.Plot(category_figure(report.summaries), visible=True),
        table_rows(report, "all rows"),
        report,
    )


def finished_runs(experiment: str = "text2sql-finetune"):
    try:
        rows = [r for r in list_runs(experiment) if r[2] in WITH_ADAPTER]
    except Exception as e:  # noqa: BLE001
        return gr.Dropdown(choices=[]), box(f"MLflow is not answering ({type(e).__name__}).", "warn")
    choices = [(f"{r[0]} ({r[11]}, {r[3]})", r[-1]) for r in rows]
    return gr.Dropdown(choices=choices, value=choices[0][1] if choices else None), (
        "" if choices else box("No finished runs yet: train one in step 3.", "info")
    )


def headline_html(report) -> str:
    """Accuracies side by side: the base model with the schema in its prompt (the fair baseline), the base model
    with the adapter's prompt where that differs, and the fine-tuned model; as generated and with the schema check;
    one line per set scored (the held-out rows, your own questions); then whether fine-tuning beat the baseline."""
    summaries = report.summaries
    names = [n for n in SIDE_LABELS if n in summaries]

    def cells(values: dict, key: str, bold: bool) -> str:
        """Accuracies with the counts they rest on ('8% (2 of 25)'), the other rates as percentages."""
        shown = {
            n: right(v, key) if key.startswith("exec") else f"{v.get(key, 0):.0%}" for n, v in values.items()
        }
        return "".join(
            f"<td>{'<b>' if bold and n == 'adapter' else ''}{shown[n]}{'</b>' if bold and n == 'adapter' else ''}</td>"
            if n in values
            else "<td>-</td>"
            for n in names
        )

    voted = next((s["candidates"] for s in summaries.values() if "candidates" in s), 0)
    rows = "".join(
        f"<tr><td>{label}</td>{cells(summaries, key, key.startswith('exec'))}</tr>"
        for label, key in (
            ("Execution accuracy", "exec_accuracy"),
            ("... with the schema check", "exec_accuracy_checked"),
            *([(f"... with voting ({voted} candidates)", "exec_accuracy_voted")] if voted else []),
            ("Valid SQL", "valid_sql_rate"),
            ("Executes", "executable_rate"),
            ("Exact match", "exact_match"),
        )
    )
    for set_name, values in report.set_summaries.items():
        n = next(iter(values.values()))["n"] if values else 0
        rows += f"<tr><td><b>{n} {html.escape(set_name)}</b>: execution accuracy</td>{cells(values, 'exec_accuracy', True)}</tr>"
    head = "".join(f"<th>{SIDE_LABELS[name]}</th>" for name in names)
    table = (
        f'<table class="headline"><tr><th>{report.rows} {html.escape(report.held_out)}</th>{head}</tr>{rows}'
        "</table>"
    )
    notes = [verdict(summaries)]
    own = next((v for k, v in report.set_summaries.items() if k == SET_NAME), None)
    count = next(iter(own.values()))["n"] if own else 0
    if count < ENOUGH:
        notes.append(
            f"These scores are on {'template wording' if 'generated' in report.held_out else 'held-out rows'}"
            f"{f' and {count} of your own questions' if count else ''}. Ask the playground below "
            f"{ENOUGH - count} more question{'s' if ENOUGH - count != 1 else ''} in your own words and keep "
            "the ones whose SQL you checked: they are scored at every evaluation and never trained on."
        )
    return table + "".join(box(n, "info") for n in notes if n)


def run_evaluation(run_id, kind, db_file, pg_url, include_base, candidates=1, progress=gr.Progress()):  # noqa: B008 - gradio idiom
    if not run_id:
        return box("Pick a finished run first.", "warn"), gr.skip(), gr.skip(), gr.skip(), None
    if busy := training_busy_message():  # refuse clearly rather than slow or starve the training
        return box(busy, "warn"), gr.skip(), gr.skip(), gr.skip(), None
    try:
        target, data = db_target(kind, db_file, pg_url)
        report = evaluate_run(
            run_id,
            target,
            data,
            bool(include_base),
            progress=lambda m: progress(0.5, desc=m),
            candidates=int(candidates or 1),
        )
    except (*USER_ERRORS, ValueError, ConnectionError, FileNotFoundError) as e:
        return box(redact(str(e)), "error"), gr.skip(), gr.skip(), gr.skip(), None
    summaries = report.summaries
    msg = box(
        f"Evaluated {report.rows} held-out rows {report.timing()}; logged to the run in MLflow."
        + (
            f" {report.gold_failures} gold queries did not run on this database and were left out."
            if report.gold_failures
            else ""
        ),
        "ok",
    )
    return (
        msg,
        headline_html(report),
        gr.Plot(category_figure(summaries), visible=True),
        table_rows(report, "all rows"),
        report,
    )


def table_rows(report, which: str) -> list[list]:
    if report is None:
        return []
    rows = report.side_by_side() or [
        {
            "row": r.row,
            "question": r.question,
            "gold_sql": r.gold_sql,
            "base_sql": "",
            "adapter_sql": r.sql,
            "base": "",
            "adapter": r.category,
            "change": "",
        }
        for r in report.results.get("adapter", [])
    ]
    return [
        [
            r["row"],
            r["question"],
            r["gold_sql"],
            r["base_sql"],
            r["adapter_sql"],
            r["base"],
            r["adapter"],
            r["change"],
        ]
        for r in rows
        if which == "all rows" or r["change"] == which
    ]


def inspect_row(report, row_number):
    """The gold result and each model's, under their own column names."""
    if report is None or row_number is None:
        return [], [], []
    out = [
        next((r for r in report.results.get(name, []) if r.row == int(row_number)), None)
        for name in ("base", "adapter")
    ]
    first = next((m for m in out if m), None)
    gold = result_frame(None, first.gold_rows, first.gold_columns) if first else []
    return gold, *(result_frame(None, m.pred_rows, m.pred_columns) if m else [] for m in out)
