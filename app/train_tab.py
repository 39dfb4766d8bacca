"""Tab 3: configure and run training, with a live view that mirrors the MLflow run.

The form (its fields and values) is app.train_form, the plan line app.train_plan; this module lays the tab out, starts,
stops and resumes the run and draws its live view.
"""

import html
import time
from pathlib import Path

import gradio as gr

from app.charts import loss_figure, lr_figure
from app.common import USER_ERRORS, Dataset, box, close_generators, fmt_duration
from app.train_form import FIELDS, FORM, _rows, make_config, setting_component
from core.cli.command_line import command_for
from core.config import ConfigError, TrainConfig, default_value
from core.evaluate import SIDE_LABELS
from core.evaluate.score import right
from core.export import export, source_from_adapter
from core.paths import safe_name
from core.redact import redact
from core.runstate import ACTIVE, FINISHED, WITH_ADAPTER, Status
from core.settings import GROUPS
from core.tracking import metric_history, run_url
from core.train import MODEL_CHOICES, get_engine, gpu_available, recommended_for, resumable_jobs
from core.train.jobs import read_job


def build_train_tab() -> dict:
    c = {}
    model = MODEL_CHOICES[0]
    start = {**{f.name: default_value(f.name) for f in FORM}, **recommended_for(model, gpu_available())}
    main = [f for f in FORM if not f.metadata.get("advanced")]
    for row in _rows(main):
        with gr.Row():
            for f in row:
                c[f.name] = setting_component(f, start[f.name])
    c["plan"] = gr.HTML(elem_id="plan")
    with gr.Row():
        c["suggest_btn"] = gr.Button("Use the suggested steps", size="sm")
        c["recipe_btn"] = gr.Button("Use the recipe's settings", size="sm", elem_id="recipe")
    c["defaults_note"] = gr.HTML(elem_id="defaults-note")
    with gr.Accordion("Advanced", open=False):
        for group, title in GROUPS.items():
            shown = [f for f in FORM if f.metadata.get("advanced") and f.metadata["group"] == group]
            if shown:
                gr.Markdown(f"**{title}**")
            for row in _rows(shown):
                with gr.Row():
                    for f in row:
                        c[f.name] = setting_component(f, start[f.name])
    with gr.Row():
        c["command_btn"] = gr.Button("Show the command", size="sm", elem_id="show-command")
    c["command"] = gr.Code(
        label="The same run from a shell (python -m core train ...)",
        language="shell",
        visible=False,
        interactive=False,
        elem_id="command",
    )
    c["problems"] = gr.HTML(elem_id="train-problems")
    with gr.Row():
        c["start_btn"] = gr.Button("Start training", variant="primary", elem_id="start")
        c["stop_btn"] = gr.Button("Stop", variant="stop", elem_id="stop", interactive=False)
        c["resume_btn"] = gr.Button("Resume the interrupted run", elem_id="resume", visible=False)
    c["status"] = gr.HTML(elem_id="train-status")
    c["progress"] = gr.HTML(elem_id="train-progress")
    with gr.Row():
        c["loss_plot"] = gr.Plot(label="Loss", scale=3, elem_id="loss-plot", visible=False)
        c["lr_plot"] = gr.Plot(label="Learning rate", scale=2, visible=False)
    c["mlflow_link"] = gr.HTML(elem_id="mlflow-link")
    c["outcome"] = gr.HTML(elem_id="outcome")
    c["download"] = gr.DownloadButton("Download the adapter (.zip)", visible=False, elem_id="download")
    c["to_evaluate"] = gr.Button(
        "Open the evaluation (step 5)", visible=False, size="sm", elem_id="to-evaluate"
    )
    c["log"] = gr.Textbox(
        label="Training log (newest at the bottom)",
        lines=8,
        max_lines=8,
        interactive=False,
        autoscroll=True,
        elem_id="log",
    )
    c["timer"] = gr.Timer(1.0)
    c["last_view"] = gr.State("")
    return c


# ---- handlers ----


def show_command(ds: Dataset, exclude_errors: bool, template: str, *values):
    """The `python -m core train` line of the form as it is (its problems, when it has some)."""
    if not ds or not ds.loaded:
        return gr.Code(visible=False), box("Load data first (step 1: Data).", "warn")
    try:
        cfg = make_config(ds, exclude_errors, template, dict(zip(FIELDS, values, strict=True)))
    except (ConfigError, ValueError, TypeError) as e:
        return gr.Code(visible=False), box(f"Fix the form first: {e}", "error")
    return gr.Code(command_for(cfg, gpu_available()), visible=True), ""


