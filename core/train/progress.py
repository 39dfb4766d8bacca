"""How a training worker process and the studio that watches it talk: files in the job folder.

    state.json    the worker's RunState (step, loss, tokens/s, status, message...), rewritten atomically
    log.txt       the worker's log lines, appended
    stop.request  written by the studio: finish the current step, save the adapter, end
    watched       touched every few seconds by whichever studio (or CLI) watches the job

The worker writes through `MirroredState` (a RunState whose changes go to the files); the studio's engine thread
reads them with `JobFollower` into the RunState the UI and the CLI show. A worker nobody watches any more (the
studio died and no new one re-attached within `orphan_limit_s()`) stops itself after saving: `StopRequest`.
"""

import json
import os
import time
from pathlib import Path

from core.files import write_atomic
from core.runstate import FINISHED, RunState, Status

STATE_FILE, LOG_FILE, STOP_FILE, WATCH_FILE = "state.json", "log.txt", "stop.request", "watched"
# Fields the watching studio owns (its sync thread fills them), never taken from the worker's file.
STUDIO_FIELDS = {"mlflow_run_id", "tracking_uri", "experiment_id", "mlflow_warning", "log_lines", "log_count"}
DEFAULT_ORPHAN_LIMIT_S = 600.0


def orphan_limit_s() -> float:
    """How long a worker trains on with nobody watching before it saves and stops (STUDIO_ORPHAN_LIMIT_S)."""
    try:
        return float(os.environ.get("STUDIO_ORPHAN_LIMIT_S", DEFAULT_ORPHAN_LIMIT_S))
    except ValueError:
        return DEFAULT_ORPHAN_LIMIT_S


class MirroredState(RunState):
    """The worker's RunState: every change also lands in the job folder (state at most every 0.25 s, and always
    on a change of status; every log line at once)."""

    def mirror_to(self, folder: Path) -> "MirroredState":
        self._folder, self._written_at, self._status_written = Path(folder), 0.0, ""
        return self

    def update(self, **changes) -> None:
        super().update(**changes)
        if getattr(self, "_folder", None) is not None:
            self.save(force=self.status != self._status_written)

    def log(self, line: str) -> None:
        super().log(line)
        if getattr(self, "_folder", None) is not None:
            with open(self._folder / LOG_FILE, "a", encoding="utf-8") as f:
                f.write(self.log_lines[-1] + "\n")

    def save(self, force: bool = True) -> None:
        now = time.time()
        if not force and now - self._written_at < 0.25:
            return
        data = {k: v for k, v in self.snapshot().items() if k not in STUDIO_FIELDS}
        data["logged_at"] = dict(self.logged_at)
        try:
            write_atomic(self._folder / STATE_FILE, json.dumps(data, default=str))
        except OSError:
            return  # a full disk: the studio keeps the last state it read; the trainer reports the disk error
        self._written_at, self._status_written = now, self.status


class JobFollower:
    """Reads a worker's state.json and new log lines into the studio's RunState."""

    def __init__(self, folder: Path, state: RunState):
        self.folder, self.state = Path(folder), state
        self._log_offset, self._state_mtime = 0, 0.0

    def poll(self) -> dict:
        """Take what changed; returns the worker's latest state (empty before its first write)."""
        self._read_log()
        path = self.folder / STATE_FILE
        try:
            mtime = path.stat().st_mtime
            if mtime == self._state_mtime:
                return {}
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        self._state_mtime = mtime
        logged_at = {int(k): v for k, v in data.pop("logged_at", {}).items()}
        changes = {
            k: v
            for k, v in data.items()
            if k in self.state.__dataclass_fields__
            and k not in STUDIO_FIELDS
            and k not in ("started_at", "finished_at")
        }
        if changes.get("status") in FINISHED:  # the studio says how the run ended, once it has done its part
            changes.pop("status")
        if self.state.status == Status.STOPPING and changes.get("status") in (
            Status.STARTING,
            Status.RUNNING,
        ):
            changes.pop("status")  # the worker sees the stop request only at the end of its current step
        self.state.update(**changes)
        self.state.logged_at.update(logged_at)
        return data

    def _read_log(self) -> None:
        try:
            with open(self.folder / LOG_FILE, "rb") as f:
                f.seek(self._log_offset)
                chunk = f.read()
        except OSError:
            return
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line still being written waits for the next poll
        self._log_offset += len(complete)
        for line in complete.decode("utf-8", "replace").splitlines():
            self.state.add_line(line)


def touch_watched(folder: Path) -> None:
    """Say 'a studio is watching this job' (the worker stops itself when this goes stale for too long)."""
    try:
        (Path(folder) / WATCH_FILE).touch()
    except OSError:
        pass


def request_stop(folder: Path) -> None:
    (Path(folder) / STOP_FILE).write_text(time.strftime("%H:%M:%S"), encoding="utf-8")


class StopRequest:
    """The worker's stop signal: the studio asked (stop.request), or nobody has watched the job for longer than
    the orphan limit. `is_set()` is called after every step; it reads the disk at most once a second."""

    def __init__(self, folder: Path, limit_s: float | None = None):
        self.folder, self.limit_s = Path(folder), orphan_limit_s() if limit_s is None else limit_s
        self.reason, self._checked_at, self._set = "", 0.0, False
        touch_watched(self.folder)  # the clock starts when the worker starts

    def set(self, reason: str = "asked") -> None:
        self._set, self.reason = True, self.reason or reason

    def is_set(self) -> bool:
        now = time.time()
        if self._set or now - self._checked_at < 1.0:
            return self._set
        self._checked_at = now
        if (self.folder / STOP_FILE).exists():
            self.set("asked")
        else:
            try:
                unwatched = now - (self.folder / WATCH_FILE).stat().st_mtime
            except OSError:
                unwatched = 0.0
            if unwatched > self.limit_s:
                self.set(
                    f"no studio has watched this job for {unwatched:.0f} s (the studio was closed or died)"
                )
        return self._set
