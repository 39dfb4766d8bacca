"""Training worker processes: start one, hand it its job, stop it (how it ended is told by core.train.endings).

    process = launch(folder, gpus=1, lock=handle)   # `python -m core.job.worker FOLDER` (torchrun for gpus > 1)
    process.exit_code(timeout)                     # None while it runs
    process.terminate()                            # "Stop now": SIGTERM to its process group, SIGKILL after GRACE_S

Workers are spawned (never forked from the studio, whose threads and sockets must not be copied) in their own
process group, so a Ctrl-C in the studio's terminal does not reach them and "Stop now" reaches every rank. The
training lock's file descriptor is passed to the worker: the lock then lives exactly as long as the worker.

A warm standby (`prewarm()`) is a worker process that has already imported Unsloth (~15 s of CPU; several seconds
on a GPU host) and waits for its job folder on stdin, so Start reaches the first step as soon as an in-process
trainer would. It is used only when the environment has not changed since it was spawned.

A resident worker (`launch(..., keep=True)`, for a queue item followed by another of the same base) is a standby that
stays after its job: it writes the job's `worker.done`, keeps the base model loaded, and waits in the standby's place
for the next job; the studio keeps its copy of the training lock meanwhile, so no other process trains in between.
`release_resident()` (the queue's end) ends it and its memory goes back to the system.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from core.paths import PROJECT_ROOT, data_dir
from core.train.jobs import LockHeld, gpu_lock_name, lock_training, unlock_training
from core.train.threads import WAIT_POLICY, policy_on

GRACE_S = 10.0  # Stop now: SIGTERM first, SIGKILL after this many seconds
WORKER_LOG = "worker.log"  # the worker's own stdout and stderr (tracebacks, library warnings)
DONE_FILE = "worker.done"  # a resident worker's word that the job ended (its exit code); the process stays
KEEP_WORD = "keep"  # after a job folder on a standby's input: stay for the next job


# The worker process's module: above core.evaluate in the layers (it evaluates after training), so it is started
# by name, never imported from here.
WORKER_MODULE = "core.job.worker"


def _env() -> dict:
    env = dict(os.environ)
    env.update(PYTHONUNBUFFERED="1", TOKENIZERS_PARALLELISM="false")
    for key, value in WAIT_POLICY.items() if policy_on() else ():  # before torch loads: no spinning threads
        env.setdefault(key, value)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def worker_command(folder: Path | None, gpus: int) -> list[str]:
    """The command of one run's worker: python itself for one device, torchrun (DDP) for several."""
    target = [str(folder)] if folder else ["--standby"]
    if gpus > 1:
        return [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={gpus}",
            "-m",
            WORKER_MODULE,
            *target,
        ]
    return [sys.executable, "-m", WORKER_MODULE, *target]


