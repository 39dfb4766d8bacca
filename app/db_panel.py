"""The Data tab's first box: connect your database, see its schema, and generate pairs from it.

The connections live in core's database session (core.db.session: one per source string, with the pre-flight's
cache); the page keeps only the user's choice, a `Connection` (source, dialect, introspected schema), so sessions stay
small and the password stays out of the page.
"""

import html
import json
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr
from sqlglot import exp

from app.common import Dataset, box, progress_reporter, result_frame, write_pairs
from core.data import Pair, parse_sql
from core.data.split import normalise_question
from core.db import (
    SAMPLE,
    SchemaInfo,
    SourceError,
    describe_source,
    generate,
    introspect,
)
from core.db.session import database
from core.paths import data_dir
from core.train import load_tokenizer

DB_FILE_TYPES = [".sqlite", ".sqlite3", ".db", ".duckdb", ".csv", ".tsv", ".parquet", ".pq", ".sql"]
GENERATED_HEADERS = ["#", "template", "question", "sql", "rows"]
SCHEMA_SHARE = (
    0.5  # a schema over half the max sequence length leaves little room for the question and answer
)


@dataclass
class Connection:
    source: str = ""  # what connect() opened (may hold a password: never shown; see `shown`)
    dialect: str = ""
    label: str = ""
    info: SchemaInfo | None = None
    unticked: list[str] = field(default_factory=list)  # inferred foreign keys the user said are wrong
    uploads: list[str] = field(
        default_factory=list
    )  # the uploaded files it came from (a new upload replaces them)

    @property
    def connected(self) -> bool:
        return bool(self.source)

    @property
    def shown(self) -> str:
        return describe_source(self.source)

    def schema(self) -> SchemaInfo | None:
        return self.info.without_keys(set(self.unticked)) if self.info else None


def build_connect_box() -> dict:
    c = {}
    with gr.Group(elem_id="connect-box"):
        gr.Markdown(
            "### 1. Connect your database\nEverything below uses it: the schema for the prompt, checking "
            "every pair by running it, generating pairs, and the evaluation. It is opened read-only."
        )
        with gr.Row():
            c["db_files"] = gr.File(
                label="A SQLite or DuckDB file, or CSV/Parquet files (one table each): choosing it "
                "connects it",
                file_count="multiple",
                file_types=DB_FILE_TYPES,
                elem_id="db-files",
                scale=2,
            )
            with gr.Column(scale=2):
                c["db_url"] = gr.Textbox(
                    label="... or a PostgreSQL URL or a path on this machine",
                    type="password",
                    placeholder="postgresql://user:password@localhost/shop",
                    elem_id="db-url",
                    info="The password is never shown, logged or stored in MLflow.",
                )
                with gr.Row():
                    c["connect_btn"] = gr.Button(
                        "Connect to this URL or path", variant="primary", elem_id="db-connect"
                    )
                    c["sample_db_btn"] = gr.Button("Use the sample database", elem_id="db-sample")
        c["db_message"] = gr.HTML(elem_id="db-message")
        with gr.Accordion("Schema of the connected database", open=True, elem_id="schema-accordion"):
            c["schema_panel"] = gr.HTML(elem_id="schema-panel")
            c["inferred_keys"] = gr.CheckboxGroup(
                [],
                label="Foreign keys guessed from column names (untick a wrong one)",
                elem_id="inferred-keys",
            )
            c["schema_fit"] = gr.HTML(elem_id="schema-fit")
            c["only_used"] = gr.Checkbox(
                False, label="Put only the tables the pairs use in the prompt", elem_id="only-used-tables"
            )
    c["connection"] = gr.State(Connection())
    return c


def build_generate_box() -> dict:
    c = {}
    with gr.Accordion("Generate pairs from my database", open=False, elem_id="generate-box"):
        gr.Markdown(
            "Question/SQL pairs built from your tables and real values; every SQL was run on your database "
            "and returned rows. The same seed gives the same pairs."
        )
        with gr.Row():
            c["gen_n"] = gr.Number(
                200, label="How many pairs", precision=0, minimum=1, maximum=5000, elem_id="gen-n"
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
            headers=GENERATED_HEADERS, interactive=False, wrap=True, max_height=360, elem_id="gen-table"
        )
        with gr.Row():
            c["gen_pick"] = gr.Number(label="See the result of row #", precision=0, elem_id="gen-pick")
            c["gen_result"] = gr.Dataframe(label="Result on your database", interactive=False, max_height=240)
        with gr.Row():
            c["gen_download"] = gr.DownloadButton(
                "Download the pairs (.jsonl)", visible=False, elem_id="gen-download"
            )
            c["gen_add_btn"] = gr.Button("Add to the training set", variant="primary", elem_id="gen-add")
        c["generated"] = gr.State([])
    return c


# ---- handlers ----


