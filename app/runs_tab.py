"""Tab 4: the experiment's MLflow runs: table, overlaid loss curves, one run's details, clone settings. Below them
(assembled by app/ui.py) the open run's adapter: register, export (app/adapter_panel.py)."""

import os

import gradio as gr

from app.charts import overlay_figure
from app.common import box
from app.train_form import FIELDS, form_values
from core.tracking import RUN_COLUMNS, config_from_params, is_healthy, list_runs, metric_history, run_details


def build_runs_tab() -> dict:
    c = {}
    gr.Markdown("Every training run is an MLflow run. Compare them here, or open MLflow itself for more.")
    with gr.Row():
        c["refresh_btn"] = gr.Button("Refresh", size="sm", elem_id="runs-refresh")
        c["experiment"] = gr.Textbox("text2sql-finetune", label="Experiment", scale=2)
    c["message"] = gr.HTML()
    c["table"] = gr.Dataframe(
        headers=RUN_COLUMNS,
        interactive=False,
        show_search="filter",
        wrap=False,
        max_height=360,
        label="Runs (click a column to sort, use the filter to search)",
        elem_id="runs-table",
    )
    c["compare"] = gr.Dropdown(
        [], multiselect=True, label="Runs to compare", info="Pick several runs to overlay their loss curves."
    )
    c["overlay"] = gr.Plot(label="Loss curves", visible=False, elem_id="runs-overlay")
    with gr.Row():
        c["open_run"] = gr.Dropdown([], label="Open a run", scale=3)
        c["clone_btn"] = gr.Button("Clone its settings into the Train tab", size="sm", scale=1)
    with gr.Row():
        c["params"] = gr.Dataframe(
            headers=["setting", "value"], interactive=False, label="Settings", max_height=400
        )
        c["samples"] = gr.Textbox(
            label="Formatted samples (what the model was trained on)", lines=16, max_lines=16
        )
    return c


def _choices(rows: list[list]) -> list[tuple[str, str]]:
    return [(f"{r[0]} ({r[2] or r[1].lower()}, loss {r[7]}, {r[11]})", r[-1]) for r in rows]


def refresh_runs(experiment: str):
    """(message, table rows, compare choices, open choices)."""
    uri = os.environ.get("MLFLOW_TRACKING_URI", "")
    try:
        if not is_healthy(uri, timeout=2.0):
            raise ConnectionError(uri)
        rows = list_runs(experiment)
    except Exception as e:  # noqa: BLE001 - MLflow down: say so, keep the page working
        return (
            box(f"MLflow is not answering ({type(e).__name__}). Try again in a moment.", "warn"),
            gr.skip(),
            gr.skip(),
            gr.skip(),
        )
    message = "" if rows else box(f"No runs yet in experiment '{experiment}'. Train one in step 3.", "info")
    choices = _choices(rows)
    newest = (
        [choices[0][1]] if choices else []
    )  # the chart and the details show the newest run without a pick
    return (
        message,
        rows,
        gr.Dropdown(choices=choices, value=newest),
        gr.Dropdown(choices=choices, value=newest[0] if newest else None),
    )


def overlay_runs(run_ids: list[str]):
    """The picked runs' loss curves; no chart before there is one."""
    curves = {}
    for run_id in run_ids or []:
        try:
            name = run_details(run_id)["name"]
            curves[f"{name} ({run_id[:6]})"] = metric_history(run_id, "loss")
        except Exception:  # noqa: BLE001
            continue
    if not any(curves.values()):
        return gr.Plot(visible=False)
    return gr.Plot(overlay_figure(curves), visible=True)


def open_run(run_id: str):
    if not run_id:
        return [], ""
    try:
        details = run_details(run_id)
    except Exception as e:  # noqa: BLE001
        return [], f"Could not read the run from MLflow ({type(e).__name__})."
    rows = [[k, v] for k, v in details["params"].items() if k != "system_template"]
    rows += [[f"tag: {k}", v] for k, v in sorted(details["tags"].items()) if not k.startswith("version.")]
    rows += [[f"metric: {k}", round(v, 5)] for k, v in sorted(details["metrics"].items())]
    return rows, details["samples"] or "(no samples stored for this run)"


def clone_settings(run_id: str) -> dict:
    """Train-tab field values (FIELDS and the template) from a run's settings ({} when there is no run)."""
    if not run_id:
        return {}
    cfg = config_from_params(run_details(run_id)["params"])
    values = dict(zip([*FIELDS, "system_template"], form_values(cfg), strict=True))
    values["run_name"] = f"{cfg.run_name} (copy)" if cfg.run_name else ""
    return values
