"""The state of the current training job, shared between the worker thread and the UI/CLI.

The worker writes through `update`/`log`; readers take `snapshot()` copies. Errors cross the thread
boundary as data: status "failed" plus a short message.
"""

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

from core.redact import redact


class Status(StrEnum):
    """Where a run is (docs/ARCHITECTURE.md draws it): queued -> starting -> running -> [stopping] -> [evaluating]
    -> completed | stopped | failed | died. Members are strings, so job files and snapshots keep plain text."""

    IDLE = "idle"  # no run yet in this process
    QUEUED = "queued"  # waiting in a queue for the device
    PREPARED = "prepared"  # a job folder written for workers started by hand (several machines)
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"  # asked to stop after the current step
    EVALUATING = "evaluating"  # trained; base and adapter answer the held-out questions
    COMPLETED = "completed"
    STOPPED = "stopped"  # stopped early on request; the adapter is saved
    FAILED = "failed"  # the worker said why
    DIED = (
        "died"  # the training process ended without saying how (a signal, "Stop now", a crash in native code)
    )
    KILLED = "killed"  # how jobs interrupted before the worker process existed were marked


ACTIVE = frozenset({Status.STARTING, Status.RUNNING, Status.STOPPING, Status.EVALUATING})
FINISHED = frozenset({Status.COMPLETED, Status.STOPPED, Status.FAILED, Status.DIED})
WITH_ADAPTER = frozenset({Status.COMPLETED, Status.STOPPED})  # endings that leave a usable adapter
ENDED_BADLY = frozenset({Status.FAILED, Status.DIED})
WORKER_ENDINGS = frozenset(
    {Status.COMPLETED, Status.STOPPED, Status.FAILED}
)  # the ones the worker writes itself
RESUMABLE = frozenset({Status.DIED, Status.FAILED, Status.KILLED})  # with a checkpoint, these can continue
# Text fields the UI and CLI show as they are: secrets are masked on the way in.
_SHOWN_TEXT = ("error", "message", "mlflow_warning")


@dataclass
class RunState:
    status: str = Status.IDLE
    job_id: str = ""
    mlflow_run_id: str = ""
    tracking_uri: str = ""
    experiment_id: str = ""
    step: int = 0
    total_steps: int = 0
    started_at: float = 0.0
    finished_at: float = 0.0
    # The step and the time this process's training began at (its first step): the ETA's pace counts from there,
    # so loading the model is not training time, nor are a resumed run's steps before its checkpoint.
    paced_from_step: int = 0
    paced_from: float = 0.0
    # steps of a later phase (the reinforcement) that this phase's pace does not tell, and their estimated seconds
    later_steps: int = 0
    later_s: float = 0.0
    last_loss: float | None = None
    tokens_per_second: float | None = None
    tokens_seen: int = 0
    epoch: float = 0.0
    error: str = ""
    message: str = ""
    adapter_path: str = ""
    output_dir: str = ""
    backend: str = ""
    model: str = ""
    train_rows: int = 0
    eval_rows: int = 0
    mlflow_warning: str = ""
    logged_at: dict = field(
        default_factory=dict
    )  # step -> time the trainer logged its loss (chart-lag benchmark)
    evaluation: dict = field(
        default_factory=dict
    )  # "base"/"adapter" -> summary, when evaluated after training
    evaluation_text: str = ""  # the evaluation in a sentence: which sets, each side's accuracy, the verdict
    log_lines: deque = field(default_factory=lambda: deque(maxlen=200))
    log_count: int = 0  # lines logged in all (the deque keeps the last 200): followers print what is new
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def update(self, **changes) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self, key, redact(value) if key in _SHOWN_TEXT else value)

    def log(self, line: str) -> None:
        with self._lock:
            self.log_lines.append(f"{time.strftime('%H:%M:%S')} {redact(line)}")
            self.log_count += 1

    def add_line(self, line: str) -> None:
        """A log line as another process wrote it (already timestamped and redacted there)."""
        with self._lock:
            self.log_lines.append(redact(line))
            self.log_count += 1

    def pace_from(self, step: int) -> None:
        """Training begins (or goes on after a Resume) at `step`, now; the first call of a run counts. Called from
        the training loop's thread only (through `update`, so a worker's mirror writes it too)."""
        if not self.paced_from:
            self.update(paced_from_step=step, paced_from=time.time())

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def snapshot(self) -> dict:
        with self._lock:
            data = {
                k: getattr(self, k)
                for k in self.__dataclass_fields__
                if not k.startswith("_") and k != "logged_at"
            }
            data["log_lines"] = list(self.log_lines)
        now = data["finished_at"] or time.time()
        data["elapsed"] = now - data["started_at"] if data["started_at"] else 0.0
        step, total = data["step"], data["total_steps"]
        done = step - data["paced_from_step"]  # steps this process trained, in the time since it began
        data["eta"] = (
            (now - data["paced_from"]) / done * max(total - step - data["later_steps"], 0) + data["later_s"]
            if data["paced_from"] and done > 0 and total and data["status"] == "running"
            else None
        )
        return data
