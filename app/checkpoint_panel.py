"""The Runs tab's checkpoint box: score every checkpoint the open run kept on its held-out rows, see accuracy by
step, and make the best step the run's adapter (core.evaluate.checkpoints). A run keeps its checkpoints when it was
trained with 'Keep every checkpoint' (Train tab, Advanced)."""

import gradio as gr

from app.charts import checkpoint_figure
from app.common import USER_ERRORS, box
from core.evaluate.checkpoints import best, promote, score_checkpoints

HEADERS = ["step", "exec acc (as generated)", "exec acc (schema-checked)", "best"]


def build_checkpoint_panel() -> dict:
    c = {}
    with gr.Accordion(
        "Checkpoints of the open run: which step was best?", open=False, elem_id="checkpoint-box"
    ):
        gr.Markdown(
            "Scores every checkpoint the run kept, and its final adapter, on the run's held-out rows with the "
            "run's own prompt. A run keeps its checkpoints when trained with *Keep every checkpoint* (Advanced)."
        )
        with gr.Row():
            c["ckpt_score"] = gr.Button("Score its checkpoints", size="sm", elem_id="ckpt-score")
            c["ckpt_promote"] = gr.Button(
                "Make the best step the adapter", size="sm", interactive=False, elem_id="ckpt-promote"
            )
        c["ckpt_message"] = gr.HTML(elem_id="ckpt-message")
        c["ckpt_table"] = gr.Dataframe(headers=HEADERS, interactive=False, elem_id="ckpt-table")
        c["ckpt_chart"] = gr.Plot(label="Execution accuracy by step", visible=False)
        c["ckpt_best"] = gr.State(0)
    return c


def score(run_id: str):
    """A generator: progress lines, then the table, the chart and the best step."""
    if not run_id:
        yield box("Open a run first.", "warn"), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        return
    lines: list[str] = []
    yield (
        box("Scoring the checkpoints ... (a minute or so each on a CPU)", "info"),
        [],
        gr.skip(),
        0,
        gr.skip(),
    )
    try:
        scores = score_checkpoints(run_id, progress=lines.append)
    except (*USER_ERRORS, ValueError) as e:
        yield box(str(e), "error"), gr.skip(), gr.skip(), 0, gr.Button(interactive=False)
        return
    top = best(scores)
    rows = [
        [
            s["step"],
            f"{s['exec_accuracy']:.0%}",
            f"{s['exec_accuracy_checked']:.0%}",
            "best" if s is top else "",
        ]
        for s in scores
    ]
    final = scores[-1]
    text = (
        f"The best step is {top['step']} ({top['exec_accuracy']:.0%}); the final adapter scores "
        f"{final['exec_accuracy']:.0%} on the same {len(scores) and 'held-out'} rows."
    )
    better = top["step"] != final["step"] and top["exec_accuracy"] > final["exec_accuracy"]
    yield (
        box(text, "ok" if better else "info"),
        rows,
        gr.Plot(checkpoint_figure(scores, top["step"]), visible=True),
        top["step"],
        gr.Button(interactive=better),
    )


def make_best_the_adapter(run_id: str, step: int):
    try:
        folder = promote(run_id, int(step))
    except (*USER_ERRORS, ValueError) as e:
        return box(str(e), "error")
    return box(
        f"The checkpoint at step {step} is now the run's adapter ({folder.name}); MLflow records it as the "
        "run's tag adapter_step. Evaluate the run again to see its score beside the base model.",
        "ok",
    )


def wire_checkpoints(r: dict) -> None:
    r["ckpt_score"].click(
        score,
        r["open_run"],
        [r["ckpt_message"], r["ckpt_table"], r["ckpt_chart"], r["ckpt_best"], r["ckpt_promote"]],
        concurrency_limit=1,
    )
    r["ckpt_promote"].click(make_best_the_adapter, [r["open_run"], r["ckpt_best"]], r["ckpt_message"])
