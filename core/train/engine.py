"""The training engine: one per process, one run at a time, each run in its own worker process.

    engine = get_engine()
    job_id = engine.start(TrainConfig(data_path="assets/sample_pairs.jsonl", max_steps=5))  # returns at once
    engine.snapshot()  # status, step/total, elapsed, ETA, tokens/s, loss, error, MLflow run id
    engine.stop()      # stops after the current step; the adapter is saved
    engine.stop_now()  # ends the worker at once (SIGTERM, then SIGKILL); its last checkpoint stays resumable
    engine.recover()   # at start-up: re-attach to a worker still training, mark dead ones as died
    engine.resume(job_id)  # an interrupted job continues from its last checkpoint, in the same MLflow run

A background thread of this process ("the run's thread") starts the worker (`python -m core.job.worker FOLDER`,
core.train.supervisor), mirrors its progress from the job folder into the RunState the UI and the CLI read, keeps
sending its MLflow journal, touches the job's `watched` file, and explains its ending. The model never lives in this
process: a crash, an out-of-memory failure or a kill of the worker leaves the studio serving and its memory free.

The job itself says whether it evaluates when it ends (TrainConfig.evaluate_after): the worker process
(core.job.worker) trains, then evaluates, then writes the job's ending; this thread only mirrors it.
"""

import os
import threading
import time
import uuid
from pathlib import Path

from core import compute, defaults
from core.compute import BusyError
from core.config import ConfigError, TrainConfig, validate_config
from core.data import load_pairs
from core.paths import outputs_dir
from core.runstate import ENDED_BADLY, RESUMABLE, WITH_ADAPTER, WORKER_ENDINGS, RunState
from core.tracking import tracking_uri
from core.tracking.run import TrackedRun
from core.train import endings, supervisor
from core.train.dataset import save_validation
from core.train.estimate import record_run
from core.train.gpus import gpu_count
from core.train.jobs import (
    Interrupted,
    LockHeld,
    StorageError,
    check_writable,
    latest_checkpoint,
    read_job,
    record_end,
    recover_orphans,
    this_host,
    watch_job,
    write_job,
)
from core.train.models import resolve_model
from core.train.progress import JobFollower, request_stop, touch_watched

POLL_S = 0.5  # how often the run's thread reads the worker's progress


class ResumeError(ValueError):
    """The job cannot be resumed; the message says why and what to do instead."""


def gpus_for(cfg: TrainConfig) -> int:
    """How many devices the run uses: its GPUs setting (0 = all), checked against what the machine has. Without a
    GPU, STUDIO_CPU_DDP=1 lets N > 1 run N CPU processes (DDP over gloo): slower than one, but the same code path
    as several GPUs, so the tests exercise it on a laptop."""

    found = gpu_count()
    wanted = found if cfg.gpus == 0 else cfg.gpus
    if found == 0 and os.environ.get("STUDIO_CPU_DDP") == "1":
        return max(wanted, 1)
    if wanted > max(found, 1):
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        where = f" (CUDA_VISIBLE_DEVICES={visible})" if visible is not None else ""
        raise ConfigError(
            {
                "gpus": f"{wanted} GPUs asked for, {found} found on this machine{where}. Lower the "
                "setting (0 = all the GPUs there are)."
            }
        )
    return max(wanted, 1)


def _compare_estimate(folder: Path) -> dict | None:
    try:
        return record_run(folder)
    except (
        OSError,
        ValueError,
        KeyError,
        TypeError,
        ZeroDivisionError,
    ) as e:  # bookkeeping never fails a run
        print(f"note: the run's speed could not be recorded for the next estimate ({type(e).__name__}: {e})")
        return None


