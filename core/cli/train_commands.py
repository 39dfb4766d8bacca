"""The commands that train: `train` (start a job and follow its log until it ends; Ctrl-C stops after the current
step and saves the adapter, a second Ctrl-C stops at once) and `resume` (continue a killed job from its checkpoint).
`train --prepare` only writes the job folder, for workers started with torchrun on several machines.
"""

import time

from core.cli.flags import _config
from core.config import validate_config
from core.data import load_pairs
from core.redact import redact
from core.runstate import ENDED_BADLY, FINISHED
from core.tracking import ensure_server, run_url
from core.train import ConfigError, get_engine, resumable_jobs


def cmd_train(args) -> int:

    cfg = _config(args)
    problems = validate_config(cfg)
    if problems:
        raise ConfigError(problems)
    load_pairs(cfg.data_path)  # a broken file is refused before the tracking server is started
    if args.prepare:
        folder = get_engine().prepare(cfg)
        print(
            f"job folder: {folder}\nstart its workers on every machine with: torchrun --nnodes=N "
            f"--nproc_per_node=GPUS --node_rank=RANK --rdzv_backend=c10d --rdzv_endpoint=HOST:29500 "
            f"-m core.job.worker {folder}"
        )
        return 0
    uri = ensure_server()
    engine = _recovered_engine(uri)
    job = engine.start(cfg)
    print(
        f"job {job}: training {cfg.model} on {cfg.data_path} for "
        f"{f'{cfg.max_steps} steps' if cfg.max_steps else 'the suggested number of steps'} (MLflow: {redact(uri)})",
        flush=True,
    )
    return _follow(engine, uri)


def _recovered_engine(uri: str):
    """The engine, after marking the jobs of dead workers as died (the CLI is a 'next start' too)."""

    engine = get_engine()
    for interrupted in engine.recover(uri):
        print(f"note: {interrupted.message}", flush=True)
    return engine


def cmd_resume(args) -> int:
    """Continue a killed job from its last checkpoint, in the same MLflow run."""

    uri = ensure_server()
    engine = _recovered_engine(uri)
    job_id = args.job or next((j["job_id"] for j in resumable_jobs()), None)
    if not job_id:
        raise ConfigError({"job": "no interrupted job with a checkpoint to resume"})
    engine.resume(job_id)
    print(f"job {job_id}: resuming (MLflow: {redact(uri)})", flush=True)
    return _follow(engine, uri)


def _print_new(snap: dict, printed: int) -> None:
    new = snap["log_count"] - printed
    for line in snap["log_lines"][-new:] if new > 0 else []:
        print(line, flush=True)


def _follow(engine, uri: str) -> int:

    printed = 0
    try:
        while True:
            snap = engine.snapshot()
            _print_new(snap, printed)
            printed = snap["log_count"]
            if snap["status"] in FINISHED:
                break
            time.sleep(1)
    except KeyboardInterrupt:
        print(
            "stopping after the current step; the adapter will be saved (Ctrl-C again: stop now) ...",
            flush=True,
        )
        engine.stop()
        try:
            snap = engine.wait()
        except KeyboardInterrupt:
            print(
                "stopping now: ending the training process at once (its last checkpoint stays resumable)",
                flush=True,
            )
            engine.stop_now()
            snap = engine.wait()
    _print_new(snap, printed)
    tps = f"{snap['tokens_per_second']:.0f} tokens/s" if snap["tokens_per_second"] else ""
    print(
        f"\nstatus: {snap['status']}  steps: {snap['step']}/{snap['total_steps']}  "
        f"time: {snap['elapsed']:.0f} s ({snap['elapsed'] / max(snap['step'], 1):.1f} s/step)  {tps}"
    )
    if snap["mlflow_run_id"]:
        print(
            f"MLflow run: {snap['mlflow_run_id']}  "
            f"{redact(run_url(uri, snap['experiment_id'], snap['mlflow_run_id']))}"
        )
    if snap["mlflow_warning"]:
        print(snap["mlflow_warning"])
    if snap["adapter_path"]:
        print(f"adapter: {snap['adapter_path']}")
    if snap["status"] in ENDED_BADLY:
        print(f"error: {snap['error']}")
        return 1
    return 0
