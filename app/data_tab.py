"""Tab 1: load and validate the data: upload pairs or take the sample, the schema, the validation report with its
token histogram. The database box above it is app.db_panel, the generate box below it app.generate_panel; tab 2,
the preview of what the model is trained on, is app.preview_tab.
"""

import html
import traceback
from pathlib import Path

import gradio as gr

from app.charts import token_histogram
from app.common import USER_ERRORS, Dataset, box, progress_reporter, store_upload
from core.config import TrainConfig
from core.data import DIALECTS, SUMMARY_LABELS, load_pairs
from core.data.english import counted
from core.data.report import DATABASE_KINDS
from core.db import SourceError
from core.paths import SAMPLE_PAIRS, SAMPLE_SCHEMA
from core.train import build_dataset, load_tokenizer

FINDING_HEADERS = ["row", "severity", "field", "problem", "how to fix"]
# Without set widths the problem column took the table's whole width and pushed "how to fix" out of sight (a
# horizontal scroll nobody finds); the short columns get what their header needs, the two texts share the rest.
FINDING_WIDTHS = ["7%", "13%", "9%", "40%", "31%"]


def build_data_tab() -> dict:
    gr.Markdown(
        "### 2. Your question/SQL pairs\nUpload them (JSON, JSONL or CSV with `question` and `sql` columns), "
        "generate them from your database below, or start with the sample data. With a database connected, "
        "its schema fills the box below and every pair is run on it."
    )
    with gr.Row():
        with gr.Column(scale=1):
            data_file = gr.File(
                label="Question/SQL pairs", file_types=[".json", ".jsonl", ".csv"], elem_id="data-file"
            )
            sample_btn = gr.Button("Use the sample data", variant="secondary", elem_id="use-sample")
        with gr.Column(scale=2):
            schema_box = gr.Code(
                label="Schema (CREATE TABLE statements)", language="sql", lines=8, elem_id="schema"
            )
            with gr.Row():
                schema_file = gr.UploadButton(
                    "Upload a .sql schema", file_types=[".sql", ".txt"], size="sm", elem_id="schema-upload"
                )
                dialect = gr.Dropdown(
                    list(DIALECTS),
                    value="postgres",
                    label="SQL dialect",
                    scale=1,
                    info="The dialect your database speaks; every SQL is parsed in it.",
                )
                validate_btn = gr.Button("Check again", size="sm")
    message = gr.HTML(elem_id="data-message")
    summary = gr.HTML(elem_id="data-summary")
    exclude = gr.Checkbox(
        True,
        label="Exclude rows with errors from training",
        elem_id="exclude-errors",
        info="One click keeps only the rows without errors; the file itself is not changed.",
    )
    with gr.Row():
        findings = gr.Dataframe(
            headers=FINDING_HEADERS,
            label="Validation report",
            wrap=True,
            max_height=360,
            column_widths=FINDING_WIDTHS,
            show_search="filter",
            interactive=False,
            elem_id="findings",
            scale=3,
        )
        histogram = gr.Plot(label="Token lengths", scale=2, elem_id="token-hist", visible=False)
    return dict(
        data_file=data_file,
        sample_btn=sample_btn,
        schema_box=schema_box,
        schema_file=schema_file,
        dialect=dialect,
        validate_btn=validate_btn,
        message=message,
        summary=summary,
        exclude=exclude,
        findings=findings,
        histogram=histogram,
    )


# ---- handlers (plain functions: the tests call them directly) ----


def summary_html(ds: Dataset, exclude_errors: bool) -> str:
    if not ds.report:
        return ""
    s = ds.report.summary
    shown = {
        k: v for k, v in s.items() if k != "trainable" and (ds.report.preflight or k not in DATABASE_KINDS)
    }
    cells = "".join(
        f'<div class="stat{" bad" if v and k not in ("rows", "trainable") else ""}">'
        f"<b>{v}</b><span>{SUMMARY_LABELS[k]}</span></div>"
        for k, v in shown.items()
    )
    train = ds.trainable_count(exclude_errors)
    ran = (
        f'<div class="preflight" id="preflight">{html.escape(ds.report.preflight)}</div>'
        if ds.report.preflight
        else ""
    )
    return (
        f'<div class="train-count" id="train-count">{train} of {s["rows"]} rows will train</div>{ran}'
        f'<div class="stats">{cells}</div>'
    )


