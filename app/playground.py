"""The playground (step 5, under the evaluation): ask both models a question in your own words, run their SQL, and
keep the question with its checked SQL as one of your questions (an evaluation set of your own, never trained on)
or as a new training pair."""

import gradio as gr

from app.common import (
    USER_ERRORS,
    Dataset,
    box,
    candidates_slider,
    db_target,
    playground_generator,
    result_frame,
    write_pairs,
)
from core.data import Pair
from core.db.your_questions import ENOUGH, add_question, database_of
from core.evaluate import (
    database_for,
    generating,
    load_run_inputs,
    schema_tables,
    training_busy_message,
)
from core.evaluate.ask import ask_model
from core.redact import redact

VOTE_HEADERS = ["votes", "times drawn", "SQL", "outcome"]


def build_playground() -> dict:
    c = {}
    gr.Markdown(
        "### Playground\nAsk a question in your own words; both models answer (the base model with the schema "
        "in its prompt, the adapter with the prompt it trained on), and their SQL runs read-only on the "
        "database. Keep a question whose answer you checked as **one of your questions**: they are scored "
        "beside the held-out rows at every evaluation and never trained on."
    )
    with gr.Row():
        c["question"] = gr.Textbox(
            label="Question",
            scale=4,
            elem_id="pg-question",
            placeholder="e.g. Which customers bought nothing in March?",
        )
        c["ask_btn"] = gr.Button("Ask both models", variant="primary", scale=1, elem_id="ask")
    c["pg_candidates"] = candidates_slider("pg-candidates")
    c["schema_check"] = gr.Checkbox(
        True,
        label="Schema check",
        elem_id="pg-schema-check",
        info="Repair a table or column name the database does not have to the nearest "
        "one it has, when only one is near (applied to both models; the change is shown "
        "as a comment above the SQL).",
    )
    with gr.Row():
        with gr.Column():
            c["base_sql"] = gr.Code(
                label="Base model SQL (schema in its prompt)",
                language="sql",
                elem_id="pg-base-sql",
                lines=4,
                wrap_lines=True,
            )
            c["base_result"] = gr.Dataframe(
                label="Base model rows", interactive=False, max_height=240, visible=False
            )
        with gr.Column():
            c["adapter_sql"] = gr.Code(
                label="Adapter SQL", language="sql", elem_id="pg-adapter-sql", lines=4, wrap_lines=True
            )
            c["adapter_result"] = gr.Dataframe(
                label="Adapter rows", interactive=False, max_height=240, visible=False
            )
    c["votes"] = gr.Dataframe(
        headers=VOTE_HEADERS,
        label="The adapter's candidates (with more than one candidate per answer): the winner first",
        interactive=False,
        wrap=True,
        max_height=240,
        elem_id="pg-votes",
    )
    c["pg_message"] = gr.HTML(elem_id="pg-message")
    with gr.Row():
        with gr.Column(scale=3):
            c["corrected"] = gr.Code(
                label="The right SQL, checked by you (write it, or start from the adapter's answer and correct it)",
                language="sql",
                interactive=True,
                elem_id="pg-corrected",
                lines=4,
                wrap_lines=True,
            )
            c["corrected_rows"] = gr.Dataframe(
                label="What this SQL returns (what will be kept as the right answer)",
                interactive=False,
                max_height=200,
                visible=False,
                elem_id="pg-corrected-rows",
            )
        with gr.Column():
            c["use_answer_btn"] = gr.Button(
                "Start from the adapter's answer", size="sm", elem_id="pg-use-answer"
            )
            c["run_corrected_btn"] = gr.Button("Run this SQL", size="sm", elem_id="pg-run-corrected")
            c["keep_btn"] = gr.Button(
                "Keep as one of my questions (evaluation only)", variant="primary", elem_id="pg-keep"
            )
            c["add_btn"] = gr.Button("Add to the training data instead")
            c["dataset_file"] = gr.DownloadButton("Download the dataset (.jsonl)", visible=False)
    return c


def without_comments(sql: str) -> str:
    """The SQL of a box, without the schema check's comment lines."""
    return "\n".join(line for line in (sql or "").splitlines() if not line.strip().startswith("--")).strip()


def cleared(question: str):
    """A new question: the previous answers go (they answered another question). (7 outputs)"""
    return "", gr.Dataframe(visible=False), "", gr.Dataframe(visible=False), "", "", None


def run_corrected(run_id, sql: str, kind, db_file, pg_url):
    """The rows the SQL in the right-SQL box returns: what keeping it would keep. (rows grid, message)"""
    sql = without_comments(sql)
    if not run_id or not sql:
        return gr.Dataframe(visible=False), box("Pick a run and write the right SQL first.", "warn")
    try:
        cfg, _, _, record = load_run_inputs(run_id)
        target, data = db_target(kind, db_file, pg_url)
        result = database_for(cfg, target, data).execute(sql, record.dialect)
    except (*USER_ERRORS, ValueError, ConnectionError, FileNotFoundError) as e:
        return gr.Dataframe(visible=False), box(redact(str(e)), "error")
    if not result.ok:
        return gr.Dataframe(visible=False), box(
            f"This SQL does not run on the database: {result.error}", "error"
        )
    n = len(result.rows)
    return gr.Dataframe(result_frame(result), visible=True), box(
        f"It returns {n} row{'s' if n != 1 else ''}: if they answer the question, keep it.", "info"
    )


