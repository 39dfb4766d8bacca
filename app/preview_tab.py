"""Tab 2: preview exactly what the model is trained on: one row's training text as the chosen model's tokenizer
renders it, the trained part (the SQL answer) highlighted, with its token count and its validation findings; and
the system prompt template the run will use.
"""

import html
import random
from dataclasses import replace

import gradio as gr

from app.common import USER_ERRORS, Dataset, box
from core.data import DEFAULT_SYSTEM_TEMPLATE, render_example
from core.defaults import default_template_for
from core.train import load_tokenizer


def build_preview_tab() -> dict:
    gr.Markdown(
        "This is the exact text the model sees for one row. The **highlighted** part (the SQL answer) is "
        "what it learns to write; the dimmed part is context only."
    )
    with gr.Row():
        row = gr.Number(value=1, label="Row", precision=0, minimum=1, scale=1, elem_id="preview-row")
        prev_btn = gr.Button("Previous", size="sm")
        next_btn = gr.Button("Next", size="sm")
        random_btn = gr.Button("Random", size="sm")
    template = gr.Textbox(
        DEFAULT_SYSTEM_TEMPLATE,
        label="System prompt template",
        lines=3,
        elem_id="system-template",
        info="Filled in for every row: {dialect} (the SQL dialect), {schema} (the tables the schema mode puts in) "
        "and {database} (the database's name). Edits update the preview and are used for training.",
    )
    info = gr.HTML(elem_id="preview-info")
    rendered = gr.HTML(elem_id="preview")
    return dict(
        row=row,
        prev_btn=prev_btn,
        next_btn=next_btn,
        random_btn=random_btn,
        template=template,
        info=info,
        rendered=rendered,
    )


# ---- handlers (plain functions: the tests call them directly) ----


def _template_for(template: str, fmt) -> str:
    """The template the run will use: a default one follows the schema mode (without the schema it names the
    database), one the person wrote is kept."""
    return default_template_for(fmt.mode, template)


def render_preview(
    ds: Dataset, row_number, template: str, model: str, max_len: int, schema_mode: str | None = None
):
    """(html of the training text with the trained part highlighted, info line, the template box: the template
    actually used)."""
    if not ds or not ds.loaded:
        return box("Load data in step 1 to see the preview.", "info"), "", gr.skip()
    index = min(max(int(row_number or 1), 1), len(ds.pairs)) - 1
    pair = ds.pairs[index]
    try:
        if schema_mode:
            ds.schema_mode = schema_mode
        fmt = ds.prompt_format
        messages = replace(fmt, template=_template_for(template, fmt)).messages(pair)
        ex = render_example(messages, load_tokenizer(model))
    except USER_ERRORS as e:
        return box(str(e), "error"), "", gr.skip()
    body = (
        f'<pre class="chatml"><span class="ctx">{html.escape(ex.prompt_text)}</span>'
        f'<mark class="trained" title="trained: the model learns to write this">{html.escape(ex.answer_text)}</mark></pre>'
    )
    n, trained = len(ex.token_ids), sum(ex.trained)
    info = f"Row {pair.row} of {len(ds.pairs)}: {n} tokens, {trained} of them trained (the answer)."
    kind = "info"
    if n > int(max_len):
        info += f" This row is longer than the max sequence length ({int(max_len)}): its end will be cut."
        kind = "warn"
    problems = [f.problem for f in (ds.report.findings if ds.report else []) if f.row == pair.row]
    if problems:
        info += " Validation: " + "; ".join(problems) + "."
        kind = "warn"
    used = _template_for(template, fmt)
    return body, box(info, kind), (used if used != template else gr.skip())


def step_row(ds: Dataset, row_number, delta: int):
    if not ds or not ds.loaded:
        return 1
    return (int(row_number or 1) - 1 + delta) % len(ds.pairs) + 1


def random_row(ds: Dataset):
    return random.randint(1, len(ds.pairs)) if ds and ds.loaded else 1
