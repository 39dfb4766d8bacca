"""The Train tab's queue and sweep box: plan several runs, run them unattended, compare them on one leaderboard.

Add the form as it is to the queue; move, remove or duplicate an item with one setting changed; Run all runs every
queued item as an ordinary run (core.train.queue); a sweep is a grid of the form with two to four values of the
learning rate, the rank, the steps or the schema in the prompt (queued as the children of one parent MLflow run), or
a search of N trials with Optuna. The leaderboard lists every run on the connected database (single runs, the queue's,
every sweep's), the best first: chosen on your own questions when a run was scored on enough of them, else on the
held-out rows.
"""

import threading
import time

import gradio as gr

from app.best_runs import board, clone_best, database_of, export_best, latest_sweep
from app.common import USER_ERRORS, box
from app.train_form import FIELDS, make_config
from app.train_plan import estimate_seconds
from core.config import ConfigError, TrainConfig
from core.db.your_questions import ENOUGH
from core.runstate import ACTIVE
from core.sweep import GRID_CAP, create_study, grid, optimize, parse_grid, start_sweep
from core.sweep.leaderboard import COLUMNS
from core.train import get_engine
from core.train.gpus import gpu_count
from core.train.queue import Queue, get_queue_runner, update

QUEUE_HEADERS = ["#", "run", "status", "what differs from the first", "message"]
DUPLICABLE = [
    "learning_rate",
    "rank",
    "alpha",
    "max_steps",
    "schema_in_prompt",
    "batch_size",
    "grad_accum",
    "warmup_steps",
    "max_seq_length",
    "dropout",
    "seed",
    "eval_fraction",
    "model",
]
_studies: list[threading.Thread] = []  # the search running in this studio (one at a time)


def build_queue_panel() -> dict:
    c = {}
    with gr.Accordion("Queue and sweep: several runs, unattended", open=False, elem_id="queue-box"):
        gr.Markdown(
            "Add the form as it is, change a setting, add again; or let a sweep add every combination. "
            "**Run all** runs them one after another, each an ordinary run evaluated when it ends on the same "
            "held-out rows; a run that fails keeps its reason and the queue goes on. The queue is kept in the "
            "data folder: after a restart it carries on."
        )
        with gr.Row():
            c["queue_add"] = gr.Button("Add to queue", elem_id="queue-add")
            c["queue_run"] = gr.Button("Run all", variant="primary", elem_id="queue-run")
            c["queue_stop_after"] = gr.Button("Stop after this run", elem_id="queue-stop-after")
            c["queue_stop_now"] = gr.Button("Stop now", variant="stop", elem_id="queue-stop-now")
            c["queue_parallel"] = gr.Number(
                1,
                label="Side by side",
                info="runs at a time, one GPU each",
                minimum=1,
                maximum=max(gpu_count(), 1),
                precision=0,
                visible=gpu_count() > 1,  # a host with several GPUs
                elem_id="queue-parallel",
            )
        c["queue_message"] = gr.HTML(elem_id="queue-message")
        c["queue_table"] = gr.Dataframe(
            headers=QUEUE_HEADERS,
            interactive=False,
            wrap=True,
            max_height=300,
            column_widths=["5%", "11%", "10%", "37%", "37%"],
            elem_id="queue-table",
        )
        with gr.Row():
            c["queue_item"] = gr.Dropdown([], label="Item", scale=2, elem_id="queue-item")
            c["queue_up"] = gr.Button("Up", size="sm")
            c["queue_down"] = gr.Button("Down", size="sm")
            c["queue_remove"] = gr.Button("Remove", size="sm", elem_id="queue-remove")
        with gr.Row():
            c["dup_field"] = gr.Dropdown(
                DUPLICABLE, value="learning_rate", label="Setting to change", scale=2
            )
            c["dup_value"] = gr.Textbox(label="New value", scale=2, elem_id="dup-value")
            c["queue_duplicate"] = gr.Button(
                "Duplicate with this change", size="sm", elem_id="queue-duplicate"
            )
        gr.Markdown(
            "**Sweep** - two to four values each (comma-separated); leave a box empty to keep the form's value."
        )
        with gr.Row():
            c["sweep_lr"] = gr.Textbox(
                label="Learning rates", placeholder="5e-4, 1e-3, 2e-3", elem_id="sweep-lr"
            )
            c["sweep_rank"] = gr.Textbox(
                label="LoRA ranks (alpha = 2 x rank)", placeholder="8, 16", elem_id="sweep-rank"
            )
            c["sweep_steps"] = gr.Textbox(label="Steps", placeholder="100, 200", elem_id="sweep-steps")
            c["sweep_schema"] = gr.CheckboxGroup(
                ["full", "relevant", "none"], label="Schema in the prompt", elem_id="sweep-schema"
            )
        with gr.Row():
            c["sweep_mode"] = gr.Radio(
                ["grid", "search"],
                value="grid",
                label="How",
                info=f"grid: every combination (at most {GRID_CAP} runs); search: N trials "
                "drawn by Optuna's TPE sampler, pruned on eval loss",
            )
            c["sweep_trials"] = gr.Number(6, label="Trials (search)", precision=0, minimum=2, maximum=64)
            c["sweep_btn"] = gr.Button("Start the sweep", variant="primary", elem_id="sweep-start")
        c["sweep_plan"] = gr.HTML(elem_id="sweep-plan")
        gr.Markdown(
            "**Leaderboard** - every run on the connected database (single runs, the queue's, every sweep's), the "
            f"best first: chosen on your own questions when a run was scored on {ENOUGH} or more of them (the "
            "Evaluate tab's playground keeps them), else on the held-out rows."
        )
        c["board"] = gr.Dataframe(
            headers=COLUMNS, interactive=False, wrap=True, max_height=360, elem_id="leaderboard"
        )
        c["board_chart"] = gr.Plot(label="Accuracy against the swept setting", visible=False)
        with gr.Row():
            c["best_clone"] = gr.Button("Clone the best into the form", size="sm", elem_id="best-clone")
            c["best_export"] = gr.Button("Export the best (zip)", size="sm", elem_id="best-export")
        c["best_file"] = gr.File(label="The best run's adapter", visible=False, interactive=False)
        c["sweep_parent"] = gr.State(latest_sweep())
        c["last_view"] = gr.State("")
        c["timer"] = gr.Timer(3.0)
    return c


