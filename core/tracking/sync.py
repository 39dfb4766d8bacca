"""Sends a job's journal (core.tracking.journal) to MLflow from a daemon thread, in order, retrying while the server is away.

One sync thread per job folder in a process (`syncer_for`). Metric points are batched; records MLflow refuses for
good (e.g. the run was deleted) are skipped with a log line instead of being retried forever; anything else
(connection refused, timeouts, 5xx) keeps the records and tries again with a back-off, while
`state.mlflow_warning` says how many are waiting. `sync_journal` sends what a finished or crashed job left.
"""

import threading
import time
from pathlib import Path

from core.runstate import RunState
from core.tracking.journal import Journal
from core.tracking.server import is_healthy, wait_until_started

BATCH = 900  # MLflow accepts 1000 metrics per log_batch call
# MLflow error codes that mean "never", not "not now": such a record is skipped instead of retried forever.
REFUSED = (
    "INVALID_PARAMETER_VALUE",
    "RESOURCE_DOES_NOT_EXIST",
    "RESOURCE_ALREADY_EXISTS",
    "INVALID_STATE",
    "BAD_REQUEST",
    "PERMISSION_DENIED",
)
HEALTH_TIMEOUT_S = 10.0  # a slow server is still a server: only a dead one makes us wait and retry
_syncers: dict[str, "Syncer"] = {}  # job folder -> its live sync thread, one per folder in this process
_syncers_lock = threading.Lock()


