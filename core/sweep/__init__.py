"""Sweeps: several runs of one dataset that differ in a few settings, scored on the same held-out rows, and the best
of them.

    configs = grid(base, parse_grid(["lr=5e-4,1e-3", "schema=none,full"]))   # every combination (capped)
    plan = sweep_plan(base, configs, ...)                                    # how many runs, how long in all
    sweep = start_sweep(base, configs)         # a parent MLflow run; the runs queued as its children
    run_study(base, space, trials=8)           # or Optuna's TPE search, trials pruned on eval loss
    rows = leaderboard(parent_run_id)          # sorted by execution accuracy; rows[0] is the best

It may use core.train (the engine, the queue), core.tracking and everything below.
"""

from core.sweep.grid import GRID_CAP, SWEPT, grid, parse_grid
from core.sweep.leaderboard import leaderboard, leaderboard_text
from core.sweep.study import create_study, join_study, optimize, run_study
from core.sweep.sweep import finish_sweep, start_sweep

__all__ = [
    "GRID_CAP",
    "SWEPT",
    "create_study",
    "finish_sweep",
    "grid",
    "join_study",
    "leaderboard",
    "leaderboard_text",
    "optimize",
    "parse_grid",
    "run_study",
    "start_sweep",
]
