"""A dataclass of documented settings: each field carries in its metadata its help, its group and, for a form, its
label, bounds (min, max, choices) and widget. The base class Settings does what needs only that metadata: the fields
of the form (group by group, GROUPS' order), the values out of bounds, a form's value as the field's type, a field's
help and default, and the JSON form.

core.config's TrainConfig is such a dataclass (its fields are declared with core.config._f); the Train tab's form and
the CLI's flags are built from its fields.
"""

import json
from dataclasses import MISSING, asdict, fields
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
        gives the field's default."""
        f = next(f for f in fields(cls) if f.name == name)
        if value is None:
            return field_default(cls, name)
        kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
        if kind in ("bool | None", "Optional[bool]") or "None" in str(f.type):
            return None if value == "auto" else value in (True, "on")
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "bool":
            return bool(value)
        if kind == "list":
            return list(value)
        return str(value).strip()

    @classmethod
    def help(cls, name: str) -> str:
        return next(f.metadata.get("help", "") for f in fields(cls) if f.name == name)

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict) -> Self:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
