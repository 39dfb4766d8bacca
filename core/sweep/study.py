"""A budgeted search with Optuna: N trials drawn by its TPE sampler over the sweep's values, each an ordinary run
(evaluated when it ends), pruned on eval loss at the checkpoints by Optuna's median pruner. The study lives in an
Optuna storage: SQLite in the data folder by default, or a database server (`postgresql://...`), which lets other
machines join the same study with `python -m core sweep-worker` (Optuna hands each trial to one worker).

    study = run_study(base, {"learning_rate": [5e-4, 1e-3, 2e-3]}, trials=6, engine=get_engine())
    join_study("sweep-1205-101500", "postgresql://...", engine=get_engine())   # on another machine

Each trial is a child MLflow run of the study's parent run (its name and storage are tags on the parent).
"""

import time
from dataclasses import replace
from pathlib import Path

from core.config import TrainConfig
from core.paths import data_dir
from core.runstate import FINISHED, Status
from core.sweep.sweep import finish_sweep, open_parent
from core.tracking.journal import Journal

POLL_S = 1.0


def default_storage() -> str:
    return f"sqlite:///{data_dir() / 'sweeps.db'}"


def storage_url(storage: str | None) -> str:
    """The storage as SQLAlchemy takes it: a PostgreSQL URL without a driver (postgresql:// or postgres://, as the
    database box takes them) uses psycopg 3, the driver installed. Parsed by SQLAlchemy's own make_url, so a
    password's escapes and the query string pass as they are."""
    from sqlalchemy.engine import make_url  # noqa: PLC0415 - loaded with optuna, for a search only

    storage = storage or default_storage()
    url = make_url(storage)
    if url.drivername not in ("postgresql", "postgres"):
        return storage
    return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def _optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def create_study(
    base: TrainConfig,
    space: dict[str, list],
    trials: int,
    storage: str | None = None,
    study_name: str | None = None,
    tracking_uri: str | None = None,
):
    """A new study (or the one of that name, continued) with its parent MLflow run; returns (study, parent id)."""
    optuna = _optuna()
    study = optuna.create_study(
        study_name=study_name or f"sweep-{time.strftime('%m%d-%H%M%S')}",
        storage=storage_url(storage),
        direction="maximize",
        load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=base.seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0),
    )
    if "base" not in study.user_attrs:
        study.set_user_attr("base", base.to_dict())
        study.set_user_attr("space", {k: list(v) for k, v in space.items()})
        study.set_user_attr("trials", trials)
        study.set_user_attr("parent_run_id", open_parent(base, "optuna", trials, space, tracking_uri))
    return study, study.user_attrs["parent_run_id"]


def run_study(
    base: TrainConfig,
    space: dict[str, list],
    trials: int,
    engine,
    storage: str | None = None,
    study_name: str | None = None,
    progress=print,
    tracking_uri: str | None = None,
):
    """Create (or continue) a study and run trials on this machine until the study has `trials` of them."""
    study, _ = create_study(base, space, trials, storage, study_name, tracking_uri)
    progress(f"study {study.study_name}: {trials} trials over {', '.join(space)}")
    return optimize(study, engine, progress, tracking_uri)


def join_study(study_name: str, storage: str, engine, progress=print, tracking_uri: str | None = None):
    """Run the trials a study still lacks on this machine (another machine's `run_study` created it)."""
    study = _optuna().load_study(study_name=study_name, storage=storage_url(storage))
    if "base" not in study.user_attrs:
        raise ValueError(
            f"The study {study_name} was not made by the studio (no base config): start it with "
            "`python -m core sweep ... --trials N --storage URL` first."
        )
    return optimize(study, engine, progress, tracking_uri)


def optimize(study, engine, progress=print, tracking_uri: str | None = None):
    """Run trials until the study has its budget of finished ones (shared by every worker of the study)."""
    optuna = _optuna()
    attrs = study.user_attrs
    base, space, total = TrainConfig.from_dict(attrs["base"]), attrs["space"], int(attrs["trials"])
    state = optuna.trial.TrialState
    done = (state.COMPLETE, state.PRUNED, state.FAIL)
    # A trial another worker is running counts against the budget: N trials in all, never N per worker.
    taken = (*done, state.RUNNING)
    remaining = total - len(study.get_trials(deepcopy=False, states=taken))
    if remaining > 0:
        study.optimize(
            lambda trial: _trial(trial, base, space, attrs["parent_run_id"], engine, progress),
            n_trials=remaining,
            callbacks=[optuna.study.MaxTrialsCallback(total, states=taken)],
            catch=(RuntimeError,),
        )
    if len(study.get_trials(states=done)) >= total:  # the last worker to finish writes the leaderboard
        finish_sweep(attrs["parent_run_id"], tracking_uri)
    return study


def _trial(trial, base: TrainConfig, space: dict, parent: str, engine, progress) -> float:
    optuna = _optuna()
    changes = {name: trial.suggest_categorical(name, values) for name, values in space.items()}
    if "rank" in changes and base.alpha == 2 * base.rank:
        changes["alpha"] = 2 * changes["rank"]
    label = " ".join(f"{k}={v}" for k, v in changes.items())
    cfg = replace(
        base, **changes, run_name=f"trial {trial.number} {label}", parent_run_id=parent, evaluate_after=True
    )
    job_id = engine.start(cfg)
    progress(f"trial {trial.number}: {label} (job {job_id})")
    journal, reported, pruned = Journal(Path(engine.snapshot()["output_dir"])), set(), False
    while (snap := engine.snapshot())["status"] not in FINISHED:
        journal.refresh()
        for op in journal.ops:  # eval loss at the checkpoints: lower is better, the study maximizes
            if op.get("op") == "metric" and op.get("key") == "eval_loss" and op["step"] not in reported:
                reported.add(op["step"])
                trial.report(-op["value"], op["step"])
                if not pruned and trial.should_prune():
                    pruned = True
                    progress(
                        f"trial {trial.number}: pruned at step {op['step']} (eval loss {op['value']:.4f})"
                    )
                    engine.stop()
        time.sleep(POLL_S)
    trial.set_user_attr("job_id", job_id)
    trial.set_user_attr("mlflow_run_id", snap["mlflow_run_id"])
    if pruned:
        raise optuna.TrialPruned()
    accuracy = (snap.get("evaluation") or {}).get("adapter", {}).get("exec_accuracy")
    if snap["status"] != Status.COMPLETED or accuracy is None:
        raise RuntimeError(f"trial {trial.number} {snap['status']}: {snap['error'] or 'no evaluation'}")
    progress(f"trial {trial.number}: execution accuracy {accuracy:.0%}")
    return accuracy
