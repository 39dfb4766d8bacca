"""The MLflow run of one training job, written through the job's journal (core.tracking.journal) by a sync thread.

The training thread calls `log_metric`, `log_params`, ... which only append to the journal and return at once.
A daemon thread sends what is pending to MLflow with the client API (explicit run id, so no thread-local
active run), in order, batching metric points. When the server is down at the start, dies mid-run or is slow,
training is not affected: the thread retries with a back-off, `state.mlflow_warning` says honestly how many
records are waiting, and once the server answers again everything is sent with its original step and time.
When the run ends with MLflow still away, the records stay in the journal and `core.tracking.sync.sync_journal` sends
them later (the thread keeps trying while the process lives; the app and the CLI also try at their next start).
"""

import json
from pathlib import Path

from core.redact import redact, redact_values
from core.runstate import RunState
from core.tracking.journal import Journal
from core.tracking.sync import syncer_for

CLOSE_WAIT_S = 20.0  # how long the end of a run waits for MLflow before leaving the rest to the background


class NullRun:
    """Stands in before the run is opened (a job that fails while loading its data): every call does nothing."""

    active = False
    run_id = ""

    def __getattr__(self, name):
        return lambda *args, **kwargs: True


class TrackedRun:
    """What the trainer logs to. Every call returns at once; MLflow gets it when it can."""

    active = True

    def __init__(self, folder: Path, state: RunState, tracking_uri: str, send: bool = True):
        """`send=False` only journals: the training worker process leaves the sending to the studio watching it."""
        self.folder, self.uri, self.state, self.send = Path(folder), tracking_uri, state, send
        self.journal = syncer_for(folder, tracking_uri, state).journal if send else Journal(folder)
        if self.journal.run_id:  # a resumed job: the chart follows the same MLflow run
            state.update(mlflow_run_id=self.journal.run_id, tracking_uri=tracking_uri)

    def _wake(self):
        if not self.send:
            return None
        syncer = syncer_for(self.folder, self.uri, self.state)  # restarts a sync thread that had finished
        syncer.wake()
        return syncer

    @property
    def run_id(self) -> str:
        return self.journal.run_id

    def open(self, experiment: str, run_name: str, tags: dict | None = None) -> None:
        """Create the run (when MLflow answers); `tags` are set as it is created (a sweep's parent run id)."""
        self.journal.append("open", experiment=experiment, run_name=run_name, tags=tags or {})
        self._wake()

    def reopen(self, from_step: int) -> None:
        """Continue the same MLflow run after a restart: status back to RUNNING, the resume step as a tag."""
        self.journal.append("reopen")
        self.set_tags({"studio.resumed_from_step": from_step, "outcome": "resumed"})

    def log_params(self, params: dict) -> None:
        clean = {k: (", ".join(v) if isinstance(v, list) else v) for k, v in params.items()}
        self.journal.append("params", values={k: str(v)[:6000] for k, v in redact_values(clean).items()})
        self._wake()

    def set_tags(self, tags: dict) -> None:
        self.journal.append("tags", values={k: str(v)[:5000] for k, v in redact_values(tags).items()})
        self._wake()

    def log_metric(self, key: str, value: float, step: int) -> None:
        self.journal.append("metric", key=key, value=float(value), step=int(step))
        self._wake()

    def log_dict(self, data: dict, name: str) -> None:

        self.log_text(json.dumps(data, indent=1, default=str), name)

    def log_text(self, text: str, name: str) -> None:
        self.journal.append("text", name=name, text=redact(text))
        self._wake()

    def log_artifacts(self, folder, path: str) -> None:
        self.journal.append("artifacts", folder=str(folder), path=path)
        self._wake()

    def flush(self, wait_s: float) -> bool:
        """Wait up to wait_s for MLflow to have everything journalled so far. True when it has."""
        syncer = self._wake()
        return syncer.flush(wait_s) if syncer else True

    def close(self, status: str, wait_s: float = CLOSE_WAIT_S) -> bool:
        """End the run (FINISHED, FAILED, KILLED). True when MLflow has everything; else it follows later."""
        self.journal.append("end", status=status)
        syncer = self._wake()
        return syncer.flush(wait_s) if syncer else True
