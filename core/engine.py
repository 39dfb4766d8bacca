"""The training engine: one per process, one run at a time, in a background thread.

    engine = get_engine()
    job_id = engine.start(TrainConfig(data_path="assets/sample_pairs.jsonl", max_steps=5))  # returns at once
    engine.snapshot()  # status, step/total, elapsed, ETA, tokens/s, loss, error, MLflow run id
    engine.stop()      # stops after the current step; the adapter is saved
"""

import threading
import time
import uuid
from pathlib import Path

from core.config import BUNDLED_MODEL, TrainConfig, validate_config
from core.data import load_pairs
from core.models import resolve_model
from core.paths import outputs_dir
from core.runstate import RunState


class BusyError(RuntimeError):
    """A run is already active."""


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

    def start(self, cfg: TrainConfig, callbacks: tuple = ()) -> str:
        """Validate, then launch the worker thread. Returns the job id at once. `callbacks` are extra
        transformers TrainerCallbacks (benchmarks use one to time steps).

        Raises ConfigError (bad settings), DataError (unreadable data file) or BusyError (a run is active)."""
        problems = validate_config(cfg)
        if problems:
            raise ConfigError(problems)
        load_pairs(cfg.data_path)  # a broken file is refused here, with the loader's message
        if cfg.model != BUNDLED_MODEL:
            resolve_model(cfg.model)  # fast for folders and Hub ids; offline and uncached -> ModelError now
        from core.trainer import run_training

        with self._lock:
            if self._state.active:
                raise BusyError(f"A training run is already in progress (job {self._state.job_id}, "
                                f"step {self._state.step}/{self._state.total_steps}). Wait for it or stop it first.")
            job_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
            output_dir = outputs_dir() / job_id
            output_dir.mkdir(parents=True)
            self._stop = threading.Event()
            self._state = RunState(status="starting", job_id=job_id, started_at=time.time(),
                                   total_steps=cfg.max_steps, output_dir=str(output_dir), model=cfg.model)
            self._state.log(f"job {job_id} starting")
            self._thread = threading.Thread(target=run_training, name=f"train-{job_id}", daemon=True,
                                            args=(cfg, self._state, self._stop, output_dir, callbacks))
            self._thread.start()
        return job_id

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
