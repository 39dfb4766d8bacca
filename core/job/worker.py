"""The worker process: `python -m core.job.worker JOB_FOLDER` (under torchrun for several GPUs), started by the engine
(core.train.engine) for each run, or `--standby`: import Unsloth, then wait for a job folder on stdin.

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
from core.runstate import Status
from core.train.jobs import read_job, this_host, write_job
from core.train.progress import MirroredState, StopRequest
from core.train.trainer import end_run, run_training


def run_job(folder: Path) -> int:
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
        cfg, state, StopRequest(folder), Path(folder), resume=resume, send=False, keep_open=lead
    )
    if run is not None:  # trained, with held-out rows to score: evaluate before the run ends
        began = time.time()
        evaluate_after_training(cfg, folder, run, state)
        write_job(folder, evaluation_seconds=time.time() - began)
        end_run(run, state, Path(folder), Status.COMPLETED, state.message)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--standby"]:
        import unsloth  # noqa: F401, PLC0415 - the slow import (it patches transformers/trl/peft), before the job

        print("standby worker ready", flush=True)
        line = sys.stdin.readline().strip()
        if not line:
            return 0  # the studio closed without a job for us
        argv = [line]
    if len(argv) != 1:
        print("usage: python -m core.job.worker JOB_FOLDER | --standby", file=sys.stderr)
        return 2
    return run_job(Path(argv[0]))


if __name__ == "__main__":
    sys.exit(main())