def queue_view(message: str = ""):
    """(message, table, item choices) of the queue as it is on disk."""
    queue = Queue.load()
    rows = [
        [
            n,
            item.cfg.run_name or f"run {n}",
            item.status,
            TrainConfig.describe(queue.differing(item)) or "-",
            item.message,
        ]
        for n, item in enumerate(queue.items, start=1)
    ]
    choices = [
        (
            f"{n}. {item.cfg.run_name or TrainConfig.describe(queue.differing(item)) or 'run'} ({item.status})",
            item.id,
        )
        for n, item in enumerate(queue.items, start=1)
    ]
    running = " The queue is running." if queue.running else ""
    return (
        message + (box(f"{len(rows)} in the queue.{running}", "info") if rows and not message else ""),
        rows,
        gr.Dropdown(choices=choices, value=choices[-1][1] if choices else None),
    )


def add_to_queue(cfg: TrainConfig):
    update(lambda q: q.add(cfg))
    return queue_view(box("Added to the queue.", "ok"))


def edit(action: str, item_id: str, field_name: str = "", value=None):
    """Up, down, remove or duplicate an item."""
    if not item_id:
        return queue_view(box("Pick an item first.", "warn"))
    try:
        if action == "up":
            update(lambda q: q.move(item_id, -1))
        elif action == "down":
            update(lambda q: q.move(item_id, 1))
        elif action == "remove":
            update(lambda q: q.remove(item_id))
        else:
            update(lambda q: q.duplicate(item_id, field_name, value))
    except (*USER_ERRORS, ValueError, TypeError) as e:
        return queue_view(box(str(e), "error"))
    return queue_view(
        box({"duplicate": f"Duplicated with {field_name} = {value}."}.get(action, "Done."), "ok")
    )


def run_all(parallel=1):
    runner = get_queue_runner(get_engine())
    if not Queue.load().next_queued():
        return queue_view(box("Nothing queued: add the form (or a sweep) first.", "warn"))
    if get_engine().snapshot()["status"] in ACTIVE and not runner.alive:
        return queue_view(box("A run is training: Run all when it ends.", "warn"))
    try:
        started = runner.start(parallel=int(parallel or 1))
    except ValueError as e:
        return queue_view(box(str(e), "error"))
    side = f", {int(parallel)} side by side" if (parallel or 1) > 1 else ""
    return queue_view(box(f"Running the queue{side}." if started else "The queue is already running.", "ok"))


def stop_after():
    get_queue_runner(get_engine()).stop_after_current()
    return queue_view(box("The queue stops when the current run ends.", "info"))


def stop_now():
    get_queue_runner(get_engine()).stop_now()
    return queue_view(box("Stopping now: the current run ends at once; nothing more runs.", "warn"))


def sweep_space(lr: str, rank: str, steps: str, schema: list) -> dict:
    specs = [
        f"{name}={text}"
        for name, text in (("lr", lr), ("rank", rank), ("steps", steps))
        if (text or "").strip()
    ]
    if schema:
        specs.append("schema=" + ",".join(schema))
    return parse_grid(specs)


def sweep_plan(cfg: TrainConfig, lr, rank, steps, schema, mode, trials, estimate_s: float | None) -> str:
    """How many runs the sweep makes and about how long they take in all (each estimated as the form's run)."""
    try:
        space = sweep_space(lr, rank, steps, schema)
        runs = len(grid(cfg, space)) if mode == "grid" else int(trials or 0)
    except ConfigError as e:
        return box(str(e), "warn")
    if not space:
        return ""
    total = f", about {runs * estimate_s / 60:.0f} min in all on this machine" if estimate_s else ""
    return box(f"{runs} runs{total}, each evaluated on the same held-out rows.", "info")


