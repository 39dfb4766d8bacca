"""A dataclass of documented settings: each field carries in its metadata its help, its group and, for a form, its
label, bounds (min, max, choices) and widget. The base class Settings does what needs only that metadata: the fields
of the form (group by group, GROUPS' order), the values out of bounds, a form's value as the field's type, a field's
help and default, and the JSON form.

core.config's TrainConfig is such a dataclass (its fields are declared with `setting`); the Train tab's form and
the CLI's flags are built from its fields.
"""

import functools
import json
import re
import typing
from dataclasses import MISSING, asdict, field, fields
from typing import Self

# The documented groups of the settings, in the order the Train tab shows them.
GROUPS = {
    "model": "Which model",
    "lora": "LoRA",
    "schedule": "Schedule",
    "reinforce": "Then reinforce with the database (GRPO)",
    "data": "What to train on",
    "evaluation": "Evaluation",
    "tracking": "Where it is recorded",
}


@functools.cache
def _adapter(kind):
    """pydantic's converter of one type, made once. pydantic loads in ~75 ms: only forms, flags and sweeps convert
    values, so a worker or a CLI call that converts none does not pay it."""
    from pydantic import ConfigDict, TypeAdapter  # noqa: PLC0415 - see above

    return TypeAdapter(kind, config=ConfigDict(str_strip_whitespace=True, coerce_numbers_to_str=True))


def setting(default, help: str, group: str, label: str = "", **kw):
    """A documented setting: its help (the UI's hint and the CLI's help), its group, and, for the Train tab's form,
    its label (no label: not in the form), its bounds (min, max, choices) and how it is shown (`advanced`, `widget`)."""
    meta = {"help": help, "group": group, "label": label, **kw}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def field_default(cls, name: str):
    """The default of a settings class's field (a fresh list or dict for those made by a factory)."""
    f = next(f for f in fields(cls) if f.name == name)
    return f.default_factory() if f.default is MISSING else f.default


class Settings:
    """The behaviour of a dataclass of documented settings (the subclass is the dataclass: this class has no
    fields)."""

    @classmethod
    def form_fields(cls) -> list:
        """The fields the Train tab's form shows, group by group (GROUPS' order), in this class's order within one
        (the order of the Start button's inputs)."""
        order = list(GROUPS)
        return sorted(
            (f for f in fields(cls) if f.metadata.get("label")),
            key=lambda f: order.index(f.metadata["group"]),
        )

    def bound_problems(self) -> dict[str, str]:
        """Values out of their field's bounds or choices, per field name, in plain words."""
        problems: dict[str, str] = {}
        for f in fields(self):
            value, lo, hi, choices = (
                getattr(self, f.name),
                f.metadata.get("min"),
                f.metadata.get("max"),
                f.metadata.get("choices"),
            )
            if lo is not None or hi is not None:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    problems[f.name] = f"must be a number, got {value!r}"
                elif (lo is not None and value < lo) or (hi is not None and value > hi):
                    problems[f.name] = f"must be between {lo:g} and {hi:g}, got {value:g}"
            elif choices and isinstance(value, list):
                if not value:
                    problems[f.name] = "pick at least one (all of them is the default)"
                elif extra := sorted(set(value) - set(choices)):
                    problems[f.name] = (
                        f"unknown choice(s) {', '.join(map(str, extra))}; use {', '.join(choices)}"
                    )
            elif choices and value not in choices:
                problems[f.name] = f"unknown choice {value!r}; pick one of {', '.join(choices)}"
        return problems

    @classmethod
    def coerce(cls, name: str, value):
        """A form's value as the field's type (numbers from text boxes, "auto/on/off" for optional booleans); None
        gives the field's default. pydantic's lax conversion of the field's declared type: "12" -> 12, "2e-3" ->
        0.002, "off" -> False, " x " -> "x"; ValueError, in one line, for a value that is none of it."""
        if value is None:
            return field_default(cls, name)
        kind = typing.get_type_hints(cls)[name]
        if value == "auto" and set(typing.get_args(kind)) == {bool, type(None)}:
            return None  # an optional switch left to the studio
        try:
            return _adapter(kind).validate_python(value)
        except ValueError as e:  # pydantic's ValidationError: its first finding, without the links
            message = e.errors()[0]["msg"] if hasattr(e, "errors") else str(e)
            raise ValueError(f"{message} (got {value!r})") from None

    @classmethod
    def help(cls, name: str) -> str:
        return next(f.metadata.get("help", "") for f in fields(cls) if f.name == name)

    @classmethod
    def describe(cls, values: dict) -> str:
        """Settings as a person reads them: each by its form label and a plain value ("Learning rate 0.002, LoRA
        rank 32"). Settings the form does not show (the data file's path, the run's or a sweep's ids) are left out:
        they tell runs apart only by names the person never chose."""
        meta = {f.name: f.metadata for f in fields(cls)}
        shown = []
        for name, value in values.items():
            label = meta.get(name, {}).get("label", "").removesuffix(" (optional)")
            if not label:
                continue
            note = ""
            if (
                label.endswith(")") and " (" in label
            ):  # "Steps (0 = suggested)": a trailing note, not "(GRPO): steps"
                label, note = label[: label.rindex(" (")], label[label.rindex(" (") + 2 : -1]
            zero = re.search(r"\b0 = ([^:.;,()]+)", note) or re.search(
                r"\b0 = ([^:.;,()]+)", meta[name].get("help", "")
            )
            if value is None:
                text = "auto"
            elif isinstance(value, bool):
                text = "on" if value else "off"
            elif value == 0 and zero:  # say what 0 means: "suggested", "auto", "this machine's default"
                text = f"0 ({zero.group(1).strip()})"
            else:
                text = f"{value:g}" if isinstance(value, float) else str(value)
            shown.append(f"{label} {text}")
        return ", ".join(shown)

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict) -> Self:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