def findings_rows(ds: Dataset) -> list[list]:
    if not ds.report:
        return []
    return [[f.row, f.severity, f.field, f.problem, f.fix] for f in ds.report.findings]


def validate_dataset(
    ds: Dataset, model: str, max_len: int, template: str, schema_mode: str = "full", progress=None
) -> Dataset:
    """Validate a loaded dataset the way a run will (core.train.dataset.build_dataset: token counts from the chosen
    model's tokenizer; with a connected database, every pair's SQL run on it, cached by SQL text)."""
    ds.schema_mode = schema_mode or "full"
    cfg = TrainConfig(
        data_path=ds.path,
        data_name=ds.name,
        schema_text=ds.schema_ddl,
        dialect=ds.dialect,
        database=ds.database,
        system_template=template,
        schema_in_prompt=ds.schema_mode,
        database_name=ds.database_name,
        max_seq_length=int(max_len),
        model=model,
    )
    built = build_dataset(
        cfg,
        load_tokenizer(model),
        pairs=ds.pairs,
        checking=progress_reporter(
            progress, lambda done, total: f"checking SQL: {done:,} of {total:,} queries"
        ),
        running=progress_reporter(progress, lambda done, total: f"running pair {done} of {total}"),
    )
    ds.schema_text, ds.report = built.schema_text, built.report
    return ds


def load_dataset(
    path: str | None,
    name: str,
    schema_ddl: str,
    dialect: str,
    model: str,
    max_len: int,
    template: str,
    current: Dataset | None,
    database_source: str = "",
    progress=None,
    schema_mode: str = "full",
):
    """Load + validate. On a bad file: a clear message, and the previous dataset stays as it was."""
    current = current or Dataset()
    if not path:
        return current, box("Choose a file first.", "warn")
    try:
        pairs = load_pairs(path, name=name)
        ds = Dataset(
            path=str(path),
            name=name,
            pairs=pairs,
            schema_ddl=schema_ddl or "",
            dialect=dialect,
            database=database_source,
        )
        ds = validate_dataset(ds, model, max_len, template, schema_mode, progress)
    except (*USER_ERRORS, SourceError) as e:
        return current, box(f"{e}{_kept(current)}", "error")
    except Exception as e:  # noqa: BLE001 - last resort: a bug must not cost the user the dataset they had
        traceback.print_exc()
        return current, box(
            f"{name}: could not be read ({type(e).__name__}). Please report this file to the "
            f"maintainers.{_kept(current)}",
            "error",
        )
    errors = len(ds.report.error_rows)
    kind = "warn" if errors else "ok"
    note = (
        f" {counted(errors, 'row')} {'has' if errors == 1 else 'have'} errors: see the report below."
        if errors
        else " No errors found."
    )
    return ds, box(f"Loaded {name}: {counted(len(pairs), 'row')}.{note}", kind)


def _kept(current: Dataset) -> str:
    return f" Still using {current.name} ({len(current.pairs)} rows)." if current.loaded else ""


def outputs_for(ds: Dataset, message: str, exclude_errors: bool, max_len: int):
    lengths = ds.report.token_lengths if ds.report else []
    return (
        ds,
        message,
        summary_html(ds, exclude_errors),
        findings_rows(ds),
        gr.Plot(token_histogram(lengths, int(max_len)), visible=bool(lengths)),  # no empty axes before data
    )


def _source(conn) -> str:
    return conn.source if conn is not None and conn.connected else ""


