"""Long tasks (exports) in their own thread, so neither the page nor a running training waits for them.

    job = start_job("zip of run-1", lambda progress: export(source, "zip", out_dir, progress=progress))
    job.snapshot()   # status running | done | failed, log lines (and when each came), result, error

One at a time per process: a merge loads a whole model into memory. Errors end as status "failed" with a
short message (they cross the thread boundary as data, like training's).
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.compute import BusyError


@dataclass
class BackgroundJob:
    label: str
    status: str = "running"
    lines: list[str] = field(default_factory=list)
    line_times: list[float] = field(
        default_factory=list
    )  # seconds after the start, one per line (stage timings)
    result: Any = None
    error: str = ""
    started_at: float = field(default_factory=time.time)
    finished_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def log(self, line: str) -> None:
        with self._lock:
            self.lines.append(str(line))
            self.line_times.append(time.time() - self.started_at)

    def snapshot(self) -> dict:
        with self._lock:
            end = self.finished_at or time.time()
            return {
                "label": self.label,
                "status": self.status,
                "lines": list(self.lines),
                "line_times": list(self.line_times),
                "result": self.result,
                "error": self.error,
                "elapsed": end - self.started_at,
            }


_current: BackgroundJob | None = None
_lock = threading.Lock()


def _run(job: BackgroundJob, task: Callable[[Callable[[str], None]], Any]) -> None:
    try:
        result, status, error = task(job.log), "done", ""
    except Exception as e:  # noqa: BLE001 - the thread must end with a status, whatever happened
        text = str(e).strip().splitlines()[0][:400] if str(e).strip() else ""
        # Errors users can fix (ValueError and its kind) carry their own message; others get their type too.
        result, status, error = (
            None,
            "failed",
            text if isinstance(e, ValueError) and text else f"{type(e).__name__}: {text}".rstrip(": "),
        )
    with job._lock:
        job.result, job.status, job.error, job.finished_at = result, status, error, time.time()


def start_job(label: str, task: Callable[[Callable[[str], None]], Any]) -> BackgroundJob:
    """Run `task(progress)` in a daemon thread; returns at once. Raises BusyError while another job runs."""
    global _current
    with _lock:
        if _current is not None and _current.status == "running":
            raise BusyError(
                f"An export is already running ({_current.label}). Wait for it to finish, then "
                "start this one."
            )
        job = _current = BackgroundJob(label)
    threading.Thread(target=_run, args=(job, task), name="export", daemon=True).start()
    return job


def current_job() -> BackgroundJob | None:
    """The latest job of this process (running or finished), for the page's status line."""
    return _current
