"""A grid of settings: two to four values for any of the learning rate, the LoRA rank, the steps and the schema in
the prompt; every combination is one run (capped at GRID_CAP).

    parse_grid(["lr=5e-4,1e-3,2e-3", "schema=none,full"])   # {"learning_rate": [...], "schema_in_prompt": [...]}
    grid(base, space)                                       # the configs, each named after what it changes

The LoRA alpha follows the rank (alpha = 2 x rank) unless the base config set it to something else than 2 x its rank.
"""

import itertools
from dataclasses import replace

from core.config import ConfigError, TrainConfig

# What a sweep may vary: the short name a person types -> the config field.
SWEPT = {
    "lr": "learning_rate",
    "learning_rate": "learning_rate",
    "rank": "rank",
    "r": "rank",
    "steps": "max_steps",
    "max_steps": "max_steps",
    "schema": "schema_in_prompt",
    "schema_in_prompt": "schema_in_prompt",
}
GRID_CAP = 12  # runs in one grid: more is a search (trials), not a grid
MAX_VALUES = 4


def parse_grid(specs: list[str]) -> dict[str, list]:
    """'name=v1,v2,...' specs as {config field: [values]}, each value of the field's type. Raises ConfigError."""
    space: dict[str, list] = {}
    for spec in specs:
        name, _, values = spec.partition("=")
        field_name = SWEPT.get(name.strip().lower())
        if field_name is None:
            raise ConfigError(
                {
                    name or spec: f"a sweep varies one of {', '.join(sorted(set(SWEPT.values())))} "
                    "(lr, rank, steps, schema)"
                }
            )
        items = [v.strip() for v in values.split(",") if v.strip()]
        if not 2 <= len(items) <= MAX_VALUES:
            raise ConfigError({field_name: f"give two to four values, e.g. {name}=a,b (got {len(items)})"})
        try:
            space[field_name] = [TrainConfig.coerce(field_name, v) for v in items]
        except (TypeError, ValueError) as e:
            raise ConfigError(
                {field_name: f"{values.strip()!r} are not all {field_name.replace('_', ' ')} values ({e})"}
            ) from None
    return space


def grid(base: TrainConfig, space: dict[str, list]) -> list[TrainConfig]:
    """Every combination of the space's values on the base config (alpha = 2 x rank when the base keeps that
    ratio). Raises ConfigError for a value out of bounds or a grid over GRID_CAP runs."""
    names = list(space)
    combos = list(itertools.product(*(space[n] for n in names)))
    if len(combos) > GRID_CAP:
        raise ConfigError(
            {
                "grid": f"{len(combos)} runs: a grid holds at most {GRID_CAP}; drop a value, or search "
                "with trials instead"
            }
        )
    follows = base.alpha == 2 * base.rank
    configs = []
    for combo in combos:
        changes = dict(zip(names, combo, strict=True))
        if "rank" in changes and follows:
            changes["alpha"] = 2 * changes["rank"]
        label = " ".join(f"{_short(n)}={v}" for n, v in zip(names, combo, strict=True))
        configs.append(replace(base, **changes, run_name=f"{base.run_name or 'sweep'} {label}".strip()))
    return configs


def _short(field_name: str) -> str:
    return {"learning_rate": "lr", "max_steps": "steps", "schema_in_prompt": "schema"}.get(
        field_name, field_name
    )
