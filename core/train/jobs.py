"""Job folders on disk: who owns a job, its checkpoints, one training per data folder, and what becomes of jobs
whose process died (killed, crashed, machine restarted).

    outputs/<job>/job.json          config, owner process, status, last step (rewritten atomically)
    outputs/<job>/checkpoints/      transformers checkpoints every N steps (the last 2 kept)
    outputs/<job>/tracking.jsonl    what was sent, or is still to be sent, to MLflow (core.tracking.journal)
    outputs/<job>/state.json, log.txt, stop.request, watched    the worker <-> studio channel (core.train.progress)
    outputs/<job>/worker.log        the worker process's own output (tracebacks, library warnings)
    outputs/<job>/watch.lock        held (flock) by the studio process watching the job
    outputs/<job>/job.json.lock     held (core.files.locked) while job.json is rewritten (the studio and the worker)
    data/training.lock              held (flock) by the worker process that trains; the OS drops it when that ends
"""

import fcntl
import json
import os
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from core.files import locked, write_atomic
from core.paths import data_dir, outputs_dir
from core.runstate import ACTIVE, RESUMABLE
from core.tracking import sync_journal
from core.tracking.journal import Journal

JOB_FILE = "job.json"
DEFAULT_MIN_FREE_MB = 500  # checkpoints + adapter of a 7B LoRA run fit; raise it with STUDIO_MIN_FREE_MB


class StorageError(OSError):
    """The output folder cannot take a run (not writable, or the disk is nearly full). Meant for the user."""


class LockHeld(RuntimeError):
    """Another process of this data folder is training."""


def this_host() -> str:
    return socket.gethostname()


