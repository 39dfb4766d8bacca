"""The Runs tab's "Use this adapter" panel: register the open run's adapter in the MLflow Model Registry, mark
a version as champion, and export it (zip, merged model, GGUF file, Ollama bundle) in a background thread, with
the stage it is in (loading, merging, writing, converting, checking), the elapsed time and the self-check."""

import time
import zipfile
from pathlib import Path

import gradio as gr

from app.common import USER_ERRORS, box, fmt_duration
from core.background import current_job, start_job
from core.export import (
    DEFAULT_QUESTIONS,
    FORMATS,
    GGUF_TYPES,
    VERSION_COLUMNS,
    ConversionError,
    RegistryError,
    list_versions,
    register_run,
    set_champion,
    stage_of,
)
from core.export.child import export_in_child
from core.paths import UnsafeNameError, exports_dir, safe_name
from core.tracking import RunNotFound, wait_until_started

FIXABLE = (*USER_ERRORS, RegistryError, RunNotFound, UnsafeNameError, ConversionError)
MAX_DOWNLOAD_BYTES = 4 * 1024**3  # bigger folders stay on the server: too big for a browser download


def build_adapter_panel() -> dict:
    c = {}
    gr.Markdown(
        "### Use the open run's adapter\nRegister it in the MLflow Model Registry (versioned, with "
        "its base model, prompt, dialect, schema hash and evaluation numbers), or export it to use "
        "it elsewhere."
    )
    with gr.Row():
        c["reg_name"] = gr.Textbox(
            label="Registered model name",
            placeholder="sales-sql",
            scale=3,
            info="Letters, digits, '.', '-' and '_'; anything else becomes '-'.",
        )
        c["reg_champion"] = gr.Checkbox(False, label="Mark the new version as champion", scale=1)
        c["register_btn"] = gr.Button("Register", size="sm", scale=1, elem_id="register")
    c["reg_message"] = gr.HTML(elem_id="register-message")
    c["versions"] = gr.Dataframe(
        headers=VERSION_COLUMNS,
        interactive=False,
        wrap=True,
        max_height=300,
        label="Registered versions",
        elem_id="versions",
    )
    with gr.Row():
        c["version_pick"] = gr.Dropdown([], label="Version", scale=3)
        c["champion_btn"] = gr.Button("Mark as champion", size="sm", scale=1)
        c["versions_btn"] = gr.Button("Refresh versions", size="sm", scale=1)
    with gr.Row():
        c["export_format"] = gr.Radio(
            [(label, key) for key, label in FORMATS.items()],
            value="zip",
            scale=3,
            label="Export format",
            info="Merging loads the base model on the CPU: it takes a while for "
            "big models and shares the CPU with a CPU training run.",
        )
        c["export_name"] = gr.Textbox(label="Export name (optional)", placeholder="the run's name", scale=2)
        c["export_btn"] = gr.Button("Export", size="sm", scale=1, elem_id="export")
    c["gguf_type"] = gr.Radio(
        [(f"{key} ({text})", key) for key, text in GGUF_TYPES.items()],
        value="f16",
        label="GGUF precision (GGUF file and Ollama bundle)",
        info=f"Merged and GGUF exports then answer {DEFAULT_QUESTIONS} held-out questions "
        "of the run, and so does the adapter: the status says how many answers are identical.",
    )
    c["export_status"] = gr.HTML(elem_id="export-status")
    c["export_file"] = gr.File(
        label="Download the export", visible=False, interactive=False, elem_id="export-file"
    )
    c["export_timer"] = gr.Timer(1.0, active=False)
    return c


def _version_choices(rows: list[list]) -> list[tuple[str, str]]:
    return [(f"{r[0]} v{r[1]}{' (champion)' if r[2] else ''}", f"{r[0]}:{r[1]}") for r in rows]


def refresh_versions():
    """(table rows, version choices)."""
    try:
        rows = list_versions()
    except Exception:  # noqa: BLE001 - MLflow down: keep what the page shows
        return gr.skip(), gr.skip()
    return rows, gr.Dropdown(choices=_version_choices(rows))


def register(run_id: str, name: str, champion: bool):
    """(message, table rows, version choices)."""
    if not run_id:
        return box("Open a run first (the 'Open a run' list above).", "error"), gr.skip(), gr.skip()
    try:
        version = register_run(run_id, name, champion=bool(champion))
    except FIXABLE as e:
        return box(str(e), "error"), gr.skip(), gr.skip()
    except Exception as e:  # noqa: BLE001 - MLflow unreachable or similar: a message, not a traceback
        return (
            box(f"MLflow is not answering ({type(e).__name__}). Try again in a moment.", "warn"),
            gr.skip(),
            gr.skip(),
        )
    alias = " and marked as champion" if champion else ""
    message = box(
        f"Registered as {version.name} version {version.version}{alias}: "
        f"models:/{version.name}/{version.version}",
        "ok",
    )
    return message, *refresh_versions()


