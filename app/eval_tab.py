"""Tab 5: does the adapter write better SQL? Execution accuracy, base vs fine-tuned, and a playground."""


import gradio as gr

from app.charts import category_figure
from app.common import USER_ERRORS, Dataset, box, write_pairs
from core.data import Pair
from core.evaluate import (
    SIDE_LABELS,
    SchemaCheck,
    check_names,
    database_for,
    evaluate_run,
    extract_sql,
    generating,
    load_run_inputs,
    logged_evaluation,
    schema_tables,
    training_busy_message,
)
from core.redact import redact
from core.tracking import list_runs

RUN_DATABASE = "The run's database"
FILTERS = ["all rows", "fixed by fine-tuning", "broken by fine-tuning", "still wrong", "both correct"]
ROW_HEADERS = ["row", "question", "gold SQL", "base SQL", "adapter SQL", "base", "adapter", "change"]
_generators: list = []  # the playground's GeneratorProcess, kept between questions (at most one)


def build_eval_tab() -> dict:
    c = {}
    gr.Markdown("Run the held-out questions (never trained on) through the base model and the adapter, **execute** "
                "both SQL answers on a real database, and compare results. Model-written SQL runs read-only, one "
                "statement at a time, with a timeout.")
    with gr.Row():
        c["run"] = gr.Dropdown([], label="Training run", scale=3, info="Finished runs of the experiment.",
                               elem_id="eval-run")
        c["refresh_btn"] = gr.Button("Refresh", size="sm", scale=1)
    with gr.Row():
        c["db_kind"] = gr.Radio([RUN_DATABASE, "Embedded DuckDB", "PostgreSQL", "SQLite file"], value=RUN_DATABASE,
                                label="Database", info="The run's database: the one connected in step 1 when it "
                                "trained (else DuckDB built from its schema). DuckDB is built from the run's schema plus "
                                "data (the sample data for the sample schema, or a file you give).")
        c["db_file"] = gr.File(label="Data (SQL script of INSERTs, or a SQLite file)", file_types=[".sql", ".sqlite", ".db"])
        c["pg_url"] = gr.Textbox(label="PostgreSQL URL", type="password", placeholder="postgresql://user:pass@localhost/db",
                                 info="Used read-only; never logged, stored or shown.")
    with gr.Row():
        c["include_base"] = gr.Checkbox(True, label="Also evaluate the base model (side by side)", elem_id="eval-base")
        c["eval_btn"] = gr.Button("Evaluate", variant="primary", elem_id="evaluate")
    c["message"] = gr.HTML(elem_id="eval-message")
    c["headline"] = gr.HTML(elem_id="eval-headline")
    c["chart"] = gr.Plot(label="Outcomes")
    c["filter"] = gr.Dropdown(FILTERS, value="all rows", label="Show")
    c["table"] = gr.Dataframe(headers=ROW_HEADERS, interactive=False, wrap=True, max_height=420, elem_id="eval-table")
    c["pick"] = gr.Number(label="Row to inspect", precision=0)
    with gr.Row():
        c["gold_rows"] = gr.Dataframe(label="Gold result", interactive=False, max_height=240)
        c["base_rows"] = gr.Dataframe(label="Base model result", interactive=False, max_height=240)
        c["adapter_rows"] = gr.Dataframe(label="Adapter result", interactive=False, max_height=240)
    c["report"] = gr.State(None)

    gr.Markdown("### Playground\nAsk a question; both models answer, and their SQL runs (read-only) on the database.")
    with gr.Row():
        c["question"] = gr.Textbox(label="Question", scale=4, elem_id="pg-question",
                                   placeholder="e.g. Total sales amount per region?")
        c["ask_btn"] = gr.Button("Ask both models", variant="primary", scale=1, elem_id="ask")
    c["schema_check"] = gr.Checkbox(True, label="Schema check", elem_id="pg-schema-check",
                                    info="Repair a table or column name the database does not have to the nearest "
                                    "one it has, when only one is near (applied to both models; the change is shown "
                                    "as a comment above the SQL).")
    with gr.Row():
        with gr.Column():
            c["base_sql"] = gr.Code(label="Base model SQL", language="sql", elem_id="pg-base-sql")
            c["base_result"] = gr.Dataframe(label="Base model rows", interactive=False, max_height=240)
        with gr.Column():
            c["adapter_sql"] = gr.Code(label="Adapter SQL", language="sql", elem_id="pg-adapter-sql")
            c["adapter_result"] = gr.Dataframe(label="Adapter rows", interactive=False, max_height=240)
    c["pg_message"] = gr.HTML(elem_id="pg-message")
    with gr.Row():
        c["corrected"] = gr.Code(label="Corrected SQL (to add as a new training pair)", language="sql", interactive=True)
        with gr.Column():
            c["add_btn"] = gr.Button("Add the corrected pair to the dataset")
            c["dataset_file"] = gr.DownloadButton("Download the dataset (.jsonl)", visible=False)
    return c


