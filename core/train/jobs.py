"""Job folders on disk: who owns a job, its checkpoints, one training per data folder, and what becomes of jobs
whose process died (killed, crashed, machine restarted).

    outputs/<job>/job.json          config, owner process, status, last step (rewritten atomically)
    outputs/<job>/checkpoints/      transformers checkpoints every N steps (the last 2 kept)
    outputs/<job>/tracking.jsonl    what was sent, or is still to be sent, to MLflow (core.tracking.journal)
    data/training.lock              held (flock) by the process that trains; the OS drops it when that dies
"""

import fcntl
import json
import os
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from core.paths import data_dir, outputs_dir

JOB_FILE = "job.json"
LIVE = ("starting", "running", "stopping", "evaluating")
DEFAULT_MIN_FREE_MB = 500  # checkpoints + adapter of a 7B LoRA run fit; raise it with STUDIO_MIN_FREE_MB


class StorageError(OSError):
    """The output folder cannot take a run (not writable, or the disk is nearly full). Meant for the user."""


class LockHeld(RuntimeError):
    """Another process of this data folder is training."""


def this_process() -> dict:
    import psutil

    return {"pid": os.getpid(), "pid_started": psutil.Process().create_time(), "host": socket.gethostname()}


def read_job(folder: Path) -> dict | None:
    try:
        return json.loads((Path(folder) / JOB_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_job(folder: Path, **fields) -> dict:
    """Merge fields into job.json (write to a temp file, then rename: a kill never leaves it half-written)."""
    job = {**(read_job(folder) or {}), **fields}
    tmp = Path(folder) / (JOB_FILE + ".tmp")
    tmp.write_text(json.dumps(job, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, Path(folder) / JOB_FILE)
    return job


def owner_alive(job: dict) -> bool:
    """Is the process that ran this job still running? (pid plus its start time: pids are reused)."""
    import psutil

    if job.get("host") != socket.gethostname():
        return True  # another machine's job: not ours to judge
    try:
        return abs(psutil.Process(int(job["pid"])).create_time() - float(job["pid_started"])) < 1.0
    except (psutil.Error, KeyError, TypeError, ValueError):
        return False


def latest_checkpoint(folder: Path) -> tuple[Path, int] | None:
    """The newest complete checkpoint (its trainer_state.json is written last) and its step."""
    found = []
    for path in (Path(folder) / "checkpoints").glob("checkpoint-*"):
        suffix = path.name.rsplit("-", 1)[-1]
        if suffix.isdigit() and (path / "trainer_state.json").exists():
            found.append((int(suffix), path))
    if not found:
        return None
    step, path = max(found)
    return path, step


@dataclass
class Interrupted:
    """A job whose process stopped mid-run, as found at the next start."""

    job_id: str
    run_id: str
    step: int
    total_steps: int
    checkpoint_step: int  # 0: no checkpoint, cannot resume
    message: str


def recover_orphans(tracking_uri: str, wait_s: float = 10.0) -> list[Interrupted]:
    """Mark jobs whose process died mid-run as killed, here and in MLflow (status KILLED, tag saying why).
    Jobs of live processes (another studio or CLI still training) are left alone."""
    from core.tracking import sync_journal, syncer_for

    found = []
    for folder in sorted(outputs_dir().iterdir()):
        job = read_job(folder) if folder.is_dir() else None
        if not job or owner_alive(job):
            continue
        if job.get("status") not in LIVE:  # ended while MLflow was away: send what it still lacks
            sync_journal(folder, tracking_uri, wait_s=2.0)
            continue
        journal = syncer_for(folder, tracking_uri).journal
        step, total = journal.last_step(), int(job.get("total_steps") or 0)
        checkpoint = latest_checkpoint(folder)
        checkpoint_step = checkpoint[1] if checkpoint else 0
        message = (f"The studio process stopped (killed or crashed) while job {job['job_id']} was training, at step "
                   f"{step} of {total}. " + (f"It can resume from its checkpoint at step {checkpoint_step}."
                                              if checkpoint else "It had no checkpoint yet: start it again."))
        if any(op["op"] == "open" for op in journal.ops):  # else it died before its MLflow run was opened
            journal.append("tags", values={"outcome": "killed", "studio.interrupted": message})
            journal.append("end", status="KILLED")
        write_job(folder, status="killed", message=message, step=step, checkpoint_step=checkpoint_step,
                  finished=time.time())
        sync_journal(folder, tracking_uri, wait_s)
        found.append(Interrupted(job["job_id"], journal.run_id, step, total, checkpoint_step, message))
    return found


def resumable_jobs() -> list[dict]:
    """Killed jobs that have a checkpoint, newest first (for the Resume button and the CLI)."""
    jobs = []
    for folder in outputs_dir().iterdir():
        job = read_job(folder) if folder.is_dir() else None
        if job and job.get("status") == "killed" and latest_checkpoint(folder):
            jobs.append(job)
    return sorted(jobs, key=lambda j: j.get("started", 0), reverse=True)


def check_writable(folder: Path, min_free_mb: int | None = None) -> None:
    """Refuse, before anything starts, an output folder that cannot be written or a disk that is nearly full."""
    min_free_mb = min_free_mb if min_free_mb is not None else int(os.environ.get("STUDIO_MIN_FREE_MB",
                                                                                   DEFAULT_MIN_FREE_MB))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as e:
        raise StorageError(f"Cannot write to the output folder {folder}: {e.strerror or type(e).__name__}. Point "
                           "STUDIO_DATA_DIR to a writable folder, or fix its permissions.") from None
    free_mb = shutil.disk_usage(folder).free / 2**20
    if free_mb < min_free_mb:
        raise StorageError(f"Only {free_mb:,.0f} MB free on the disk of {folder}; a run needs at least "
                           f"{min_free_mb:,} MB for checkpoints and the adapter. Free some space or point "
                           "STUDIO_DATA_DIR to a bigger disk.")


def training_elsewhere() -> str:
    """"" when no process of this data folder trains, else who holds the training lock (for a clear refusal)."""
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


class TrainingLock:
    """One training at a time per data folder, across processes (browser sessions share a process; the CLI
    does not). flock: released by the OS when the holder exits, even by SIGKILL, so it never goes stale."""

    def __init__(self):
        self._file = None

    def acquire(self, job_id: str) -> None:
        path = data_dir() / "training.lock"
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the whole run
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise LockHeld(f"Another studio process is training ({holder}). One training runs at a time on this "
                           "machine: wait for it or stop it first.") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"job {job_id}, pid {os.getpid()}")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
