"""Tab 3: configure and run training, with a live view that mirrors the MLflow run."""

import html
import time
from dataclasses import replace
from pathlib import Path

import gradio as gr

from app.charts import loss_figure, lr_figure
from app.common import USER_ERRORS, Dataset, box, close_generators, fmt_duration
from core.config import ConfigError, TrainConfig, default_value
from core.defaults import RECIPE, recommended_settings
from core.evaluate import SIDE_LABELS
from core.export import export, source_from_adapter
from core.paths import safe_name
from core.redact import redact
from core.runstate import ACTIVE, FINISHED, WITH_ADAPTER, Status
from core.settings import GROUPS
from core.tracking import metric_history, run_url
from core.train import (
    MODEL_CHOICES,
    estimate_run,
    get_engine,
    gpu_available,
    gpu_count,
    plan_batches,
    planned_split,
    resumable_jobs,
    suggested_steps,
    visible_gpus,
)
from core.train.jobs import read_job

AUTO_ON_OFF = ["auto", "on", "off"]
# The form is built from the config's own fields (TrainConfig.form_fields: label, help, bounds, widget); their order
# is the order of the Start button's inputs. The plan line reads those marked `plan`; the recommended and the
# recipe's settings fill in RECIPE's fields.
FORM = TrainConfig.form_fields()
FIELDS = [f.name for f in FORM]
PLAN_FIELDS = [f.name for f in FORM if f.metadata.get("plan")]
SETTING_FIELDS = [*RECIPE, "evaluate_after"]
ELEM_IDS = {
    "max_steps": "steps",
    "schema_in_prompt": "schema-in-prompt",
}  # what the browser tests find them by


def _hint(name: str) -> str:
    return TrainConfig.help(name)


def setting_component(f, value):
    """The form component of one config field, from its metadata: label, help, bounds, choices, widget."""
    meta, kw = (
        f.metadata,
        {
            "label": f.metadata["label"],
            "info": f.metadata["help"],
            "elem_id": ELEM_IDS.get(f.name, f"cfg-{f.name.replace('_', '-')}"),
        },
    )
    widget, kind = meta.get("widget"), str(f.type)
    if widget == "model":
        return gr.Dropdown(
            list(MODEL_CHOICES),
            value=value,
            allow_custom_value=True,
            scale=3,
            **{**kw, "info": kw["info"] + " Type a folder path or Hub id to use another."},
        )
    if widget == "slider":
        return gr.Slider(
            meta.get("step", 1), meta.get("ui_max", meta["max"]), value=value, step=meta.get("step", 1), **kw
        )
    if "None" in kind:  # an optional switch: decided by the machine unless set
        return gr.Radio(AUTO_ON_OFF, value=_form_value_of(value), **kw)
    if meta.get("choices") and f.type is list:
        return gr.CheckboxGroup(list(meta["choices"]), value=list(value), **kw)
    if meta.get("choices"):
        return gr.Radio(list(meta["choices"]), value=value, **kw)
    if f.type is bool:
        return gr.Checkbox(value, **kw)
    if f.type in (int, float):
        bounds = {"minimum": meta["min"]} if meta.get("min") is not None else {}
        return gr.Number(value, precision=0 if f.type is int else None, **bounds, **kw)
    return gr.Textbox(value, **kw)


def build_train_tab() -> dict:
    c = {}
    model = MODEL_CHOICES[0]
    start = {**{f.name: default_value(f.name) for f in FORM}, **recommended_settings(model, gpu_available())}
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


def _rows(form: list, width: int = 4) -> list[list]:
    """Form fields in rows: a wide one (the model, a radio) alone, the others `width` to a row."""
    rows, row = [], []
    for f in form:
        if f.metadata.get("widget") in ("model", "radio") or (f.metadata.get("choices") and f.type is list):
            rows += [row, [f]] if row else [[f]]
            row = []
            continue
        row.append(f)
        if len(row) == width:
            rows.append(row)
            row = []
    return [r for r in [*rows, row] if r]


# ---- handlers ----


def make_config(ds: Dataset, exclude_errors: bool, template: str, values: dict) -> TrainConfig:
    """The run's config from the session's data and the form's values (each converted to its field's type).
    Raises ConfigError for a value out of its bounds."""
    v = {name: TrainConfig.coerce(name, value) for name, value in values.items()}
    v["database_name"] = v.get("database_name") or (ds.database_name if ds else "")
    return TrainConfig(
        data_path=ds.path if ds else "",
        data_name=ds.name if ds else "",
        schema_text=ds.schema_ddl if ds else "",
        dialect=ds.dialect if ds else "postgres",
        database=ds.database if ds else "",
        system_template=template,
        exclude_error_rows=bool(exclude_errors),
        **v,
    )


def settings_for_model(model: str):
    """When the model changes: the settings that fit it on this machine, and a note saying so."""
    values = recommended_settings(model or MODEL_CHOICES[0], gpu_available())
    small = values["schema_in_prompt"] == "none"
    note = (
        "Settings for a small model on this CPU: a higher learning rate, one micro-batch of 4 per step and "
        "prompts that name the database instead of pasting its schema."
        if small
        else "The recipe's settings for a GPU."
    )
    return (
        *[values[f] for f in SETTING_FIELDS],
        box(
            note + " 'Use the recipe's settings' restores the original "
            "recipe (r16, alpha 32, lr 2e-4, batch 2 x 4, 60 steps).",
            "info",
        ),
    )


