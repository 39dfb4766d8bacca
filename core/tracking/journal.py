"""The local record of everything a job sends to MLflow: the fallback store while the tracking server is away.

Each job folder holds `tracking.jsonl` (one operation per line: open the run, params, tags, a metric point, a
text artifact, an artifact folder, end the run) and `tracking.sent` (the MLflow run id and how many operations
MLflow has acknowledged). The training worker only appends here, so a dead or slow server never slows it; a
sync thread (core.tracking.sync) in the studio's process sends the rest in order, reading what the worker process
appended with `refresh()`. After a crash or a restart, whatever was not sent is
still on disk and `core.tracking.sync.sync_journal` sends it later, so metrics logged while MLflow was away reach
it once it is back.
"""

import json
import os
import threading
import time
from pathlib import Path

from core.files import locked, write_atomic

JOURNAL = "tracking.jsonl"
SENT = "tracking.sent"


class Journal:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.path = self.folder / JOURNAL
        self._lock = threading.Lock()
        self.ops: list[dict] = []
        self._offset = 0  # bytes of the file read into ops
        self.refresh()
        sent = self._read_sent()
        self.run_id: str = sent.get("run_id", "")
        self.sent: int = min(int(sent.get("sent", 0)), len(self.ops))

    def refresh(self) -> int:
        """Read the operations appended since the last read (by this process or the worker's); returns how many.
        A line still being written is left for the next call; one cut short by a kill is skipped."""
        with self._lock:
            try:
                with open(self.path, "rb") as f:
                    f.seek(self._offset)
                    chunk = f.read()
            except OSError:
                return 0
            complete = chunk[: chunk.rfind(b"\n") + 1]
            self._offset += len(complete)
            added = 0
            for line in complete.decode("utf-8", "replace").split("\n"):
                try:
                    self.ops.append(json.loads(line))
                    added += 1
                except ValueError:  # a line cut short by a kill: everything before it is intact
                    continue
            return added

    def _read_sent(self) -> dict:
        try:
            return json.loads((self.folder / SENT).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def append(self, op: str, **fields) -> None:
        record = {"op": op, "t": int(time.time() * 1000), **fields}
        line = json.dumps(record, default=str)
        try:
            with open(self.path, "ab+") as f:  # one write of a whole line: appends never interleave
                if f.seek(0, os.SEEK_END) and (f.seek(-1, os.SEEK_END), f.read(1))[1] != b"\n":
                    f.write(b"\n")  # a line cut short by a kill stays alone on its line (and is skipped)
                f.write(line.encode("utf-8") + b"\n")
        except (
            OSError
        ):  # disk trouble: the operation still reaches MLflow from memory; the trainer reports it
            with self._lock:
                self.ops.append(record)
            return
        self.refresh()

    def pending(self) -> list[dict]:
        with self._lock:
            return self.ops[self.sent :]

    def acknowledge(self, count: int, run_id: str | None = None) -> None:
        """MLflow has `count` more operations; persist the pointer. Under the file's lock, as a read-modify-write:
        another process syncing the same folder (the studio's sync thread, a CLI's `sync_journal`) may have moved
        it further meanwhile, and its word stands (what it sent is not sent again)."""
        with self._lock:
            self.sent = min(self.sent + count, len(self.ops))
            if run_id:
                self.run_id = run_id
            try:
                with locked(self.folder / SENT):
                    there = self._read_sent()
                    self.run_id = self.run_id or there.get("run_id", "")
                    if there.get("run_id", self.run_id) == self.run_id:
                        self.sent = max(self.sent, min(int(there.get("sent", 0)), len(self.ops)))
                    write_atomic(self.folder / SENT, json.dumps({"run_id": self.run_id, "sent": self.sent}))
            except OSError:
                pass

    def ended(self) -> bool:
        """True when the job wrote its end (completed, stopped, failed or marked killed)."""
        with self._lock:
            return any(op["op"] == "end" for op in self.ops[self._last_open() :])

    def _last_open(self) -> int:
        starts = [i for i, op in enumerate(self.ops) if op["op"] in ("open", "reopen")]
        return starts[-1] if starts else 0

    def last_step(self, key: str = "loss") -> int:
        with self._lock:
            steps = [op["step"] for op in self.ops if op["op"] == "metric" and op["key"] == key]
        return max(steps, default=0)