def start_training(ds: Dataset, exclude_errors: bool, template: str, *values):
    """Start a run; returns (problems html, status html). Never raises."""
    if not ds or not ds.loaded:
        return box("Load data first (step 1: Data).", "error"), gr.skip()
    try:
        cfg = make_config(ds, exclude_errors, template, dict(zip(FIELDS, values, strict=True)))
        problems = cfg.problems()
    except (ConfigError, ValueError, TypeError) as e:  # out of bounds, or not a number at all
        problems = getattr(e, "problems", None) or {"settings": str(e)}
    if problems:
        items = "".join(f"<li><b>{_label(k)}</b>: {v}</li>" for k, v in problems.items())
        return f'<div class="msg msg-error">Fix these settings first:<ul>{items}</ul></div>', gr.skip()

    close_generators()  # the playground's models would take memory from the training
    try:
        job = get_engine().start(cfg, report=ds.report)  # validated once: the worker trusts it
    except USER_ERRORS as e:
        return box(str(e), "error"), gr.skip()
    return box(
        f"Started job {job}. You can close this tab: training goes on, and the page re-attaches when "
        "you come back.",
        "ok",
    ), box("Starting ...", "info")


def running_job() -> tuple[TrainConfig | None, str]:
    """(config, job id) of the job training now, or (None, "")."""
    snap = get_engine().snapshot()
    if snap["status"] not in ACTIVE or not snap["output_dir"]:
        return None, ""
    job = read_job(Path(snap["output_dir"])) or {}
    return (TrainConfig.from_dict(job["config"]), snap["job_id"]) if "config" in job else (None, "")


def _label(field_name: str) -> str:
    return field_name.replace("_", " ").capitalize()


def resume_training():
    """Continue the newest interrupted job from its last checkpoint (same MLflow run). Never raises."""
    jobs = resumable_jobs()
    if not jobs:
        return box("There is no interrupted run with a checkpoint to resume.", "info")
    try:
        job = get_engine().resume(jobs[0]["job_id"])
    except USER_ERRORS as e:
        return box(str(e), "error")
    return box(
        f"Resuming job {job} from step {jobs[0].get('checkpoint_step', '?')}; the loss chart continues in "
        "the same MLflow run.",
        "ok",
    )


def interrupted_html(engine=None) -> str:
    """What the studio found at start-up: runs whose process died, marked killed in MLflow."""
    engine = engine or get_engine()
    return "".join(
        box(i.message + (" Press 'Resume the interrupted run'." if i.checkpoint_step else ""), "warn")
        for i in engine.interrupted[:3]
    )


def stop_training():
    """Stop after the current step (the adapter is saved); pressed again while stopping: Stop now."""
    engine = get_engine()
    if engine.snapshot()["status"] == "stopping":
        if engine.stop_now():
            return box(
                "Stopping now: the training process is ended at once. No adapter is saved for the steps since "
                "the last checkpoint; 'Resume the interrupted run' continues from it.",
                "warn",
            )
    if engine.stop():
        return box(
            "Stopping after the current step; the adapter will be saved. Press 'Stop now' to end it at once.",
            "warn",
        )
    return box("No training is running.", "info")


def chart_data(run_id: str, tracking_uri: str | None = None) -> dict:
    """The points the charts show, read from the MLflow run's metric history."""
    out = {"run_id": run_id, "loss": [], "eval_loss": [], "learning_rate": [], "reward": [], "warning": ""}
    if not run_id:
        return out
    try:
        for key in ("loss", "eval_loss", "learning_rate", "reward"):
            out[key] = [list(p) for p in metric_history(run_id, key, tracking_uri)]
    except Exception as e:  # noqa: BLE001 - a slow or unreachable server must not break the page
        out["warning"] = (
            f"MLflow is not answering ({type(e).__name__}); the chart will catch up when it is back. "
            "Training continues."
        )
    return out


def status_html(snap: dict) -> str:
    status = snap["status"]
    kind = {"completed": "ok", "stopped": "warn", "failed": "error", "died": "error", "idle": "info"}.get(
        status, "info"
    )
    label = {
        "idle": "No training yet.",
        "starting": "Starting (loading libraries, model and data) ...",
        "running": "Training",
        "stopping": "Stopping after the current step ...",
        "evaluating": "Evaluating base vs adapter on the held-out rows ...",
        "completed": "Completed",
        "stopped": "Stopped",
        "failed": "Failed",
        "died": "The training process ended unexpectedly",
    }[status]
    parts = [label]
    if snap["job_id"]:
        parts.append(f"job {snap['job_id']} · {snap['model']} · {snap['backend'] or 'loading'}")
    if snap["mlflow_warning"]:
        return box(" — ".join(parts), kind) + box(snap["mlflow_warning"], "warn")
    return box(" — ".join(parts), kind)