def start(cfg: TrainConfig, lr, rank, steps, schema, mode, trials):
    """Queue the grid (and run it), or start the search in a thread. (message, table, choices, parent)"""
    try:
        space = sweep_space(lr, rank, steps, schema)
        if not space:
            raise ConfigError({"sweep": "give two to four values for at least one setting"})
        if mode == "grid":
            parent = start_sweep(cfg, grid(cfg, space), space)
            get_queue_runner(get_engine()).start()
            return (
                *queue_view(box(f"The grid is queued and running (parent run {parent[:8]}).", "ok")),
                parent,
            )
        if _studies and _studies[-1].is_alive():
            raise ValueError("A search is running: wait for it.")
        study, parent = create_study(cfg, space, int(trials or 6))
        thread = threading.Thread(target=optimize, args=(study, get_engine()), daemon=True, name="search")
        thread.start()
        _studies.append(thread)
        message = f"The search of {int(trials or 6)} trials is running (study {study.study_name})."
        return (*queue_view(box(message, "ok")), parent)
    except (*USER_ERRORS, ValueError) as e:
        return (*queue_view(box(str(e), "error")), gr.skip())


# ---- wiring (app.ui calls it with the tabs' components) ----


def form_config(ds, exclude_errors: bool, template: str, *values) -> TrainConfig:
    """The Train form as a config, its problems raised as a ConfigError (the same checks as Start)."""
    if not ds or not ds.loaded:
        raise ConfigError({"data": "load data first (step 1: Data)"})
    cfg = make_config(ds, exclude_errors, template, dict(zip(FIELDS, values, strict=True)))
    if problems := cfg.problems():
        raise ConfigError(problems)
    return cfg


def _with_form(handler):
    """A handler of (config, *rest) fed by the form's inputs first; a form problem is the message."""

    def run(ds, exclude_errors, template, *rest):
        values, rest = rest[: len(FIELDS)], rest[len(FIELDS) :]
        try:
            cfg = form_config(ds, exclude_errors, template, *values)
        except (ConfigError, ValueError, TypeError) as e:
            problems = getattr(e, "problems", None) or {"settings": str(e)}
            text = "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in problems.items())
            shown = queue_view(box(f"Fix the form first - {text}", "error"))
            return shown if handler is not start else (*shown, gr.skip())
        return handler(cfg, *rest)

    return run


def refresh(parent: str, last_view: str, ds=None):
    """The timer: the queue and the leaderboard, redrawn only when the queue file changed (or every 30 s)."""
    path = Queue.path()
    view = (
        f"{path.stat().st_mtime if path.exists() else 0}|{parent}|{database_of(ds)}|{int(time.time()) // 30}"
    )
    if view == last_view:
        return (gr.skip(),) * 6
    return (*queue_view(), *board(parent, ds), view)


def wire_queue(q: dict, d: dict, p: dict, t: dict, dataset) -> None:
    form = [dataset, d["exclude"], p["template"], *[t[f] for f in FIELDS]]
    shown = [q["queue_message"], q["queue_table"], q["queue_item"]]
    sweep = [
        q[k] for k in ("sweep_lr", "sweep_rank", "sweep_steps", "sweep_schema", "sweep_mode", "sweep_trials")
    ]
    q["queue_add"].click(_with_form(add_to_queue), form, shown, api_name="queue_add")
    q["queue_run"].click(run_all, q["queue_parallel"], shown, api_name="queue_run", concurrency_limit=1)
    q["queue_stop_after"].click(stop_after, None, shown, api_name="queue_stop_after")
    q["queue_stop_now"].click(stop_now, None, shown, api_name="queue_stop_now")
    for action in ("up", "down", "remove"):
        q[f"queue_{action}"].click(lambda item, a=action: edit(a, item), q["queue_item"], shown)
    q["queue_duplicate"].click(
        lambda item, name, value: edit("duplicate", item, name, value),
        [q["queue_item"], q["dup_field"], q["dup_value"]],
        shown,
    )

    def plan(*args):
        ds, exclude, template, *rest = args
        try:
            cfg = form_config(ds, exclude, template, *rest[: len(FIELDS)])
        except (ConfigError, ValueError, TypeError):
            return ""
        estimate = estimate_seconds(ds, exclude, cfg)
        return sweep_plan(cfg, *rest[len(FIELDS) :], estimate)

    for box_ in sweep:
        box_.change(plan, [*form, *sweep], q["sweep_plan"], show_progress="hidden")
    q["sweep_btn"].click(
        _with_form(start), [*form, *sweep], [*shown, q["sweep_parent"]], api_name="sweep", concurrency_limit=1
    )
    q["timer"].tick(
        refresh,
        [q["sweep_parent"], q["last_view"], dataset],
        [*shown, q["board"], q["board_chart"], q["last_view"]],
        show_progress="hidden",
        api_visibility="private",
    )
    q["sweep_parent"].change(board, [q["sweep_parent"], dataset], [q["board"], q["board_chart"]])
    q["best_clone"].click(
        clone_best, [q["sweep_parent"], dataset], [*[t[f] for f in FIELDS], p["template"], q["queue_message"]]
    )
    q["best_export"].click(export_best, [q["sweep_parent"], dataset], [q["best_file"], q["queue_message"]])
