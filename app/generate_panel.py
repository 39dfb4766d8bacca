"""The Data tab's generate box: question/SQL pairs generated from the connected database (core.db.generate, each SQL
run on the database), shown in a table to filter by template, remove rows from and see a row's result in, downloaded
as JSONL, and added to the training set (the user's pairs win when questions clash).

The connection is the database box's (app.db_panel.Connection); app.ui wires both boxes into the Data tab.
"""

import json
import re
import uuid

import gradio as gr

from app.common import Dataset, box, progress_reporter, result_frame, write_pairs
from app.db_panel import Connection
from core.data import Pair
from core.data.english import counted
from core.data.split import normalise_question
from core.db import SourceError
from core.db.session import database
from core.defaults import pairs_to_generate
from core.pairgen import generate
from core.paths import data_dir
from core.train import gpu_available

GENERATED_HEADERS = ["#", "template", "question", "sql", "rows"]


def build_generate_box() -> dict:
    c = {}
    with gr.Accordion("Generate pairs from my database", open=False, elem_id="generate-box"):
        gr.Markdown(
            "Question/SQL pairs built from your tables and real values; every SQL was run on your database "
            "and returned rows. The same seed gives the same pairs."
        )
        with gr.Row():
            c["gen_n"] = gr.Number(
                pairs_to_generate(gpu_available()),
                label="How many pairs",
                info="The default follows the machine: 500 on a CPU (what its 10 minutes of training learn from), "
                "2,000 on a GPU (which trains many more epochs in its minutes).",
                precision=0,
                minimum=1,
                maximum=5000,
                elem_id="gen-n",
            )
            c["gen_seed"] = gr.Number(7, label="Seed", precision=0, elem_id="gen-seed")
            c["gen_btn"] = gr.Button("Generate pairs from my database", variant="primary", elem_id="gen-btn")
        c["gen_message"] = gr.HTML(elem_id="gen-message")
        with gr.Row():
            c["gen_filter"] = gr.Dropdown(
                ["all templates"], value="all templates", label="Show template", elem_id="gen-filter"
            )
            c["gen_remove"] = gr.Textbox(label="Remove rows (e.g. 3, 7-9)", elem_id="gen-remove")
            c["gen_remove_btn"] = gr.Button("Remove", size="sm")
        c["gen_table"] = gr.Dataframe(
            headers=GENERATED_HEADERS,
            interactive=False,
            wrap=True,
            max_height=360,
            elem_id="gen-table",
            # the question and its SQL side by side, wrapped: nothing to scroll sideways for at 1440 px
            column_widths=["5%", "14%", "36%", "37%", "8%"],
        )
        with gr.Row():
            c["gen_pick"] = gr.Number(label="See the result of row #", precision=0, elem_id="gen-pick")
            c["gen_result"] = gr.Dataframe(
                label="Result on your database", interactive=False, max_height=240, visible=False
            )  # shown once a row is picked: an empty grid would be headed "1 2 3"
        with gr.Row():
            c["gen_download"] = gr.DownloadButton(
                "Download the pairs (.jsonl)", visible=False, elem_id="gen-download"
            )
            c["gen_add_btn"] = gr.Button("Add to the training set", variant="primary", elem_id="gen-add")
        c["generated"] = gr.State([])
    return c


# ---- handlers ----


def on_generate(conn: Connection, n, seed, dialect: str, progress=gr.Progress()):  # noqa: B008 - gradio idiom
    """Outputs: generated rows (state), message, table, filter choices, download button."""
    if not conn or not conn.connected:
        return (
            [],
            box("Connect a database first (or use the sample database).", "warn"),
            [],
            gr.skip(),
            gr.skip(),
        )
    try:
        db = database(conn.source)
        result = generate(
            db,
            n=int(n or pairs_to_generate(gpu_available())),
            seed=int(seed or 0),
            info=conn.schema(),
            dialect=dialect or conn.dialect,
            progress=progress_reporter(progress, lambda done, total: f"{done} of {total} pairs"),
        )
    except (ValueError, SourceError) as e:
        return [], box(str(e), "error"), [], gr.skip(), gr.skip()
    rows = [{**p.record(), "rows": p.rows} for p in result.pairs]
    kinds = sorted({r["template"] for r in rows})
    notes = "; ".join(result.stats.notes(int(n or 200), len(rows)))
    notes = notes[:1].upper() + notes[1:]  # a sentence of its own after the summary
    message = box(
        f"{len(rows)} pairs ({result.stats.queries} distinct queries, two or three wordings each) from "
        f"{len(kinds)} templates, each run on {conn.label} with rows in its result. {notes}.",
        "ok",
    )
    return (
        rows,
        message,
        table_rows(rows, "all templates"),
        gr.Dropdown(choices=["all templates", *kinds], value="all templates"),
        _download(rows),
    )