def ask(run_id, question, kind, db_file, pg_url, schema_check=True, candidates=1):
    """Base and adapter SQL for one question, each executed read-only; with several candidates per answer, each
    model's candidates vote by their results and the adapter's are listed with their votes. (7 outputs)"""
    if not run_id or not (question or "").strip():
        return "", [], "", [], box("Pick a run and type a question.", "warn"), "", []
    if busy := training_busy_message():
        return "", [], "", [], box(busy, "warn"), "", []
    with generating():
        return _ask(run_id, question, kind, db_file, pg_url, schema_check, int(candidates or 1))


def _ask(run_id, question, kind, db_file, pg_url, schema_check, candidates):
    try:
        cfg, _, adapter, record = load_run_inputs(run_id)
        target, data = db_target(kind, db_file, pg_url)
        db = database_for(cfg, target, data)
        tables = schema_tables(record) if schema_check else {}
        # the base model at its best (the schema in its prompt), the adapter with the prompt it trained on
        answers = [
            ask_model(
                playground_generator(), side, path, question, db, cfg.trust_remote_code, candidates, tables
            )
            for side, path in ((record.baseline(), None), (record, adapter))
        ]
    except (*USER_ERRORS, ValueError, ConnectionError, FileNotFoundError, RuntimeError) as e:
        return "", [], "", [], box(redact(str(e)), "error"), "", []
    base, tuned = answers
    votes = tuned.ballot.table() if tuned.ballot else []
    return (
        base.shown or base.raw,
        gr.Dataframe(result_frame(base.result), visible=True),
        tuned.shown or tuned.raw,
        gr.Dataframe(result_frame(tuned.result), visible=True),
        "",
        "",  # the right-SQL box stays empty: only SQL the person checked is kept (one click starts from the answer)
        votes,
    )


def keep_question(run_id, question: str, sql: str):
    """Keep the question with its checked SQL among the run's database's own questions."""
    if not run_id or not (question or "").strip() or not (sql or "").strip():
        return box("Ask a question first; the SQL box must hold the right SQL.", "warn")
    sql = without_comments(sql)
    try:
        cfg, _, _, record = load_run_inputs(run_id)
        result = database_for(cfg).execute(sql, record.dialect)
        if not result.ok:  # an answer that does not run would score every model wrong
            return box(
                f"Not kept: this SQL does not run on the run's database ({result.error}). Correct it.",
                "error",
            )
        count, new = add_question(database_of(cfg), question, sql)
    except (*USER_ERRORS, ValueError, OSError, ConnectionError) as e:
        return box(redact(str(e)), "error")
    more = f" Add {ENOUGH - count} more for a score worth reading." if count < ENOUGH else ""
    return box(
        f"{'Kept' if new else 'Updated'}: you have {count} question{'s' if count != 1 else ''} of your own for "
        f"this database. The next evaluation scores them as their own line; training leaves them out.{more}",
        "ok",
    )


def add_pair(ds: Dataset, question: str, sql: str):
    """Append a corrected pair to the session's dataset and offer the dataset as a download."""
    if not (question or "").strip() or not (sql or "").strip():
        return ds, box("Type a question and the corrected SQL first.", "warn"), gr.skip()
    ds = ds or Dataset()
    next_row = max((p.row for p in ds.pairs), default=0) + 1
    ds.pairs = [*ds.pairs, Pair(question.strip(), sql.strip(), next_row)]
    target = write_pairs(ds.pairs)
    ds.path = str(target)
    return (
        ds,
        box(
            f"Added as row {next_row}; the dataset now has {len(ds.pairs)} rows. Check it again in step 1 "
            "before training.",
            "ok",
        ),
        gr.DownloadButton(value=str(target), visible=True),
    )


def wire_playground(e: dict, dataset, db: list) -> None:
    """The playground's events (app.ui calls it with the Evaluate tab's components; `db` its database choice)."""
    answers = [
        e["base_sql"],
        e["base_result"],
        e["adapter_sql"],
        e["adapter_result"],
        e["pg_message"],
        e["corrected"],
        e["votes"],
    ]
    e["ask_btn"].click(
        ask,
        [e["run"], e["question"], *db, e["schema_check"], e["pg_candidates"]],
        answers,
        api_name="ask",
        concurrency_limit=1,
        concurrency_id="generate",
    )
    e["question"].input(cleared, e["question"], answers, show_progress="hidden")
    e["use_answer_btn"].click(without_comments, e["adapter_sql"], e["corrected"])
    e["run_corrected_btn"].click(
        run_corrected,
        [e["run"], e["corrected"], *db],
        [e["corrected_rows"], e["pg_message"]],
        api_name="run_corrected",
    )
    e["keep_btn"].click(
        keep_question, [e["run"], e["question"], e["corrected"]], e["pg_message"], api_name="keep_question"
    )
    e["add_btn"].click(
        add_pair,
        [dataset, e["question"], e["corrected"]],
        [dataset, e["pg_message"], e["dataset_file"]],
        api_name="add_pair",
    )
