"""The commands that sweep: `sweep` (a grid of the train flags with --grid NAME=V1,V2 ..., queued and run one after
another; or --trials N drawn by Optuna) and `sweep-worker` (join a search another machine started, through a shared
Optuna storage). Both end by printing the leaderboard; the sweep's parent MLflow run keeps it.
"""

import time

from core.cli.flags import _config
from core.config import validate_config
from core.data import load_pairs
from core.redact import redact
from core.sweep import (
    create_study,
    finish_sweep,
    grid,
    join_study,
    leaderboard_text,
    optimize,
    parse_grid,
    start_sweep,
)
from core.sweep.leaderboard import leaderboard
from core.tracking import ensure_server
from core.train import ConfigError, get_engine
from core.train.queue import Queue, QueueRunner, check_parallel


def cmd_sweep(args) -> int:
    base = _config(args)
    if problems := validate_config(base):
        raise ConfigError(problems)
    space = parse_grid(args.grid)
    if not space:
        raise ConfigError({"grid": "give at least one --grid NAME=V1,V2 (lr, rank, steps or schema)"})
    load_pairs(base.data_path)  # a broken file is refused before anything starts
    check_parallel(args.parallel)  # side by side needs as many GPUs: said before anything starts
    configs = grid(base, space) if not args.trials else []  # a grid over the cap is refused before any run
    uri = ensure_server()
    engine = get_engine()
    engine.recover(uri)
    if args.trials:
        study, parent = create_study(base, space, args.trials, args.storage, args.study)
        print(
            f"study {study.study_name}: {args.trials} trials over {', '.join(space)} (MLflow parent run {parent}).\n"
            f"Other machines join it with: python -m core sweep-worker --study {study.study_name} "
            f"--storage {redact(args.storage or 'sqlite:///<data folder>/sweeps.db')}",
            flush=True,
        )
        optimize(study, engine)
    else:
        parent = start_sweep(base, configs, space)
        print(
            f"grid of {len(configs)} runs queued (MLflow parent run {parent}); running them ...", flush=True
        )
        runner = QueueRunner(engine)
        runner.start(parallel=args.parallel)
        _follow_queue(runner, parent)
        finish_sweep(parent)
    print(leaderboard_text(leaderboard(parent)), flush=True)
    return 0


def cmd_sweep_worker(args) -> int:
    engine = get_engine()
    engine.recover(ensure_server())
    study = join_study(args.study, args.storage, engine)
    print(leaderboard_text(leaderboard(study.user_attrs["parent_run_id"])), flush=True)
    return 0


def _follow_queue(runner: QueueRunner, parent: str) -> None:
    """Print each run of the sweep as it ends; Ctrl-C stops after the current run."""
    told: set[str] = set()
    try:
        while runner.alive:
            for item in Queue.load().items:
                if item.sweep == parent and item.finished and item.id not in told:
                    told.add(item.id)
                    print(f"{item.cfg.run_name}: {item.status} {item.message}".rstrip(), flush=True)
            time.sleep(2)
    except KeyboardInterrupt:
        print("stopping after the current run (Ctrl-C again: stop it now) ...", flush=True)
        runner.stop_after_current()
        try:
            runner.wait()
        except KeyboardInterrupt:
            runner.stop_now()
            runner.wait()