def on_upload(
    file,
    schema_ddl,
    dialect,
    model,
    max_len,
    template,
    exclude_errors,
    current,
    conn=None,
    schema_mode="full",
    progress=gr.Progress(),  # noqa: B008 - gradio idiom
):
    if file is None:
        return outputs_for(current or Dataset(), "", exclude_errors, max_len)
    original = Path(getattr(file, "orig_name", None) or file).name
    try:
        stored = store_upload(str(file), original)
    except OSError as e:
        return outputs_for(
            current or Dataset(),
            box(f"{original}: could not store the upload ({e}).", "error"),
            exclude_errors,
            max_len,
        )
    ds, message = load_dataset(
        str(stored),
        original,
        schema_ddl,
        dialect,
        model,
        max_len,
        template,
        current,
        _source(conn),
        progress,
        schema_mode,
    )
    return outputs_for(ds, message, exclude_errors, max_len)


def on_sample(dialect, model, max_len, template, exclude_errors, current, conn=None, schema_mode="full"):
    """The sample pairs; with the sample database connected (the sample button connects it first), its schema."""
    connected = conn is not None and conn.connected and conn.info is not None
    ddl = conn.schema().ddl(dialect) if connected else SAMPLE_SCHEMA.read_text(encoding="utf-8")
    ds, message = load_dataset(
        str(SAMPLE_PAIRS),
        SAMPLE_PAIRS.name,
        ddl,
        dialect,
        model,
        max_len,
        template,
        current,
        _source(conn),
        schema_mode=schema_mode,
    )
    return (ddl, *outputs_for(ds, message, exclude_errors, max_len))


def on_revalidate(
    schema_ddl,
    dialect,
    model,
    max_len,
    template,
    exclude_errors,
    current,
    conn=None,
    schema_mode="full",
    progress=gr.Progress(),  # noqa: B008 - gradio idiom
):
    ds = current or Dataset()
    if not ds.loaded:
        return outputs_for(ds, "", exclude_errors, max_len)
    database_source = _source(conn) if conn is not None else ds.database
    candidate = Dataset(
        ds.path,
        ds.name,
        ds.pairs,
        None,
        schema_ddl or "",
        ds.schema_text,
        dialect,
        database=database_source,
        database_name=ds.database_name,
    )
    try:
        candidate = validate_dataset(candidate, model, max_len, template, schema_mode, progress)
    except (*USER_ERRORS, SourceError) as e:
        return outputs_for(ds, box(str(e), "error"), exclude_errors, max_len)
    return outputs_for(
        candidate,
        box(
            f"Checked {ds.name} again: {counted(len(candidate.report.error_rows), 'row')} with errors.",
            "warn" if candidate.report.error_rows else "ok",
        ),
        exclude_errors,
        max_len,
    )


def on_schema_file(file):
    if file is None:
        return gr.skip(), ""
    try:
        return Path(file).read_text(encoding="utf-8-sig"), ""
    except (UnicodeDecodeError, OSError):
        return gr.skip(), box(
            f"{Path(file).name}: not a UTF-8 text file. Save it as UTF-8 and upload it again.", "error"
        )


def restore(cfg, job_id: str):
    """A reload while a job trains: its data as the Data tab shows it (dataset, message, summary)."""
    name = cfg.data_name or Path(cfg.data_path).name
    ddl = Path(cfg.schema_path).read_text(encoding="utf-8") if cfg.schema_path else cfg.schema_text
    ds, _ = load_dataset(
        cfg.data_path,
        name,
        ddl,
        cfg.dialect,
        cfg.model,
        cfg.max_seq_length,
        cfg.system_template,
        None,
        database_source=cfg.database,
        schema_mode=cfg.schema_in_prompt,
    )
    ds.database_name = cfg.database_name
    message = box(
        f"Job {job_id} is training on {name} ({len(ds.pairs)} rows): step 3 shows its settings.", "info"
    )
    return ds, message, summary_html(ds, cfg.exclude_error_rows)