class Syncer:
    """Sends a journal's pending operations to MLflow from a daemon thread, retrying while the server is away."""

    def __init__(self, journal: Journal, tracking_uri: str, state: RunState | None):
        self.journal, self.uri, self.state = journal, tracking_uri, state
        self._wake, self._idle = threading.Event(), threading.Event()
        self.down_since: float | None = None
        self.thread = threading.Thread(
            target=self._loop, name=f"mlflow-sync-{journal.folder.name}", daemon=True
        )
        self.thread.start()

    def wake(self) -> None:
        self._idle.clear()
        self._wake.set()

    def flush(self, wait_s: float) -> bool:
        self.journal.refresh()
        self.wake()
        deadline = time.time() + wait_s
        while time.time() < deadline and self.journal.pending():
            self._idle.wait(timeout=0.2)
        return not self.journal.pending()

    def _loop(self) -> None:
        try:
            from mlflow.tracking import MlflowClient
        except ImportError:  # a bare GPU host may lack it: the journal still records the run
            if self.state is not None:
                self.state.update(
                    mlflow_warning=f"MLflow is not installed here: this run is recorded only in "
                    f"{self.journal.path}; training continues."
                )
            return
        client, backoff = MlflowClient(self.uri or None), 1.0
        while True:
            self._wake.wait(timeout=backoff)
            self._wake.clear()
            self.journal.refresh()  # what a training worker process appended meanwhile
            if not self.journal.pending():
                self._idle.set()
                if self.journal.ended() and not self._wake.is_set():
                    return  # all sent; syncer_for starts a new thread if anything is appended later
                backoff = 1.0
                continue
            try:
                if not is_healthy(self.uri, timeout=HEALTH_TIMEOUT_S):
                    raise ConnectionError(f"MLflow at {self.uri} does not answer")
                self._send(client)
            except Exception as e:  # noqa: BLE001 - any failure means: keep the records, try again later
                self._note_down(e)
                backoff = min(backoff * 2, 8.0)
            else:
                self._note_up()
                backoff = 1.0

    def _send(self, client) -> None:
        from mlflow.exceptions import MlflowException

        while pending := self.journal.pending():
            batch = list(_leading(pending, "metric"))[:BATCH] or pending[:1]
            try:
                self._send_one(client, batch)
            except MlflowException as e:
                if e.error_code not in REFUSED:
                    raise
                # MLflow refuses this record for good (e.g. the run was deleted): skip it, say so, go on
                if self.state is not None:
                    self.state.log(
                        f"MLflow refused a {batch[0]['op']} record: {str(e).splitlines()[0][:160]}"
                    )
            self.journal.acknowledge(len(batch))

    def _send_one(self, client, batch: list[dict]) -> None:
        op = batch[0]
        if op["op"] == "metric":
            from mlflow.entities import Metric

            client.log_batch(
                self._ensure_run(client),
                metrics=[Metric(o["key"], o["value"], o["t"], o["step"]) for o in batch],
            )
        elif op["op"] == "open":
            self._ensure_run(client, op)
        elif op["op"] == "reopen":
            run_id = self._ensure_run(client)
            client.update_run(run_id, status="RUNNING")
            if self.state is not None:
                self.state.update(experiment_id=client.get_run(run_id).info.experiment_id)
        elif op["op"] == "params":
            from mlflow.entities import Param

            client.log_batch(self._ensure_run(client), params=[Param(k, v) for k, v in op["values"].items()])
        elif op["op"] == "tags":
            from mlflow.entities import RunTag

            client.log_batch(self._ensure_run(client), tags=[RunTag(k, v) for k, v in op["values"].items()])
        elif op["op"] == "text":
            client.log_text(self._ensure_run(client), op["text"], op["name"])
        elif op["op"] == "artifacts":
            if Path(op["folder"]).is_dir():
                client.log_artifacts(self._ensure_run(client), op["folder"], op["path"])
        elif op["op"] == "end":
            client.set_terminated(self._ensure_run(client), status=op["status"], end_time=op["t"])

    def _ensure_run(self, client, open_op: dict | None = None) -> str:
        """The run id, creating the run (late, if MLflow was down at the start) with the job's start time."""
        if self.journal.run_id:
            return self.journal.run_id
        op = open_op or next(o for o in self.journal.ops if o["op"] == "open")
        experiment = client.get_experiment_by_name(op["experiment"])
        experiment_id = experiment.experiment_id if experiment else client.create_experiment(op["experiment"])
        run = client.create_run(
            experiment_id, start_time=op["t"], run_name=op["run_name"] or None, tags=op.get("tags") or None
        )
        self.journal.acknowledge(0, run.info.run_id)
        if self.state is not None:
            self.state.update(
                mlflow_run_id=run.info.run_id, experiment_id=experiment_id, tracking_uri=self.uri
            )
            self.state.log(f"MLflow run {run.info.run_id} at {self.uri}")
        return run.info.run_id

    def _note_down(self, error: Exception) -> None:
        first = self.down_since is None
        self.down_since = self.down_since or time.time()
        if self.state is None:
            return
        waiting = len(self.journal.pending())
        since = time.strftime("%H:%M:%S", time.localtime(self.down_since))
        state = "is still starting" if not wait_until_started(0) else f"is not reachable (since {since})"
        self.state.update(
            mlflow_warning=f"MLflow {state}: {waiting} records are kept in {self.journal.path.name} "
            "and will be sent when it answers. Training is not affected."
        )
        if first:
            self.state.log(
                f"MLflow problem: {type(error).__name__}: {str(error).splitlines()[0][:160] if str(error) else ''}"
                " - records are kept locally and retried"
            )

    def _note_up(self) -> None:
        if self.down_since is not None and self.state is not None:
            self.state.update(mlflow_warning="")
            self.state.log(
                f"MLflow is back after {time.time() - self.down_since:.0f} s: the waiting records were sent"
            )
        self.down_since = None


def _leading(ops: list[dict], kind: str):
    for op in ops:
        if op["op"] != kind:
            return
        yield op


def syncer_for(folder: Path, uri: str, state: RunState | None = None) -> Syncer:
    """The one sync thread of a job folder in this process (started again if it had finished)."""
    key = str(Path(folder).resolve())
    with _syncers_lock:
        current = _syncers.get(key)
        if current is None:
            current = _syncers[key] = Syncer(Journal(folder), uri, state)
        elif not current.thread.is_alive():
            current = _syncers[key] = Syncer(current.journal, uri, state or current.state)
        elif state is not None:
            current.state = state
        return current


def sync_journal(folder: Path, tracking_uri: str, wait_s: float = 10.0) -> tuple[bool, int]:
    """Send what a job's journal still holds (after a crash, or a run that ended while MLflow was away).
    Returns (everything sent, records still waiting)."""
    with _syncers_lock:
        if str(Path(folder).resolve()) not in _syncers and not Journal(folder).pending():
            return True, 0
    syncer = syncer_for(folder, tracking_uri)
    syncer.wake()
    done = syncer.flush(wait_s)
    return done, len(syncer.journal.pending())