class WorkerProcess:
    """A worker this process started (exit code known), or one found running after a restart (pid only)."""

    def __init__(
        self,
        pid: int,
        popen: subprocess.Popen | None = None,
        started: float | None = None,
        resident: "Standby | None" = None,
        done: Path | None = None,
    ):
        self.pid, self.popen = pid, popen
        self.started = started if started is not None else _create_time(pid)
        # a resident worker's job ends with its `done` file, not with the process
        self.resident, self.done = resident, done

    def _done_code(self) -> int | None:
        try:
            return int(self.done.read_text(encoding="utf-8") or 0) if self.done else None
        except (OSError, ValueError):
            return None

    def identity(self) -> dict:
        return {"worker_pid": self.pid, "worker_started": self.started}

    def alive(self) -> bool:
        if self._done_code() is not None:
            return False
        if self.popen is not None:
            return self.popen.poll() is None
        now = _create_time(self.pid)  # pid and start time: pids are reused
        return self.started is not None and now is not None and abs(now - self.started) < 1.0

    def exit_code(self, timeout: float = 0.0) -> int | None:
        """The exit code once it ended (negative: the signal), None while it runs. For a worker found after a
        restart the code is unknown: it ends as 0 with nothing more to say."""
        if self.popen is not None:
            deadline = time.time() + timeout
            while True:
                if (code := self._done_code()) is not None:
                    return code
                try:
                    return self.popen.wait(min(timeout, 0.25)) if timeout else self.popen.poll()
                except subprocess.TimeoutExpired:
                    if time.time() >= deadline:
                        return None
        deadline = time.time() + timeout
        while self.alive():
            if time.time() >= deadline:
                return None
            time.sleep(min(0.5, timeout))
        return 0

    def terminate(self, grace_s: float = GRACE_S) -> None:
        """End it at once: SIGTERM to the whole process group (every DDP rank), SIGKILL if it lingers."""
        if self._done_code() is not None:
            return  # a resident worker whose job has ended: nothing of the job is left to end
        _signal_group(self.pid, signal.SIGTERM)

        def finish():
            deadline = time.time() + grace_s
            while time.time() < deadline and self.alive():
                time.sleep(0.2)
            if self.alive():
                _signal_group(self.pid, signal.SIGKILL)

        threading.Thread(target=finish, name=f"kill-{self.pid}", daemon=True).start()


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # the worker leads its own process group (start_new_session)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _create_time(pid: int) -> float | None:

    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def _spawn(command: list[str], locks, log_path: Path, stdin=None, devices=None) -> subprocess.Popen:
    log = open(log_path, "ab")  # noqa: SIM115 - the child writes it; we close our copy right after the spawn
    env = _env()
    if devices is not None:  # a run side by side: its GPUs, counted among those visible to the studio
        seen = [d for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
        env["CUDA_VISIBLE_DEVICES"] = ",".join(seen[k] if k < len(seen) else str(k) for k in devices)
    try:
        return subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdin=stdin,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=tuple(lock.fileno() for lock in locks),
        )
    finally:
        log.close()


# Variables no worker reads that change while the studio runs: MLflow's (the studio sends the journal;
# _MLFLOW_TELEMETRY_SESSION_ID appears later) and PYTEST_CURRENT_TEST, which pytest rewrites for every test. Counting
# the latter threw each standby away at the next test's run: every run in the tests spawned a new worker and the
# discarded standby's Unsloth import (~15 s of CPU) was paid for nothing.
IGNORED_ENV = ("MLFLOW_", "PYTEST_CURRENT_TEST")


def _relevant(env: dict) -> dict:
    """The environment a worker depends on."""
    return {k: v for k, v in env.items() if not any(part in k for part in IGNORED_ENV)}


class Standby:
    """A worker process that has imported Unsloth and waits for a job folder on stdin."""

    def __init__(self):
        self.env = _env()
        self.lock = open(data_dir() / "training.lock", "a+", encoding="utf-8")  # noqa: SIM115 - see launch()
        _remove_orphan_logs()
        self.log = data_dir() / f"standby-{os.getpid()}-{time.time_ns()}.log"
        self.popen = _spawn(worker_command(None, 1), [self.lock], self.log, stdin=subprocess.PIPE)
        self.resident = False  # has run a job and stayed: its base model may still be loaded

    def usable(self) -> bool:
        return self.popen.poll() is None and _relevant(self.env) == _relevant(_env())

    def hand(self, folder: Path, keep: bool) -> None:
        if not self.resident:  # its output so far (import warnings) goes with its first job
            os.rename(self.log, Path(folder) / WORKER_LOG)
        self.popen.stdin.write(f"{folder}{chr(9) + KEEP_WORD if keep else ''}\n".encode())
        self.popen.stdin.flush()

    def close(self, wait_s: float = 0.0) -> None:
        """EOF on its input: it exits on its own (a resident, once its last job ends). `wait_s`: wait that long
        for it to be gone (its memory back), then end it."""
        try:
            self.popen.stdin.close()
        except OSError:
            pass
        self.lock.close()
        self.log.unlink(missing_ok=True)
        if wait_s:
            try:
                self.popen.wait(wait_s)
            except subprocess.TimeoutExpired:
                _signal_group(self.popen.pid, signal.SIGKILL)


def _remove_orphan_logs() -> None:
    """A standby's log outlives it when its studio ends without a run (the log goes with a job otherwise): remove
    those of studios that are gone, so the data folder does not fill with them."""
    for log in data_dir().glob("standby-*-*.log"):
        owner = log.name.split("-")[1]
        if owner.isdigit() and not psutil.pid_exists(int(owner)):
            log.unlink(missing_ok=True)


_standby: Standby | None = None
_standby_lock = threading.Lock()
_keep_warm = False