class Engine:
    def __init__(self, devices: tuple[int, ...] | None = None):
        """`devices`: an engine of a queue's runs side by side, whose runs use these GPUs only (CUDA_VISIBLE_DEVICES);
        None: the studio's own engine, whose runs may use every GPU."""
        self.devices = tuple(devices) if devices is not None else None
        self._lock = threading.Lock()
        self._state = RunState()
        self._thread: threading.Thread | None = None
        self._process: supervisor.WorkerProcess | None = None
        self._folder: Path | None = None
        self._stopped_now = False
        self.interrupted: list[Interrupted] = []  # what recover() found at start-up, for the UI

    def prewarm(self) -> None:
        """Keep a worker process with Unsloth imported ready, so Start reaches its first step quickly."""
        supervisor.prewarm()

    def start(self, cfg: TrainConfig, report=None, keep_worker: bool = False) -> str:
        """Validate, then launch the worker (it evaluates when it ends if `cfg.evaluate_after` asks for it).
        `report`: the validation the studio already made of this data, handed to the worker (which uses it when
        the data and the settings are those it was made with, instead of validating again). Returns the job id at
        once. `keep_worker`: the worker stays when the run ends, with its base model loaded, for the next run (the
        queue asks when the next item has the same base; core.train.supervisor.release_resident ends it).

        Raises ConfigError (bad settings, more GPUs than there are), DataError (unreadable data file),
        StorageError (output folder not writable, disk nearly full) or BusyError (a run is active here or in
        another process)."""
        problems = validate_config(cfg)
        if problems:
            raise ConfigError(problems)
        load_pairs(cfg.data_path)  # a broken file is refused here, with the loader's message
        if cfg.model != defaults.BUNDLED_MODEL:
            resolve_model(cfg.model)  # fast for folders and Hub ids; offline and uncached -> ModelError now
        job_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        return self._launch(cfg, job_id, None, report, keep_worker)

    def prepare(self, cfg: TrainConfig) -> Path:
        """Write a job folder without starting it: for a run across several machines, whose workers the user starts
        with torchrun's rendezvous (README, "Several GPUs"). Returns the folder."""
        problems = validate_config(cfg)
        if problems:
            raise ConfigError(problems)
        load_pairs(cfg.data_path)
        job_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        folder = outputs_dir() / job_id
        check_writable(folder.parent)
        folder.mkdir()
        write_job(
            folder,
            job_id=job_id,
            config=cfg.to_dict(),
            status="prepared",
            total_steps=cfg.max_steps,
            started=time.time(),
            host=this_host(),
        )
        return folder

    def resume(self, job_id: str) -> str:
        """Continue an interrupted job from its last checkpoint, logging into the same MLflow run."""
        folder = outputs_dir() / job_id
        job = read_job(folder)
        checkpoint = latest_checkpoint(folder) if job else None
        if not job or not checkpoint:
            raise ResumeError(f"Job {job_id} has no checkpoint to resume from. Start a new run instead.")
        if job.get("status") not in RESUMABLE:
            raise ResumeError(f"Job {job_id} is {job.get('status')}; only an interrupted run can be resumed.")
        cfg = TrainConfig.from_dict(job["config"])
        load_pairs(cfg.data_path)  # the data must still be there (uploads are kept under the data folder)
        return self._launch(cfg, job_id, checkpoint)

    def _launch(self, cfg: TrainConfig, job_id: str, resume, report=None, keep_worker: bool = False) -> str:
        gpus = len(self.devices) if self.devices else gpus_for(cfg)
        try:
            folder = outputs_dir() / job_id
        except OSError as e:  # the data folder itself cannot be created (e.g. its parent is a file)
            raise StorageError(
                f"Cannot create the studio's data folder: {e.strerror or e} ({e.filename}). Point "
                "STUDIO_DATA_DIR to a writable folder."
            ) from None
        check_writable(folder.parent if resume is None else folder)
        with self._lock:
            if self._state.active:
                raise BusyError(
                    f"A training run is already in progress (job {self._state.job_id}, "
                    f"step {self._state.step}/{self._state.total_steps}). Wait for it or stop it first."
                )
            state = RunState(
                status="starting",
                job_id=job_id,
                started_at=time.time(),
                total_steps=cfg.max_steps,
                output_dir=str(folder),
                model=cfg.model,
            )
            lease = compute.acquire(
                compute.TRAINING,
                lambda: f"job {job_id}, step {state.step}/{state.total_steps}",
                devices=self.devices,
            )
            watch = None
            try:
                folder.mkdir(parents=True, exist_ok=resume is not None)
                stale_files = ("stop.request", "state.json", supervisor.DONE_FILE)
                for stale in (*stale_files, *(p.name for p in folder.glob("rank-*.json"))):
                    (folder / stale).unlink(missing_ok=True)  # a resumed job starts with a clean channel
                write_job(
                    folder,
                    job_id=job_id,
                    config=cfg.to_dict(),
                    status="starting",
                    total_steps=cfg.max_steps,
                    started=state.started_at,
                    host=this_host(),
                    gpus=gpus,
                    devices=list(self.devices) if self.devices is not None else None,
                    resume=[str(resume[0]), resume[1]] if resume else None,
                )
                if report is not None:
                    save_validation(folder, cfg, report)
                watch = watch_job(folder)
                process = supervisor.launch(
                    folder,
                    gpus,
                    holder=f"job {job_id}, studio pid {os.getpid()}",
                    keep=keep_worker,
                    devices=self.devices,
                )
                write_job(folder, **process.identity())
            except LockHeld as e:
                self._release(lease, watch)
                raise BusyError(str(e)) from None
            except OSError as e:
                self._release(lease, watch)
                raise StorageError(f"Cannot start the job in {folder}: {e.strerror or e}.") from None
            state.log(
                f"job {job_id} "
                + (f"resuming from step {resume[1]}" if resume else "starting")
                + f" in worker process {process.pid}"
                + (f" on {gpus} GPUs" if gpus > 1 else "")
                + (f" (device {','.join(map(str, self.devices))})" if self.devices is not None else "")
            )
            self._watch(state, process, folder, cfg, lease, watch)
        self.interrupted = [i for i in self.interrupted if i.job_id != job_id]
        return job_id

    def _watch(self, state, process, folder, cfg, lease, watch) -> None:
        self._state, self._process, self._folder, self._stopped_now = state, process, folder, False
        self._thread = threading.Thread(
            target=self._follow,
            name=f"train-{state.job_id}",
            daemon=True,
            args=(state, process, folder, cfg, lease, watch),
        )
        self._thread.start()

    @staticmethod
    def _release(lease, watch) -> None:
        compute.release(lease)
        if watch is not None:
            watch.close()

    def _follow(self, state: RunState, process, folder: Path, cfg: TrainConfig, lease, watch):
        """The run's thread: mirror the worker until it ends, then explain the ending and finish the run."""

        lease.hand_to_this_thread()  # the evaluation after training runs here, under the training's lease
        run = TrackedRun(folder, state, tracking_uri())  # sends what the worker journals
        follower = JobFollower(folder, state)
        try:
            code = None
            while code is None:
                touch_watched(folder)
                follower.poll()
                code = process.exit_code(timeout=POLL_S)
            follower.poll()
            self._finish(state, folder, cfg, code if process.popen else None, run)
        except Exception as e:  # noqa: BLE001 - the thread must end with a status, whatever happened
            state.update(status="failed", error=f"{type(e).__name__}: {e}", finished_at=time.time())
        finally:
            self._release(lease, watch)
            if self.devices is None:  # runs side by side leave the standby worker to the studio's own engine
                supervisor.after_run(process)

    def _finish(self, state: RunState, folder: Path, cfg: TrainConfig, code, run) -> None:
        status, message = endings.explain_end(folder, code, self._stopped_now, state.step)
        job = read_job(folder) or {}
        news = job.get("status") not in WORKER_ENDINGS  # else the worker logged its own ending already
        if job.get("status") not in WORKER_ENDINGS:  # the worker could not write its own ending
            record_end(folder, status, message, state.step)
            message = (read_job(folder) or {}).get("message", message)
        if status in WITH_ADAPTER and (compared := _compare_estimate(folder)):
            state.log(
                f"estimated {compared['estimated_s'] / 60:.1f} min, took {compared['actual_s'] / 60:.1f} min"
                + (
                    f"; peak GPU memory estimated {compared['estimated_peak_gib']:.1f} GiB, used "
                    f"{compared['actual_peak_gib']:.1f} GiB"
                    if compared["actual_peak_gib"] and compared["estimated_peak_gib"]
                    else ""
                )
            )
        if news:
            state.log(message)
        if not run.flush(10.0):
            state.log(
                "MLflow has not received everything yet: the rest is sent in the background when it answers"
            )
        adapter = folder / "adapter"
        state.update(
            status=status,
            finished_at=time.time(),
            message=message,
            error=message if status in ENDED_BADLY else "",
            adapter_path=str(adapter) if (adapter / "adapter_config.json").exists() else "",
        )

    def recover(self, tracking_uri: str | None = None) -> list[Interrupted]:
        """At start-up: mark jobs whose worker died as died (job.json and MLflow) and remember them for the UI;
        re-attach to a worker still training (progress, chart, Stop), unless another studio watches it."""

        found, live = recover_orphans(tracking_uri or os.environ.get("MLFLOW_TRACKING_URI", ""))
        self.interrupted = found + [i for i in self.interrupted if i.job_id not in {f.job_id for f in found}]
        for job in live:
            self._attach(job)
        return found

    def _attach(self, job: dict) -> bool:
        folder = outputs_dir() / job["job_id"]
        cfg = TrainConfig.from_dict(job["config"])
        with self._lock:
            if self._state.active:
                return False
            watch = watch_job(folder)
            if watch is None:
                return False  # another studio (or a CLI) watches it
            state = RunState(
                status="running",
                job_id=job["job_id"],
                started_at=job.get("started", time.time()),
                total_steps=int(job.get("total_steps") or 0),
                output_dir=str(folder),
                model=cfg.model,
            )
            try:
                lease = compute.acquire(
                    compute.TRAINING, lambda: f"job {state.job_id}, step {state.step}/{state.total_steps}"
                )
            except BusyError:
                watch.close()
                return False
            process = supervisor.WorkerProcess(int(job["worker_pid"]), None, job.get("worker_started"))
            state.log(f"re-attached to job {job['job_id']} (worker process {process.pid}, still training)")
            self._watch(state, process, folder, cfg, lease, watch)
        return True

    def stop(self) -> bool:
        """Ask the run to stop after the current step (the adapter is saved). True when there was a run to stop."""
        with self._lock:
            if not self._state.active or self._folder is None:
                return False
            request_stop(self._folder)
            self._state.update(status="stopping")
            self._state.log("stop requested: finishing the current step, then saving the adapter")
            return True

    def stop_now(self) -> bool:
        """End the worker at once (SIGTERM, then SIGKILL after a grace period); its last checkpoint stays
        resumable. True when there was a worker to end."""
        with self._lock:
            if not self._state.active or self._process is None or self._state.status == "evaluating":
                return False
            self._stopped_now = True
            self._process.terminate()
            self._state.log(f"stop now: ending the training process {self._process.pid} at once")
            return True

    def snapshot(self) -> dict:
        return self._state.snapshot()

    def wait(self, timeout: float | None = None) -> dict:
        """Block until the run's thread ends (for the CLI and tests)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.snapshot()

    @property
    def busy(self) -> bool:
        return self._state.active


_engine: Engine | None = None
_engine_lock = threading.Lock()


def get_engine() -> Engine:
    """The process-wide engine (one training at a time per process)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = Engine()
        return _engine


def adapter_dir(job_id: str) -> Path:
    return outputs_dir() / job_id / "adapter"
