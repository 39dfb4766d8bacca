"""The Train tab's form, built from TrainConfig's own fields: each field's component (label, help, bounds, widget),
the fields in rows, the run's config from the form's values and the form's values for a config (a reload while a job
trains, a cloned run), and the settings the model change and the recipe button put in the form.

app.train_tab lays the form out and starts the run; app.ui wires the form's fields to the plan line
(app.train_plan), the Data and Preview tabs and the Runs tab's clone button.
"""

import gradio as gr

from app.common import Dataset, box
from core.config import TrainConfig
from core.defaults import RECIPE
from core.train import MODEL_CHOICES, gpu_available, recommended_for

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
    values = recommended_for(model or MODEL_CHOICES[0], gpu_available())
    small, gpu = values["schema_in_prompt"] == "none", gpu_available()
    if small and gpu:
        note = (
            "Settings for a small model on this GPU: a higher learning rate, prompts that name the database "
            f"instead of pasting its schema, and {values['epochs']:g} epochs of your pairs (a GPU can afford them)."
        )
    elif small:
        note = (
            "Settings for a small model on this CPU: a higher learning rate, one micro-batch of 4 per step and "
            "prompts that name the database instead of pasting its schema."
        )
    else:
        note = "The recipe's settings (a 7B-class model)."
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


def _form_value_of(value):
    """An optional switch as the form shows it."""
    return "auto" if value is None else ("on" if value else "off")


def _form_value(cfg: TrainConfig, name: str):
    value = getattr(cfg, name)
    return _form_value_of(value) if "None" in str(TrainConfig.__dataclass_fields__[name].type) else value


def form_values(cfg: TrainConfig) -> tuple:
    """The form's fields (FIELDS, then the template) showing a config's settings."""
    return (*[_form_value(cfg, f) for f in FIELDS], cfg.system_template)
