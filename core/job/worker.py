"""The worker process: `python -m core.job.worker JOB_FOLDER` (under torchrun for several GPUs), started by the engine
(core.train.engine) for each run, or `--standby`: import Unsloth, then wait for a job folder on stdin.

A standby worker reads lines `FOLDER` or `FOLDER<TAB>keep`. After a job it exits, unless the line said `keep`: then it
writes the job's `worker.done`, keeps the base model loaded (core.train.resident) and reads the next line, so the
next run of a queue with the same base starts without loading it again. End of input: it exits.

The job folder's job.json holds the config; the config says whether the job evaluates when it ends
(`evaluate_after`), so no caller has to remember to. Training (core.train.trainer.run_training) leaves the MLflow
run open when an evaluation follows; the evaluation (core.evaluate.evaluate_after_training) runs here, in the same
process and the same journal, and only then is the job's ending written. Progress, log lines and the stop request
travel through the folder (core.train.progress).
"""

import os
import sys
import time
from pathlib import Path

from core.config import TrainConfig
from core.evaluate import evaluate_after_training
from core.evaluate.checkpoints import best_step_after_training
from core.runstate import Status
from core.train.jobs import read_job, this_host, write_job
from core.train.progress import MirroredState, StopRequest
from core.train.supervisor import DONE_FILE, KEEP_WORD, WORKER_LOG
from core.train.trainer import end_run, run_training


def run_job(folder: Path, keep_model: bool = False) -> int:
    """The run described by the folder's job.json, reported through the folder; its evaluation when it asks."""
    job = read_job(folder)
    if not job or "config" not in job:
        print(f"no job.json with a config in {folder}", file=sys.stderr)
        return 2
    cfg = TrainConfig.from_dict(job["config"])
    state = MirroredState(
        status=Status.STARTING,
        job_id=job["job_id"],
        started_at=job.get("started", time.time()),
        total_steps=cfg.max_steps,
        output_dir=str(folder),
        model=cfg.model,
    )
    lead = int(os.environ.get("RANK", "0")) == 0
    if lead:
        state.mirror_to(folder)
        state.save()
        if (
            "worker_pid" not in job
        ):  # started by hand (torchrun across machines): say who trains, for restarts
            import psutil  # noqa: PLC0415 - only for workers started by hand

            write_job(
                folder,
                worker_pid=os.getpid(),
                worker_started=psutil.Process().create_time(),
                host=this_host(),
            )
    resume = (Path(job["resume"][0]), int(job["resume"][1])) if job.get("resume") else None
    run = run_training(
        cfg,
        state,
        StopRequest(folder),
        Path(folder),
        resume=resume,
        send=False,
        keep_open=lead,
        keep_model=keep_model,
    )
    if run is not None:  # trained, with held-out rows to score: evaluate before the run ends
        began = time.time()
        evaluate_after_training(cfg, folder, run, state)
        if cfg.score_checkpoints:
            best_step_after_training(cfg, folder, run, state)
        write_job(folder, evaluation_seconds=time.time() - began)
        end_run(run, state, Path(folder), Status.COMPLETED, state.message)
    return 0


def serve_jobs(lines) -> int:
    """A standby worker's loop: one job per line; after a job that says `keep`, wait for the next."""
    for line in lines:
        folder, _, word = line.strip().partition("\t")
        if not folder:
            return 0
        log = os.open(Path(folder) / WORKER_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        sys.stdout.flush()
        sys.stderr.flush()
        for stream in (1, 2):  # this job's warnings and tracebacks go to its own folder
            os.dup2(log, stream)
        os.close(log)
        code = run_job(Path(folder), keep_model=word == KEEP_WORD)
        if word != KEEP_WORD:
            return code
        (Path(folder) / DONE_FILE).write_text(str(code), encoding="utf-8")
        print("resident worker: job done, waiting for the next", flush=True)
    return 0  # the studio closed our input: no more jobs


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--standby"]:
        import unsloth  # noqa: F401, PLC0415 - the slow import (it patches transformers/trl/peft), before the job

        print("standby worker ready", flush=True)
        return serve_jobs(sys.stdin)
    if len(argv) != 1:
        print("usage: python -m core.job.worker JOB_FOLDER | --standby", file=sys.stderr)
        return 2
    return run_job(Path(argv[0]))


if __name__ == "__main__":
    sys.exit(main())
