"""A sweep's grid: the values a person types, every combination as a config, alpha following the rank, the cap."""

import pytest

from core.config import ConfigError, TrainConfig
from core.sweep import GRID_CAP, grid, parse_grid


def test_values_are_read_as_the_settings_types():
    space = parse_grid(["lr=5e-4, 1e-3,2e-3", "schema=none,full", "rank=8,16", "steps=20,40"])
    assert space == {
        "learning_rate": [5e-4, 1e-3, 2e-3],
        "schema_in_prompt": ["none", "full"],
        "rank": [8, 16],
        "max_steps": [20, 40],
    }


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("batch=1,2", "a sweep varies one of"),
        ("lr=1e-3", "two to four values"),
        ("lr=1,2,3,4,5", "two to four values"),
        ("schema=none,everything", "schema"),
        ("lr=fast,slow", "learning"),
    ],
)
def test_a_bad_spec_says_what_to_type(spec, says):
    with pytest.raises((ConfigError, ValueError)) as caught:
        grid(TrainConfig(), parse_grid([spec]))
    assert says in str(caught.value)


def test_every_combination_is_one_run_named_after_what_it_changes():
    base = TrainConfig(run_name="shop", rank=16, alpha=32)
    configs = grid(base, parse_grid(["lr=5e-4,1e-3,2e-3", "schema=none,full"]))
    assert len(configs) == 6
    assert {(c.learning_rate, c.schema_in_prompt) for c in configs} == {
        (lr, s) for lr in (5e-4, 1e-3, 2e-3) for s in ("none", "full")
    }
    assert configs[0].run_name == "shop lr=0.0005 schema=none"
    assert all(c.rank == 16 and c.alpha == 32 for c in configs)  # what is not swept stays the form's


def test_alpha_follows_the_rank_unless_the_form_set_it_otherwise():
    follows = grid(TrainConfig(rank=16, alpha=32), parse_grid(["rank=8,64"]))
    assert [(c.rank, c.alpha) for c in follows] == [(8, 16), (64, 128)]
    fixed = grid(TrainConfig(rank=16, alpha=16), parse_grid(["rank=8,64"]))
    assert [(c.rank, c.alpha) for c in fixed] == [(8, 16), (64, 16)]


def test_a_grid_over_the_cap_is_refused_before_any_run():
    space = parse_grid(["lr=1e-4,2e-4,5e-4,1e-3", "rank=8,16,32,64"])
    with pytest.raises(ConfigError) as caught:
        grid(TrainConfig(), space)
    assert f"at most {GRID_CAP}" in str(caught.value) and "16 runs" in str(caught.value)