def progress_html(snap: dict) -> str:
    if snap["status"] == "idle":
        return ""
    step, total = snap["step"], max(snap["total_steps"], 1)
    tps = f"{snap['tokens_per_second']:.0f} tokens/s" if snap["tokens_per_second"] else "tokens/s: -"
    loss = f"loss {snap['last_loss']:.4f}" if snap["last_loss"] is not None else ""
    return (
        f'<div class="progress"><progress value="{step}" max="{total}"></progress>'
        f'<span id="step-count">step {step}/{total}</span> · elapsed {fmt_duration(snap["elapsed"])} · '
        f"ETA {fmt_duration(snap['eta'])} · {tps} {('· ' + loss) if loss else ''}</div>"
    )


def evaluation_line(snap: dict) -> str:
    """The evaluation run as the job ended, in words: which sets were scored, each side's accuracy (the base model
    with the schema in its prompt first), and whether fine-tuning beat it."""
    summaries = snap.get("evaluation") or {}
    if "adapter" not in summaries:
        return ""
    text = snap.get("evaluation_text") or ", ".join(
        f"{SIDE_LABELS.get(name, name)} {right(s)}" for name, s in summaries.items()
    )
    return f" {text[0].upper()}{text[1:]} See every answer in step 5 (Evaluate)."


def outcome_html(snap: dict) -> str:
    status = snap["status"]
    if status == "completed":
        return box(
            f"Done: {snap['message']}{evaluation_line(snap)} The adapter is in {snap['adapter_path']}.", "ok"
        )
    if status == "stopped":
        return box(f"{snap['message']} It is in {snap['adapter_path']}.", "warn")
    if status == "failed":
        return box(f"{snap['error']} Change the settings or the data and start again.", "error")
    if status == "died":
        return box(snap["error"] or snap["message"], "error")
    return ""


def adapter_zip(snap: dict) -> str | None:
    """Zip the finished run's adapter once, next to it: the same zip as the Runs tab's export (with a README)."""
    adapter = Path(snap["adapter_path"]) if snap["adapter_path"] else None
    if not adapter or not adapter.is_dir():
        return None
    name = safe_name(snap["job_id"] or "adapter")
    target = adapter.parent / f"{name}-adapter.zip"
    if not target.exists():
        export(source_from_adapter(adapter), "zip", adapter.parent, name, progress=lambda line: None)
    return str(target)


def tick(last_view: str):
    """Refresh the live view from the engine and MLflow; skips the update when nothing changed."""
    snap = get_engine().snapshot()
    data = chart_data(snap["mlflow_run_id"], snap["tracking_uri"] or None)
    view = (
        f"{snap['status']}|{snap['job_id']}|{snap['step']}|{len(data['loss'])}|{len(data['eval_loss'])}|"
        f"{len(data['reward'])}|"
        f"{len(get_engine().interrupted)}|"
        f"{data['warning']}|{snap['mlflow_warning']}|{len(snap['log_lines'])}|{int(time.time()) // 5}"
    )
    if view == last_view:
        return (gr.skip(),) * 13
    link = ""
    if snap["mlflow_run_id"] and snap["tracking_uri"].startswith("http"):
        url = run_url(snap["tracking_uri"], snap["experiment_id"], snap["mlflow_run_id"])
        link = f'<a href="{html.escape(redact(url))}" target="_blank" id="mlflow-run-link">Open this run in MLflow ↗</a>'
    warning = box(data["warning"], "warn") if data["warning"] else ""
    zipped = adapter_zip(snap) if snap["status"] in WITH_ADAPTER else None
    download = gr.DownloadButton(value=zipped, visible=bool(zipped))
    recovered = interrupted_html() if snap["status"] == Status.IDLE or snap["status"] in FINISHED else ""
    active = snap["status"] in ACTIVE
    stop = gr.Button(
        "Stop now" if snap["status"] == "stopping" else "Stop", interactive=active
    )  # looks off when idle
    resume = gr.Button(visible=snap["status"] not in ACTIVE and bool(resumable_jobs()))
    to_evaluate = gr.Button(visible=bool(evaluation_line(snap)) and snap["status"] == "completed")
    # no empty chart: a plot shows once MLflow has a point for it
    loss = (
        gr.Plot(loss_figure(data["loss"], data["eval_loss"], reward=data["reward"]), visible=True)
        if data["loss"]
        else gr.Plot(visible=False)
    )
    rate = (
        gr.Plot(lr_figure(data["learning_rate"]), visible=True)
        if data["learning_rate"]
        else gr.Plot(visible=False)
    )
    return (
        status_html(snap) + warning + recovered,
        progress_html(snap),
        loss,
        rate,
        link,
        outcome_html(snap),
        download,
        "\n".join(snap["log_lines"][-12:]),
        stop,
        resume,
        to_evaluate,
        gr.Button(interactive=not active),  # one run at a time: Start is off while one trains
        view,
    )