def table_rows(rows: list[dict], which: str) -> list[list]:
    return [
        [i, r["template"], r["question"], r["sql"], r["rows"]]
        for i, r in enumerate(rows, start=1)
        if which in (None, "", "all templates") or r["template"] == which
    ]


def _download(rows: list[dict]):
    if not rows:
        return gr.DownloadButton(visible=False)
    target = data_dir() / "uploads" / f"generated-{uuid.uuid4().hex[:8]}.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        "".join(
            json.dumps(
                {k: r[k] for k in ("question", "sql", "source", "template", "phrasing")}, ensure_ascii=False
            )
            + "\n"
            for r in rows
        ),
        encoding="utf-8",
    )
    return gr.DownloadButton(value=str(target), visible=True)


def parse_row_numbers(text: str, count: int) -> set[int]:
    """'3, 7-9' -> {3, 7, 8, 9}; raises ValueError naming the part that is not a row number."""
    wanted: set[int] = set()
    for part in re.split(r"[,\s]+", (text or "").strip()):
        if not part:
            continue
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise ValueError(f"'{part}' is not a row number or a range such as 7-9.")
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        wanted.update(i for i in range(first, last + 1) if 1 <= i <= count)
    return wanted


def on_remove(rows: list[dict], text: str, which: str):
    try:
        drop = parse_row_numbers(text, len(rows or []))
    except ValueError as e:
        return rows, box(str(e), "error"), gr.skip(), gr.skip(), ""
    kept = [r for i, r in enumerate(rows or [], start=1) if i not in drop]
    return (
        kept,
        box(f"Removed {len(rows or []) - len(kept)} rows; {len(kept)} left.", "ok"),
        table_rows(kept, which),
        _download(kept),
        "",
    )


def on_pick(conn: Connection, rows: list[dict], number):
    if not rows or not number or not 1 <= int(number) <= len(rows) or not conn or not conn.connected:
        return gr.Dataframe(visible=False)
    row = rows[int(number) - 1]
    return gr.Dataframe(result_frame(database(conn.source).execute(row["sql"], conn.dialect)), visible=True)


def on_add(ds: Dataset, rows: list[dict], conn: Connection):
    """Add the generated pairs to the session's dataset (validated again by the next step of the chain)."""
    if not rows:
        return ds, box("Generate pairs first.", "warn")
    merged, message = merge_generated(ds, rows, conn.label if conn and conn.connected else "your database")
    if conn and conn.connected:
        merged.database = conn.source
        merged.dialect = merged.dialect if ds and ds.loaded else conn.dialect
    return merged, box(message + " Their checks are below.", "ok")


def merge_generated(ds: Dataset, rows: list[dict], source: str = "your database") -> tuple[Dataset, str]:
    """The dataset with the generated pairs added (the user's pairs win when questions clash), written to a new
    JSONL file that training reads; named by where it came from ("500 pairs generated from SQLite file shop.sqlite"),
    never by the stored file's name."""
    ds = ds or Dataset()
    asked = {normalise_question(p.question) for p in ds.pairs}
    added = [r for r in rows if normalise_question(r["question"]) not in asked]
    start = max((p.row for p in ds.pairs), default=0)
    new = [
        Pair(
            r["question"],
            r["sql"],
            start + i,
            source="generated",
            template=r["template"],
            phrasing=r.get("phrasing", ""),
        )
        for i, r in enumerate(added, start=1)
    ]
    pairs = [*ds.pairs, *new]
    target = write_pairs(pairs)
    merged = Dataset(
        str(target),
        f"{counted(len(new), 'pair')} generated from {source}"
        if not ds.loaded
        else f"{ds.name} + {counted(len(new), 'pair')} generated from {source}",
        pairs,
        None,
        ds.schema_ddl,
        ds.schema_text,
        ds.dialect,
        ds.database,
        database_name=ds.database_name,
        schema_mode=ds.schema_mode,
    )
    skipped = len(rows) - len(added)
    note = f" {skipped} generated questions were already in your pairs; yours were kept." if skipped else ""
    return merged, f"Added {len(new)} generated pairs: the training set now has {len(pairs)} rows.{note}"