def recipe_settings(evaluate_after: bool):
    """The original recipe: a 7B model's settings (on a small CPU model they learn much less; see the note)."""
    values = {**RECIPE, "evaluate_after": evaluate_after}
    return (
        *[values[f] for f in SETTING_FIELDS],
        box(
            "The recipe's settings: r16, alpha 32, lr 2e-4, batch 2 x accumulation 4, 60 steps, the full schema "
            "in every prompt. They suit a 7B model on a GPU; the bundled model on a CPU learns far less with "
            "them (5% execution accuracy on the sample data, against over 60% with its own defaults).",
            "info",
        ),
    )


def plan_for(ds: Dataset, exclude_errors: bool, *values) -> tuple[str, int]:
    """plan_html from the form's PLAN_FIELDS values, in their order (the event's inputs)."""
    return plan_html(ds, exclude_errors, **dict(zip(PLAN_FIELDS, values, strict=True)))


def plan_html(
    ds: Dataset,
    exclude_errors: bool,
    max_steps=0,
    batch_size=2,
    grad_accum=4,
    packing="auto",
    batch_tokens=0,
    max_seq_length=2048,
    gpus=1,
    model=MODEL_CHOICES[0],
    evaluate_after=False,
    load_in_4bit="auto",
    eval_fraction=0.1,
) -> tuple[str, int]:
    """What one step sees and how many epochs the steps make, plus a suggested number of steps."""
    steps, batch, accum = max_steps, batch_size, grad_accum
    if not ds or not ds.loaded:
        return box("Load data first (step 1): the plan is computed from it.", "info"), 0
    cfg = TrainConfig(
        batch_size=max(int(batch or 1), 1),
        grad_accum=max(int(accum or 1), 1),
        packing=TrainConfig.coerce("packing", packing),
        batch_tokens=max(int(batch_tokens or 0), 0),
        max_seq_length=int(max_seq_length or 2048),
    )
    lengths = ds.report.token_lengths if ds.report else []
    found = gpu_count()
    devices = min(found if int(gpus or 0) == 0 else int(gpus), found) if found else 1
    plan = plan_batches(cfg, lengths, found > 0, devices)
    train, held = planned_split(ds.pairs, ds.report, bool(exclude_errors), float(eval_fraction or 0))
    training, held_out = max(len(train), 1), len(held)
    cfg = replace(
        cfg,
        model=model or MODEL_CHOICES[0],
        evaluate_after=bool(evaluate_after),
        load_in_4bit=TrainConfig.coerce("load_in_4bit", load_in_4bit),
    )
    suggested, why = suggested_steps(cfg, plan, training, found > 0)
    steps = int(steps or 0)
    chosen = f"{steps} steps make" if steps else f"the suggested {suggested} steps ({why}) make"
    where = "On this GPU, " if plan.packing else ""
    text = (
        f"{training} rows will train, {held_out} are held out to score the adapter. {where}{plan.describe()}, so "
        f"{chosen} {plan.epochs(steps or suggested, training):.2f} epochs."
        + ("" if not steps else f" Suggested: {suggested} steps ({why}); 0 uses the suggestion.")
    )
    cfg = replace(cfg, max_steps=steps or suggested)
    guess = estimate_run(cfg, plan, training, found > 0, held_out)
    gpu = next(iter(visible_gpus()), None) if found else None
    free = gpu.free_mib / 1024 if gpu else None
    out = box(text, "info") + box(guess.describe(free), "info" if guess.fits(free) else "warn")
    if not guess.fits(free):
        out += box(
            f"This would not fit in the {free:.0f} GiB free on {gpu.name}: lower the tokens per micro-batch or the "
            "max sequence length, turn on 4-bit loading, or pick a smaller model.",
            "error",
        )
    return out, suggested


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


def _form_value_of(value):
    """An optional switch as the form shows it."""
    return "auto" if value is None else ("on" if value else "off")


def _form_value(cfg: TrainConfig, name: str):
    value = getattr(cfg, name)
    return _form_value_of(value) if "None" in str(TrainConfig.__dataclass_fields__[name].type) else value


def running_job() -> tuple[TrainConfig | None, str]:
    """(config, job id) of the job training now, or (None, "")."""
    snap = get_engine().snapshot()
    if snap["status"] not in ACTIVE or not snap["output_dir"]:
        return None, ""
    job = read_job(Path(snap["output_dir"])) or {}
    return (TrainConfig.from_dict(job["config"]), snap["job_id"]) if "config" in job else (None, "")


def form_values(cfg: TrainConfig) -> tuple:
    """The form's fields (FIELDS, then the template) showing a config's settings."""
    return (*[_form_value(cfg, f) for f in FIELDS], cfg.system_template)


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
    out = {"run_id": run_id, "loss": [], "eval_loss": [], "learning_rate": [], "warning": ""}
    if not run_id:
        return out
    try:
        for key in ("loss", "eval_loss", "learning_rate"):
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
        f"{SIDE_LABELS.get(name, name)} {s['exec_accuracy']:.0%}" for name, s in summaries.items()
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
        f"{len(get_engine().interrupted)}|"
        f"{data['warning']}|{snap['mlflow_warning']}|{len(snap['log_lines'])}|{int(time.time()) // 5}"
    )
    if view == last_view:
        return (gr.skip(),) * 12
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
        gr.Plot(loss_figure(data["loss"], data["eval_loss"]), visible=True)
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
        view,
    )