def _stored_source(files) -> str:
    """Uploaded files as one source, kept under the data folder (Gradio's upload cache is cleaned up, and a run must
    find its database again to evaluate or resume): a database file under its own name, table files together in one
    folder."""
    paths = [Path(getattr(f, "name", f)) for f in (files or [])]
    names = [Path(getattr(f, "orig_name", None) or p).name for f, p in zip(files, paths, strict=True)]
    if len(paths) == 1 and Path(names[0]).suffix.lower() not in (".csv", ".tsv", ".parquet", ".pq"):
        folder = data_dir() / "databases" / uuid.uuid4().hex[:12]
        folder.mkdir(parents=True)
        target = folder / (re.sub(r"[^\w.-]+", "_", Path(names[0]).stem) + Path(names[0]).suffix.lower())
        shutil.copyfile(paths[0], target)
        return str(target)
    folder = data_dir() / "uploads" / f"tables-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    for path, name in zip(paths, names, strict=True):
        suffix = Path(name).suffix.lower()
        if suffix not in (".csv", ".tsv", ".parquet", ".pq"):
            raise SourceError(f"{name}: with several files, each must be a CSV or Parquet table.")
        shutil.copyfile(path, folder / (re.sub(r"[^\w.-]+", "_", Path(name).stem) + suffix))
    return str(folder)


def connect_source(source: str) -> tuple[Connection, str]:
    """(connection, message). Never raises: a bad source gives an error message and an empty connection."""
    try:
        db = database(source, fresh=True)  # "Connect" again re-reads files that changed
        info = introspect(db)
    except (SourceError, ConnectionError, OSError, ValueError) as e:
        return Connection(), box(str(e), "error")
    conn = Connection(source, db.dialect, db.label, info)
    empty = [t.name for t in info.tables if not t.rows]
    note = f" Empty tables: {', '.join(empty[:5])}." if empty else ""
    # tables that could not be read in time (locked, slow views) are named: their rows are missing from the panel
    unread = " Not read in full: " + "; ".join(info.problems[:3]) + "." if info.problems else ""
    return conn, box(
        f"Connected to {db.label}: {info.summary()}. The SQL dialect is now {db.dialect}.{note}{unread}",
        "warn" if unread else "ok",
    )


def on_connect(files, url, current: Connection):
    """Connect from the URL/path box (or, without one, the uploaded files). Outputs: connection, message, panel,
    inferred keys, schema text, dialect."""
    url = (url or "").strip()
    if not files and not url:
        return (
            current,
            box("Upload a database file (or CSV/Parquet files), or type a PostgreSQL URL or a path.", "warn"),
            gr.skip(),
            gr.skip(),
            gr.skip(),
            gr.skip(),
        )
    try:
        source = url if url else _stored_source(files)
    except (SourceError, OSError) as e:
        return current, box(str(e), "error"), gr.skip(), gr.skip(), gr.skip(), gr.skip()
    return _connected(*connect_source(source), current)


def restore(source: str):
    """A reload while a run trains: the Data tab shows the run's database (connection, message, panel, inferred
    keys, schema text, dialect), or skips them when the run has none."""
    if not source:
        return (gr.skip(),) * 6
    conn, message = connect_source(source)
    return _connected(conn, message.replace("Connected to", "The running job uses"), Connection())


def on_db_upload(files, current: Connection):
    """Choosing a file connects it at once. Files added next to earlier ones replace them: the new upload alone is
    connected, and the file box shows only it. Outputs: those of on_connect, then the file box."""
    earlier = set(current.uploads) if current else set()
    new = [f for f in (files or []) if str(getattr(f, "name", f)) not in earlier] or list(files or [])
    if not new:
        return (current, "", gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip())
    try:
        source = _stored_source(new)
    except (SourceError, OSError) as e:
        return (current, box(str(e), "error"), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip())
    conn, message = connect_source(source)
    conn.uploads = [str(getattr(f, "name", f)) for f in new]
    return (*_connected(conn, message, current), [getattr(f, "name", f) for f in new])


def on_sample_db(current: Connection):
    return _connected(*connect_source(SAMPLE), current)


def _connected(conn: Connection, message: str, current: Connection):
    if not conn.connected:  # keep the previous connection
        kept = f" Still connected to {current.label}." if current and current.connected else ""
        return (
            current,
            message.replace("</div>", html.escape(kept) + "</div>"),
            gr.skip(),
            gr.skip(),
            gr.skip(),
            gr.skip(),
        )
    inferred = [k.label for k in conn.info.foreign_keys if k.inferred]
    return (
        conn,
        message,
        schema_html(conn),
        gr.CheckboxGroup(choices=inferred, value=inferred),
        conn.schema().ddl(conn.dialect),
        conn.dialect,
    )


def on_keys(conn: Connection, ticked: list[str]):
    if not conn or not conn.info:
        return conn, ""
    conn.unticked = [k.label for k in conn.info.foreign_keys if k.inferred and k.label not in (ticked or [])]
    return conn, schema_html(conn)


