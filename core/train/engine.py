"""The training engine: one per process, one run at a time, in a background thread.

    engine = get_engine()
    job_id = engine.start(TrainConfig(data_path="assets/sample_pairs.jsonl", max_steps=5))  # returns at once
    engine.snapshot()  # status, step/total, elapsed, ETA, tokens/s, loss, error, MLflow run id
    engine.stop()      # stops after the current step; the adapter is saved
    engine.recover()   # at start-up: jobs whose process died are marked killed (here and in MLflow)
    engine.resume(job_id)  # a killed job continues from its last checkpoint, in the same MLflow run

Evaluation after training is not imported here: whoever starts the run passes it as `after_training`
(core.evaluate.evaluate_after_training), and the run's thread calls it when training completed.
"""

import threading
import time
import uuid
from pathlib import Path

from core import compute
from core.compute import BusyError
from core.config import BUNDLED_MODEL, TrainConfig, validate_config
from core.data import load_pairs
from core.paths import outputs_dir
from core.runstate import RunState
from core.train.jobs import (
    Interrupted,
    LockHeld,
    StorageError,
    TrainingLock,
    check_writable,
    latest_checkpoint,
    read_job,
    write_job,
)
from core.train.models import resolve_model


class ResumeError(ValueError):
    """The job cannot be resumed; the message says why and what to do instead."""


class ConfigError(ValueError):
    """The config has problems; `problems` maps field names to messages."""

    def __init__(self, problems: dict[str, str]):
        self.problems = problems
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))


class Engine:
    def __init__(self):
        self._lock = threading.Lock()
        self._state = RunState()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._training_lock = TrainingLock()
        self.interrupted: list[Interrupted] = []  # what recover() found at start-up, for the UI

    def start(self, cfg: TrainConfig, callbacks: tuple = (), after_training=None) -> str:
        """Validate, then launch the worker thread. Returns the job id at once. `callbacks` are extra
        transformers TrainerCallbacks (benchmarks use one to time steps). `after_training(cfg, output_dir, run,
        state)` runs in the same thread when training completed and `cfg.evaluate_after` asks for it.

        Raises ConfigError (bad settings), DataError (unreadable data file), StorageError (output folder not
        writable, disk nearly full) or BusyError (a run is active here or in another process)."""
        problems = validate_config(cfg)
        if problems:
            raise ConfigError(problems)
        load_pairs(cfg.data_path)  # a broken file is refused here, with the loader's message
        if cfg.model != BUNDLED_MODEL:
            resolve_model(cfg.model)  # fast for folders and Hub ids; offline and uncached -> ModelError now
        job_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        return self._launch(cfg, job_id, None, callbacks, after_training)

    def resume(self, job_id: str, after_training=None) -> str:
        """Continue a killed job from its last checkpoint, logging into the same MLflow run."""
        folder = outputs_dir() / job_id
        job = read_job(folder)
        checkpoint = latest_checkpoint(folder) if job else None
        if not job or not checkpoint:
            raise ResumeError(f"Job {job_id} has no checkpoint to resume from. Start a new run instead.")
        if job.get("status") not in ("killed", "failed"):
            raise ResumeError(f"Job {job_id} is {job.get('status')}; only an interrupted run can be resumed.")
        cfg = TrainConfig.from_dict(job["config"])
        load_pairs(cfg.data_path)  # the data must still be there (uploads are kept under the data folder)
        return self._launch(cfg, job_id, checkpoint, (), after_training)

    def _launch(self, cfg: TrainConfig, job_id: str, resume, callbacks: tuple, after_training) -> str:
        from core.train.jobs import this_process
        from core.train.worker import run_training

        try:
            output_dir = outputs_dir() / job_id
        except OSError as e:  # the data folder itself cannot be created (e.g. its parent is a file)
            raise StorageError(f"Cannot create the studio's data folder: {e.strerror or e} ({e.filename}). Point "
                               "STUDIO_DATA_DIR to a writable folder.") from None
        check_writable(output_dir.parent if resume is None else output_dir)
        with self._lock:
            if self._state.active:
                raise BusyError(f"A training run is already in progress (job {self._state.job_id}, "
                                f"step {self._state.step}/{self._state.total_steps}). Wait for it or stop it first.")
            state = RunState(status="starting", job_id=job_id, started_at=time.time(), total_steps=cfg.max_steps,
                             output_dir=str(output_dir), model=cfg.model)
            lease = compute.acquire(compute.TRAINING, lambda: f"job {job_id}, step {state.step}/{state.total_steps}")
            try:
                self._training_lock.acquire(job_id)
            except LockHeld as e:
                compute.release(lease)
                raise BusyError(str(e)) from None
            try:
                output_dir.mkdir(parents=True, exist_ok=resume is not None)
                write_job(output_dir, job_id=job_id, config=cfg.to_dict(), status="starting", total_steps=cfg.max_steps,
                          started=time.time(), **this_process())
            except OSError as e:
                self._training_lock.release()
                compute.release(lease)
                raise StorageError(f"Cannot write the job folder {output_dir}: {e.strerror or e}.") from None
            self._stop = threading.Event()
            self._state = state
            self._state.log(f"job {job_id} " + (f"resuming from step {resume[1]}" if resume else "starting"))
            self._thread = threading.Thread(target=self._work, name=f"train-{job_id}", daemon=True,
                                            args=(run_training, cfg, output_dir, resume, callbacks, after_training,
                                                  lease))
            self._thread.start()
        self.interrupted = [i for i in self.interrupted if i.job_id != job_id]
        return job_id

    def _work(self, run_training, cfg, output_dir, resume, callbacks, after_training, lease) -> None:
        lease.hand_to_this_thread()  # the evaluation after training runs here, under the training's lease
        try:
            run_training(cfg, self._state, self._stop, output_dir, callbacks, resume=resume,
                         after_training=after_training)
        finally:
            self._training_lock.release()
            compute.release(lease)

    def recover(self, tracking_uri: str | None = None) -> list[Interrupted]:
        """At start-up: mark jobs whose process died as killed (job.json and MLflow); remember them for the UI."""
        import os

        from core.train.jobs import recover_orphans

        found = recover_orphans(tracking_uri or os.environ.get("MLFLOW_TRACKING_URI", ""))
        self.interrupted = found + [i for i in self.interrupted if i.job_id not in {f.job_id for f in found}]
        return found

    def stop(self) -> bool:
        """Ask the run to stop after the current step. True when there was a run to stop."""
        with self._lock:
            if not self._state.active:
                return False
            self._stop.set()
            self._state.update(status="stopping")
            self._state.log("stop requested: finishing the current step, then saving the adapter")
            return True

    def snapshot(self) -> dict:
        return self._state.snapshot()

    def wait(self, timeout: float | None = None) -> dict:
        """Block until the worker ends (for the CLI and tests)."""
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