def show_logged(run_id):
    """A run's evaluation as logged (when its training ended, or an earlier Evaluate): shown without running it
    again. (message, headline, chart, table, report)."""
    report = logged_evaluation(run_id) if run_id else None
    if report is None or not report.summaries:
        return ((box("This run has not been evaluated yet: press Evaluate.", "info") if run_id else ""),
                "", None, [], None)
    return (box(f"The evaluation logged to this run ({report.rows} held-out rows). Press Evaluate to run it again "
                "(on another database, say).", "ok"), headline_html(report.summaries),
            category_figure(report.summaries), table_rows(report, "all rows"), report)


def finished_runs(experiment: str = "text2sql-finetune"):
    try:
        rows = [r for r in list_runs(experiment) if r[2] in ("completed", "stopped")]
    except Exception as e:  # noqa: BLE001
        return gr.Dropdown(choices=[]), box(f"MLflow is not answering ({type(e).__name__}).", "warn")
    choices = [(f"{r[0]} ({r[11]}, {r[3]})", r[-1]) for r in rows]
    return gr.Dropdown(choices=choices, value=choices[0][1] if choices else None), \
        ("" if choices else box("No finished runs yet: train one in step 3.", "info"))


def _db_target(kind: str, db_file, pg_url: str) -> tuple[str | None, str | None]:
    if kind == RUN_DATABASE:
        return None, None
    if kind == "PostgreSQL":
        if not (pg_url or "").startswith(("postgresql://", "postgres://")):
            raise ValueError("Enter a PostgreSQL URL (postgresql://user:password@host/db).")
        return pg_url, None
    if kind == "SQLite file":
        if not db_file:
            raise ValueError("Upload the SQLite file first.")
        return str(db_file), None
    return "duckdb", (str(db_file) if db_file else None)


def headline_html(summaries: dict) -> str:
    """Accuracies side by side: the base model with the schema in its prompt (the fair baseline), the base model
    with the adapter's prompt where that differs, and the fine-tuned model; as generated and with the schema check."""
    names = [n for n in SIDE_LABELS if n in summaries]

    def cells(key, bold):
        return "".join(f"<td>{'<b>' if bold and n == 'adapter' else ''}{summaries[n].get(key, 0):.0%}"
                       f"{'</b>' if bold and n == 'adapter' else ''}</td>" for n in names)

    rows = "".join(f"<tr><td>{label}</td>{cells(key, key.startswith('exec'))}</tr>"
                   for label, key in (("Execution accuracy", "exec_accuracy"),
                                      ("... with the schema check", "exec_accuracy_checked"),
                                      ("Valid SQL", "valid_sql_rate"), ("Executes", "executable_rate"),
                                      ("Exact match", "exact_match")))
    n = next(iter(summaries.values()))["n"] if summaries else 0
    head = "".join(f"<th>{SIDE_LABELS[name]}</th>" for name in names)
    return f'<table class="headline"><tr><th>{n} held-out questions</th>{head}</tr>{rows}</table>'


def run_evaluation(run_id, kind, db_file, pg_url, include_base, progress=gr.Progress()):  # noqa: B008 - gradio idiom
    if not run_id:
        return box("Pick a finished run first.", "warn"), gr.skip(), gr.skip(), gr.skip(), None
    if busy := training_busy_message():  # refuse clearly rather than slow or starve the training
        return box(busy, "warn"), gr.skip(), gr.skip(), gr.skip(), None
    try:
        target, data = _db_target(kind, db_file, pg_url)
        report = evaluate_run(run_id, target, data, bool(include_base), progress=lambda m: progress(0.5, desc=m))
    except (*USER_ERRORS, ValueError, ConnectionError, FileNotFoundError) as e:
        return box(redact(str(e)), "error"), gr.skip(), gr.skip(), gr.skip(), None
    summaries = report.summaries
    msg = box(f"Evaluated {report.rows} held-out rows {report.timing()}; logged to the run in MLflow."
              + (f" {report.gold_failures} gold queries did not run on this database and were left out."
                 if report.gold_failures else ""), "ok")
    return msg, headline_html(summaries), category_figure(summaries), table_rows(report, "all rows"), report