def mark_champion(choice: str):
    """(message, table rows, version choices)."""
    if not choice or ":" not in choice:
        return box("Pick a version first.", "error"), gr.skip(), gr.skip()
    name, version = choice.rsplit(":", 1)
    try:
        set_champion(name, version)
    except FIXABLE as e:
        return box(str(e), "error"), gr.skip(), gr.skip()
    message = box(f"{name} version {version} is now the champion (models:/{name}@champion).", "ok")
    return message, *refresh_versions()


def _downloadable(path: Path, progress) -> Path | None:
    """A file the browser can download: the zip itself, or a folder zipped next to it (stored: weights do not
    compress). None for folders too big to download sensibly."""
    if path.is_file():
        return path
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    if size > MAX_DOWNLOAD_BYTES:
        return None
    progress("zipping the folder for download ...")
    target = path.with_name(path.name + ".zip")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as zf:
        for file in sorted(f for f in path.rglob("*") if f.is_file()):
            zf.write(file, file.relative_to(path.parent))
    return target


def _export_task(run_id: str, fmt: str, name: str, gguf_type: str):
    def task(progress):
        wait_until_started()  # the embedded MLflow server may still be coming up
        out_dir = exports_dir() / time.strftime("%Y%m%d-%H%M%S")  # a fresh folder: never overwrites an export
        # a child process: merging and the self-check load models, which never load into the studio's process
        result = export_in_child(run_id, fmt, out_dir, name, progress, gguf_type=gguf_type)
        return result, _downloadable(result.path, progress)

    return task


def start_export(run_id: str, fmt: str, name: str, gguf_type: str = "f16"):
    """Start the export in its own thread and return at once: (status, file, timer)."""
    if not run_id:
        return box("Open a run first (the 'Open a run' list above).", "error"), gr.skip(), gr.skip()
    try:
        name = safe_name(name) if (name or "").strip() else ""
        if gguf_type not in GGUF_TYPES:
            raise ValueError(f"Unknown GGUF precision {gguf_type!r}: pick {' or '.join(GGUF_TYPES)}.")
        job = start_job(
            f"{FORMATS.get(fmt, fmt)} of run {run_id[:8]}", _export_task(run_id, fmt, name, gguf_type)
        )
    except FIXABLE as e:
        return box(str(e), "error"), gr.skip(), gr.skip()
    status = box(f"Exporting: {job.label} ...", "info")
    return status, gr.File(value=None, visible=False), gr.Timer(active=True)


def export_tick():
    """The export's status line, and the download once it is done: (status, file, timer)."""
    job = current_job()
    if job is None:
        return "", gr.skip(), gr.Timer(active=False)
    snap = job.snapshot()
    if snap["status"] == "running":
        return box(running_status(snap), "info"), gr.skip(), gr.skip()
    if snap["status"] == "failed":
        return box(f"Export failed: {snap['error']}", "error"), gr.skip(), gr.Timer(active=False)
    result, download = snap["result"]
    text = result.summary + f" ({fmt_duration(snap['elapsed'])} in all.)"
    text += f" Then run: {result.command}" if result.command else ""
    if download is None:
        text += " It is too big to download through the browser: copy it from the server."
    kind = (
        "warn" if result.check is not None and result.check.warning else "ok"
    )  # a mismatch warns, not fails
    return (
        box(text, kind),
        gr.File(value=str(download) if download else None, visible=bool(download)),
        gr.Timer(active=False),
    )


def running_status(snap: dict) -> str:
    """'Exporting X: converting (0:12 of 1:40) - last line': the stage the latest staged line started, how
    long it has run, the whole export's elapsed time, and the latest line."""
    lines, times = snap["lines"], snap.get("line_times", [])
    last = lines[-1] if lines else "starting ..."
    staged = [(stage_of(line), t) for line, t in zip(lines, times, strict=False) if stage_of(line)]
    elapsed = fmt_duration(snap["elapsed"])
    if not staged:
        return f"Exporting {snap['label']} ({elapsed}): {last}"
    stage, since = staged[-1]
    return (
        f"Exporting {snap['label']}: {stage} ({fmt_duration(snap['elapsed'] - since)} in this stage, "
        f"{elapsed} in all). {last}"
    )