def prewarm() -> None:
    """Keep one warm worker ready from now on (the studio and the CLI call this once at start)."""
    global _standby, _keep_warm
    _keep_warm = True
    with _standby_lock:
        if _standby is None or not _standby.usable():
            if _standby is not None:
                _standby.close()
            _standby = Standby()


def _take_standby() -> Standby | None:
    global _standby
    with _standby_lock:
        found, _standby = _standby, None
    if found is not None and not found.usable():
        found.close()
        return None
    return found


def rewarm() -> None:
    """After a run: a new standby, if the studio keeps one (never during training: it would take CPU/memory)."""
    if _keep_warm:
        threading.Thread(target=prewarm, name="prewarm-worker", daemon=True).start()


def after_run(process: WorkerProcess) -> None:
    """A run has ended: its resident worker (alive) waits in the standby's place for the next job; else a new
    standby, if the studio keeps one."""
    global _standby
    standby = process.resident
    if standby is not None and standby.usable():
        with _standby_lock:
            spare, _standby = _standby, standby
        if spare is not None:
            spare.close()
        return
    if standby is not None:
        standby.close()
    rewarm()


def release_resident(wait_s: float = 30.0) -> None:
    """End a resident worker (the queue is done) and wait until it is gone, so its memory is back; a plain standby
    takes its place if the studio keeps one."""
    global _standby
    with _standby_lock:
        found = _standby if _standby is not None and _standby.resident else None
        if found is not None:
            _standby = None
    if found is not None:
        found.close(wait_s)
        rewarm()


def _put_back(standby: Standby) -> None:
    global _standby
    with _standby_lock:
        if _standby is None:
            _standby, standby = standby, None
    if standby is not None:
        standby.close()


def launch(
    folder: Path, gpus: int, holder: str, keep: bool = False, devices: tuple[int, ...] | None = None
) -> WorkerProcess:
    """Take the training lock (LockHeld when another process trains) and start the worker of a job whose folder
    holds job.json. The worker inherits the locked file (a lock belongs to the open file, not the process) and our
    copy is closed here, so the lock is released exactly when the worker ends, even if this process dies first.
    `keep` (one device): the worker stays after the job with its base model loaded (a resident worker; our copy of
    the lock stays open with it, until `release_resident`). `devices`: the GPUs of a run side by side with others
    (CUDA_VISIBLE_DEVICES; a shared training.lock and a lock per GPU; a new worker, never the standby)."""
    if devices is not None:
        return _launch_pinned(folder, gpus, holder, devices)
    keep = keep and gpus <= 1
    standby = _take_standby() if gpus <= 1 else None
    if standby is None and keep:
        standby = Standby()  # a worker that reads its jobs from its input, so it can take the next one
    lock = standby.lock if standby else open(data_dir() / "training.lock", "a+", encoding="utf-8")  # noqa: SIM115
    try:
        lock_training(lock, holder)
    except LockHeld:
        if standby is not None:
            _put_back(standby)
        else:
            lock.close()
        raise
    try:
        if standby is not None:
            standby.hand(folder, keep)
            popen = standby.popen
        else:
            popen = _spawn(worker_command(Path(folder), gpus), [lock], Path(folder) / WORKER_LOG)
    except OSError:
        unlock_training(lock)
        lock.close()
        raise
    if not keep:
        lock.close()
        return WorkerProcess(popen.pid, popen)
    standby.resident = True
    return WorkerProcess(popen.pid, popen, resident=standby, done=Path(folder) / DONE_FILE)


def _launch_pinned(folder: Path, gpus: int, holder: str, devices: tuple[int, ...]) -> WorkerProcess:
    names = ["training.lock", *(gpu_lock_name(k) for k in devices)]
    locks = [open(data_dir() / name, "a+", encoding="utf-8") for name in names]  # noqa: SIM115 - closed below
    try:
        for n, lock in enumerate(locks):
            lock_training(lock, holder, shared=n == 0)
        popen = _spawn(worker_command(Path(folder), gpus), locks, Path(folder) / WORKER_LOG, devices=devices)
        return WorkerProcess(popen.pid, popen)
    finally:
        for lock in locks:  # the worker holds them now (or, on a failure, nobody does)
            lock.close()
