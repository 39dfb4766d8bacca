"""The Data tab's first box: connect your database, see its schema and fit it into the prompt.

The connections live in core's database session (core.db.session: one per source string, with the pre-flight's
cache); the page keeps only the user's choice, a `Connection` (source, dialect, introspected schema), so sessions stay
small and the password stays out of the page. The generate box below it is app.generate_panel.
"""

import html
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr
from sqlglot import exp

from app.common import Dataset, box
from core.data import Pair, parse_sql
from core.db import (
    SAMPLE,
    SchemaInfo,
    SourceError,
    describe_source,
    introspect,
    split_password,
    with_password,
)
from core.db.session import database
from core.paths import data_dir
from core.train import load_tokenizer
from core.train.models import bundled_ready

DB_FILE_TYPES = [".sqlite", ".sqlite3", ".db", ".duckdb", ".csv", ".tsv", ".parquet", ".pq", ".sql"]
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
                    placeholder="postgresql://user@localhost/shop   or   /data/shop.sqlite",
                    elem_id="db-url",
                )
                c["db_password"] = gr.Textbox(
                    label="PostgreSQL password (if the URL needs one)",
                    type="password",
                    elem_id="db-password",
                    info="Never shown, logged or stored in MLflow. A password typed into the URL moves here.",
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
                visible=False,  # shown when there are some: a label over nothing says nothing
            )
            c["schema_fit"] = gr.HTML(elem_id="schema-fit")
            c["only_used"] = gr.Checkbox(
                False, label="Put only the tables the pairs use in the prompt", elem_id="only-used-tables"
            )
    c["connection"] = gr.State(Connection())
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


def on_password(url, password):
    """Before connecting: a password typed into the URL moves to the masked box, so the URL box never shows it.
    Outputs: the URL box, the password box."""
    url, typed = split_password((url or "").strip())
    return url, typed or password


def on_connect(files, url, current: Connection, password: str = ""):
    """Connect from the URL/path box (with the password box's password), or, without one, the uploaded files.
    Outputs: connection, message, panel, inferred keys, schema text, dialect."""
    url = with_password((url or "").strip(), password or "")
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
    if not bundled_ready():  # the token counts that follow wait for it: say so, not a silent spinner
        message += box(
            "Preparing the bundled model for its first use (converted once, about 30 s): the schema's token "
            "count and the checks follow.",
            "info",
        )
    return (
        conn,
        message,
        schema_html(conn),
        gr.CheckboxGroup(choices=inferred, value=inferred, visible=bool(inferred)),
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