def read_job(folder: Path) -> dict | None:
    try:
        return json.loads((Path(folder) / JOB_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_job(folder: Path, **fields) -> dict:
    """Merge fields into job.json (write to a temp file, then rename: a kill never leaves it half-written).

    Readable by its owner only, like ~/.pgpass: the run's settings hold the database URL the worker and a Resume
    connect with, password included (logs and MLflow get it masked)."""
    # The studio and the worker both write it: one at a time, else one's fields are lost.
    with locked(Path(folder) / JOB_FILE):
        job = {**(read_job(folder) or {}), **fields}
        write_atomic(Path(folder) / JOB_FILE, json.dumps(job, indent=1, default=str), mode=0o600)
    return job


def worker_alive(job: dict) -> bool:
    """Is the job's training process still running? (pid plus its start time: pids are reused). Jobs written before
    training moved into a worker process name the studio's own pid instead."""

    if job.get("host") not in (None, this_host()):
        return True  # another machine's job: not ours to judge
    pid, started = job.get("worker_pid", job.get("pid")), job.get("worker_started", job.get("pid_started"))
    try:
        return abs(psutil.Process(int(pid)).create_time() - float(started)) < 1.0
    except (psutil.Error, KeyError, TypeError, ValueError):
        return False


def watch_job(folder: Path):
    """Claim the watching of a job (syncing its journal to MLflow, mirroring its progress): an open, locked handle,
    or None when another studio process watches it already. The OS drops the claim when this process dies."""
    handle = open(Path(folder) / "watch.lock", "a+", encoding="utf-8")  # noqa: SIM115 - held while watching
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def record_end(folder: Path, status: str, message: str, step: int) -> int:
    """Write an ending the worker could not write itself (it died, or failed before it could report) into job.json
    and the job's MLflow journal. Returns the step of the checkpoint a Resume would start from (0: none)."""

    journal = Journal(folder)
    checkpoint = latest_checkpoint(folder)
    checkpoint_step = checkpoint[1] if checkpoint else 0
    if checkpoint_step:
        message += f" It can resume from its checkpoint at step {checkpoint_step}."
    if (
        any(op["op"] == "open" for op in journal.ops) and not journal.ended()
    ):  # else it died before opening its run
        journal.append("tags", values={"outcome": status, "studio.interrupted": message})
        journal.append("end", status={"died": "KILLED", "completed": "FINISHED"}.get(status, "FAILED"))
    write_job(
        folder,
        status=status,
        message=message,
        error=message if status == "failed" else "",
        step=step,
        checkpoint_step=checkpoint_step,
        finished=time.time(),
    )
    return checkpoint_step


SUPERVISED_CHECKPOINTS, REINFORCE_CHECKPOINTS = "checkpoints", "checkpoints-reinforce"


def latest_checkpoint(folder: Path) -> tuple[Path, int] | None:
    """The newest complete checkpoint (its trainer_state.json is written last) and its step in the run: one of the
    reinforcement phase (GRPO, numbered after the supervised steps) when there is one, else a supervised one."""
    for kind, offset in ((REINFORCE_CHECKPOINTS, None), (SUPERVISED_CHECKPOINTS, 0)):
        found = []
        for path in (Path(folder) / kind).glob("checkpoint-*"):
            suffix = path.name.rsplit("-", 1)[-1]
            if suffix.isdigit() and (path / "trainer_state.json").exists():
                found.append((int(suffix), path))
        if found:
            step, path = max(found)
            if offset is None:
                offset = int((read_job(folder) or {}).get("supervised_steps", 0))
            return path, step + offset
    return None


@dataclass
class Interrupted:
    """A job whose process stopped mid-run, as found at the next start."""

    job_id: str
    run_id: str
    step: int
    total_steps: int
    checkpoint_step: int  # 0: no checkpoint, cannot resume
    message: str


def recover_orphans(tracking_uri: str, wait_s: float = 10.0) -> tuple[list[Interrupted], list[dict]]:
    """At start-up: (jobs whose training process died mid-run, now marked died here and in MLflow; jobs whose
    training process still runs, for the caller to re-attach to). Jobs that ended while MLflow was away send what
    it still lacks."""

    found, live = [], []
    for folder in sorted(outputs_dir().iterdir()):
        job = read_job(folder) if folder.is_dir() else None
        if not job:
            continue
        if job.get("status") not in ACTIVE:
            sync_journal(folder, tracking_uri, wait_s=2.0)
            continue
        if worker_alive(job):
            live.append(job)
            continue

        step, total = Journal(folder).last_step(), int(job.get("total_steps") or 0)
        message = (
            f"The training process of job {job['job_id']} stopped (killed, crashed, or the machine restarted) "
            f"at step {step} of {total}, while no studio was watching it."
        )
        checkpoint_step = record_end(folder, "died", message, step)
        if not checkpoint_step:
            message += " It had no checkpoint yet: start it again."
        sync_journal(folder, tracking_uri, wait_s)
        job = read_job(folder) or job
        found.append(
            Interrupted(
                job["job_id"],
                Journal(folder).run_id,
                step,
                total,
                checkpoint_step,
                job.get("message", message),
            )
        )
    return found, live


def resumable_jobs() -> list[dict]:
    """Interrupted jobs that have a checkpoint, newest first (for the Resume button and the CLI)."""
    jobs = []
    for folder in outputs_dir().iterdir():
        job = read_job(folder) if folder.is_dir() else None
        if job and job.get("status") in RESUMABLE and latest_checkpoint(folder):
            jobs.append(job)
    return sorted(jobs, key=lambda j: j.get("started", 0), reverse=True)


def check_writable(folder: Path, min_free_mb: int | None = None) -> None:
    """Refuse, before anything starts, an output folder that cannot be written or a disk that is nearly full."""
    min_free_mb = (
        min_free_mb
        if min_free_mb is not None
        else int(os.environ.get("STUDIO_MIN_FREE_MB", DEFAULT_MIN_FREE_MB))
    )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as e:
        raise StorageError(
            f"Cannot write to the output folder {folder}: {e.strerror or type(e).__name__}. Point "
            "STUDIO_DATA_DIR to a writable folder, or fix its permissions."
        ) from None
    free_mb = shutil.disk_usage(folder).free / 1e6  # MB as every file size the studio says (10^6 bytes)
    if free_mb < min_free_mb:
        raise StorageError(
            f"Only {free_mb:,.0f} MB free on the disk of {folder}; a run needs at least "
            f"{min_free_mb:,} MB for checkpoints and the adapter. Free some space or point "
            "STUDIO_DATA_DIR to a bigger disk."
        )


def training_elsewhere() -> str:
    """ "" when no process of this data folder trains, else who holds the training lock (for a clear refusal)."""
    try:
        handle = open(data_dir() / "training.lock", "a+", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError:
        return ""
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            return handle.read().strip() or "another process"
        fcntl.flock(handle, fcntl.LOCK_UN)
        return ""


def lock_training(handle, holder: str, shared: bool = False) -> None:
    """Lock the data folder's training lock through `handle` (an open training.lock), or raise LockHeld naming who
    holds it. One training at a time per data folder, across processes (browser sessions share a studio process;
    the CLI does not). flock belongs to the open file: the worker that inherits the handle holds it, and the OS
    drops it when the last holder exits, even by SIGKILL, so it never goes stale. `shared`: runs pinned to GPUs of
    their own (a queue's runs side by side) share training.lock and each holds its GPUs' locks (gpu_lock_name)."""
    try:
        fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        raise LockHeld(
            f"Another studio process is training ({handle.read().strip() or 'runs side by side'}). One "
            "training runs at a time on each device of this machine: wait for it or stop it first."
        ) from None
    if shared:
        return
    handle.seek(0)
    handle.truncate()
    handle.write(holder)
    handle.flush()


def gpu_lock_name(device: int) -> str:
    return f"training-gpu{device}.lock"


def unlock_training(handle) -> None:
    fcntl.flock(handle, fcntl.LOCK_UN)