def schema_html(conn: Connection) -> str:
    """Tables, columns (type, key marks, example values), foreign keys and row counts."""
    if not conn or not conn.info:
        return ""
    info = conn.schema()
    refs = {(k.table, c): k for k in info.foreign_keys for c in k.columns}
    parts = [
        f'<div class="schema-panel"><p><b>{html.escape(conn.label)}</b>: {html.escape(info.summary())}</p>'
    ]
    for table in info.tables:
        rows = []
        for column in table.columns:
            key = refs.get((table.name, column.name))
            marks = ("PK " if column.primary_key else "") + (
                f"→ {key.ref_table}.{key.ref_columns[0]}" + (" (inferred)" if key.inferred else "")
                if key
                else ""
            )
            examples = ", ".join(str(v) for v in column.examples[:4])
            rows.append(
                f"<tr><td>{html.escape(column.name)}</td><td>{html.escape(column.type)}</td>"
                f"<td>{html.escape(marks)}</td><td>{html.escape(examples[:80])}</td></tr>"
            )
        parts.append(
            f'<details class="schema-table"><summary>{html.escape(table.name)} ({table.rows:,} rows, '
            f"{len(table.columns)} columns)</summary><table><tr><th>column</th><th>type</th><th>key</th>"
            f"<th>examples</th></tr>{''.join(rows)}</table></details>"
        )
    return "".join(parts) + "</div>"


def tables_used(pairs: list[Pair], dialect: str) -> set[str]:
    used: set[str] = set()
    for pair in pairs:
        try:
            trees = parse_sql(pair.sql, dialect) if pair.sql else []
        except Exception:  # noqa: BLE001 - a row that does not parse names no tables; the report says why
            continue
        for tree in trees:
            if tree is not None:
                used.update(t.name.lower() for t in tree.find_all(exp.Table) if t.name)
    return used


def schema_fit(conn: Connection, ds: Dataset, only_used: bool, count_tokens, max_len: int) -> tuple[str, str]:
    """(schema text for the prompt, message): the whole schema, or only the tables the pairs use; says so when the
    schema is long for the max sequence length."""
    info = conn.schema()
    full = info.ddl(conn.dialect)
    used = (
        tables_used(ds.pairs, ds.dialect) & {t.name.lower() for t in info.tables}
        if ds and ds.loaded
        else set()
    )
    text = info.ddl(conn.dialect, used) if only_used and used else full
    tokens, limit = count_tokens(full), int(max_len)
    if tokens <= SCHEMA_SHARE * limit and not only_used:
        return text, ""
    partial = count_tokens(info.ddl(conn.dialect, used)) if used else 0
    offer = (
        f" Only the {len(used)} tables your pairs use take {partial} tokens: tick 'Put only the tables the pairs "
        "use in the prompt'."
        if used and not only_used
        else ""
    )
    if only_used and used:
        return text, box(
            f"The prompt has the {len(used)} of {len(info.tables)} tables your pairs use ({partial} tokens "
            f"of the max sequence length {limit}).",
            "info",
        )
    return text, box(
        f"The schema is {tokens} tokens, {tokens / limit:.0%} of the max sequence length ({limit}): "
        f"little room is left for the question and the answer.{offer}",
        "warn",
    )


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
            n=int(n or 200),
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
        return []
    row = rows[int(number) - 1]
    return result_frame(database(conn.source).execute(row["sql"], conn.dialect))


def on_fit(conn: Connection, ds: Dataset, only_used: bool, model: str, max_len, set_text: bool = False):
    """Outputs: the schema text for the prompt (schema box) and what to say about its length. The box is only
    rewritten when only the used tables go in, or when the user just switched that off (`set_text`): an edit
    the user made to the box stays."""
    if not conn or not conn.connected or not conn.info:
        return gr.skip(), ""

    tokenizer = load_tokenizer(model)
    text, message = schema_fit(
        conn, ds, bool(only_used), lambda t: len(tokenizer(t)["input_ids"]), int(max_len or 2048)
    )
    return (text if only_used or set_text else gr.skip()), message


def on_only_used(conn: Connection, ds: Dataset, only_used: bool, model: str, max_len):
    return on_fit(conn, ds, only_used, model, max_len, set_text=True)


def on_add(ds: Dataset, rows: list[dict], conn: Connection):
    """Add the generated pairs to the session's dataset (validated again by the next step of the chain)."""
    if not rows:
        return ds, box("Generate pairs first.", "warn")
    merged, message = merge_generated(ds, rows)
    if conn and conn.connected:
        merged.database = conn.source
        merged.dialect = merged.dialect if ds and ds.loaded else conn.dialect
    return merged, box(message + " Their checks are below.", "ok")


def merge_generated(ds: Dataset, rows: list[dict]) -> tuple[Dataset, str]:
    """The dataset with the generated pairs added (the user's pairs win when questions clash), written to a new
    JSONL file that training reads."""
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
        target.name if not ds.loaded else f"{ds.name} + generated",
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