def table_rows(report, which: str) -> list[list]:
    if report is None:
        return []
    rows = report.side_by_side() or [
        {"row": r.row, "question": r.question, "gold_sql": r.gold_sql, "base_sql": "", "adapter_sql": r.sql,
         "base": "", "adapter": r.category, "change": ""} for r in report.results.get("adapter", [])]
    return [[r["row"], r["question"], r["gold_sql"], r["base_sql"], r["adapter_sql"], r["base"], r["adapter"], r["change"]]
            for r in rows if which == "all rows" or r["change"] == which]


def inspect_row(report, row_number):
    if report is None or row_number is None:
        return [], [], []
    out = []
    for name in ("base", "adapter"):
        match = next((r for r in report.results.get(name, []) if r.row == int(row_number)), None)
        out.append(match)
    first = next((m for m in out if m), None)
    gold = [list(r) for r in first.gold_rows] if first else []
    return gold, *([list(r) for r in m.pred_rows] if m else [] for m in out)


def close_generators() -> None:
    """Free the playground's models (training is about to need the memory): its generation process ends."""
    while _generators:
        _generators.pop().close()


def _generator():
    """The playground's generation process (base and adapter stay loaded in it between questions)."""
    from core.evaluate import GeneratorProcess

    if _generators and not _generators[0].alive():
        close_generators()
    if not _generators:
        _generators.append(GeneratorProcess(keep=2))
    return _generators[0]


def ask(run_id, question, kind, db_file, pg_url, schema_check=True):
    """Base and adapter SQL for one question, each executed read-only. (6 outputs)"""
    if not run_id or not (question or "").strip():
        return "", [], "", [], box("Pick a run and type a question.", "warn"), ""
    if busy := training_busy_message():
        return "", [], "", [], box(busy, "warn"), ""
    with generating():
        return _ask(run_id, question, kind, db_file, pg_url, schema_check)


def _answer(sql: str, check: SchemaCheck) -> str:
    """The SQL shown: the repaired query under a comment that names what the schema check changed."""
    return f"-- schema check: {check.describe()}\n{check.sql}" if check.changed else sql


def _ask(run_id, question, kind, db_file, pg_url, schema_check):
    try:
        cfg, _, adapter, record = load_run_inputs(run_id)
        target, data = _db_target(kind, db_file, pg_url)
        db = database_for(cfg, target, data)
        tables = schema_tables(record) if schema_check else {}
        outputs = []
        # the base model at its best (the schema in its prompt), the adapter with the prompt it trained on
        for side, adapter_path in ((record.baseline(), None), (record, adapter)):
            prompt = side.prompt_messages(question.strip())
            [raw] = _generator().generate(record.base_model, adapter_path, cfg.trust_remote_code, [prompt],
                                          max_new_tokens=200)
            sql = extract_sql(raw)
            check = check_names(sql, tables, record.dialect) if sql and tables else SchemaCheck(sql)
            result = db.execute(check.sql, record.dialect) if sql else None
            rows = [list(r) for r in result.rows[:200]] if result and result.ok else \
                [[result.error if result else "no SQL in the answer"]]
            outputs.append((_answer(sql, check) if sql else raw, rows, check.sql))
    except (*USER_ERRORS, ValueError, ConnectionError, FileNotFoundError, RuntimeError) as e:
        return "", [], "", [], box(redact(str(e)), "error"), ""
    (base_sql, base_rows, _), (tuned_sql, tuned_rows, tuned_run) = outputs
    return base_sql, base_rows, tuned_sql, tuned_rows, "", tuned_run


def add_pair(ds: Dataset, question: str, sql: str):
    """Append a corrected pair to the session's dataset and offer the dataset as a download."""
    if not (question or "").strip() or not (sql or "").strip():
        return ds, box("Type a question and the corrected SQL first.", "warn"), gr.skip()
    ds = ds or Dataset()
    next_row = max((p.row for p in ds.pairs), default=0) + 1
    ds.pairs = [*ds.pairs, Pair(question.strip(), sql.strip(), next_row)]
    target = write_pairs(ds.pairs)
    ds.path = str(target)
    return ds, box(f"Added as row {next_row}; the dataset now has {len(ds.pairs)} rows. Check it again in step 1 "
                   "before training.", "ok"), gr.DownloadButton(value=str(target), visible=True)
