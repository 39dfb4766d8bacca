"""The queue: several runs planned, then run one after another on this machine, unattended.

    queue = Queue.load()                   # kept in the data folder (queue.json): a restart finds it
    queue.add(cfg)                          # the form as it is
    queue.duplicate(item_id, "learning_rate", 1e-3)   # the same with one field changed
    QueueRunner(engine).start()             # runs every queued item as an ordinary run, in a thread
    runner.stop_after_current() / runner.stop_now()
    QueueRunner(engine).start(parallel=2)   # on a host with several GPUs: two items at a time, one GPU each

Side by side (`parallel` N > 1, kept in the queue file): each item runs on GPUs of its own (CUDA_VISIBLE_DEVICES; an
item of `gpus` G takes G of them, a DDP run), through an engine of its own, as soon as enough GPUs are free; items
still start in the queue's order.

Each item is an ordinary run (the engine's worker process, job folder, MLflow run, evaluation when it ends); a failed
item keeps its reason and the queue goes on. The runner writes the queue file after every change, so a studio that
restarts re-attaches: the engine re-attaches to a worker still training (or marks it died), and the runner waits for
that item, then goes on with the next.
"""

import json
import os
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from core.config import ConfigError, TrainConfig
from core.files import locked, write_atomic
from core.paths import data_dir, outputs_dir
from core.runstate import ACTIVE, FINISHED, Status
from core.train import supervisor
from core.train.engine import Engine
from core.train.gpus import gpu_count
from core.train.jobs import read_job

QUEUE_FILE = "queue.json"
POLL_S = 1.0
_lock = threading.Lock()  # this process's one runner (get_queue_runner)


@dataclass
class QueueItem:
    config: dict
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    status: str = Status.QUEUED
    job_id: str = ""
    mlflow_run_id: str = ""
    message: str = ""
    sweep: str = ""  # the sweep (a parent MLflow run) it belongs to, if any
    started: float = 0.0
    finished: float = 0.0

    @property
    def cfg(self) -> TrainConfig:
        return TrainConfig.from_dict(self.config)


@dataclass
class Queue:
    items: list[QueueItem] = field(default_factory=list)
    running: bool = False  # "Run all" was pressed and the queue is not done
    stop_after_current: bool = False
    parallel: int = 1  # items run side by side, one GPU each (a restart goes on the same way)

    # ---- kept in the data folder ----
    @staticmethod
    def path() -> Path:
        return data_dir() / QUEUE_FILE

    @classmethod
    def load(cls) -> "Queue":
        try:
            data = json.loads(cls.path().read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError):  # damaged: kept aside (nothing is lost), and the queue starts empty
            with locked(cls.path()):
                cls.path().replace(
                    cls.path().with_name(f"queue.damaged-{time.strftime('%Y%m%d-%H%M%S')}.json")
                )
            return cls()
        known = {f.name for f in fields(QueueItem)}
        items = [QueueItem(**{k: v for k, v in item.items() if k in known}) for item in data.get("items", [])]
        return cls(
            items,
            bool(data.get("running")),
            bool(data.get("stop_after_current")),
            max(1, int(data.get("parallel") or 1)),
        )

    def save(self) -> None:
        """Write the queue whole (a job's database URL may be in a config: the file is the owner's only). A change
        of what is there goes through `update`, which holds the lock from the load to the save."""
        data = {
            "items": [asdict(i) for i in self.items],
            "running": self.running,
            "stop_after_current": self.stop_after_current,
            "parallel": self.parallel,
        }
        with locked(self.path()):
            write_atomic(self.path(), json.dumps(data, indent=1), mode=0o600)

    # ---- editing ----
    def item(self, item_id: str) -> QueueItem:
        found = next((i for i in self.items if i.id == item_id), None)
        if found is None:
            raise ValueError(
                f"No queue item {item_id!r}: the queue has {', '.join(i.id for i in self.items)}."
            )
        return found

    def add(self, cfg: TrainConfig, sweep: str = "") -> QueueItem:
        item = QueueItem(cfg.to_dict(), sweep=sweep)
        self.items.append(item)
        return item

    def remove(self, item_id: str) -> None:
        item = self.item(item_id)
        if item.status in ACTIVE:
            raise ValueError("This item is training now: stop it first.")
        self.items.remove(item)

    def move(self, item_id: str, by: int) -> None:
        item = self.item(item_id)
        at = self.items.index(item)
        to = min(max(at + by, 0), len(self.items) - 1)
        self.items.insert(to, self.items.pop(at))

    def duplicate(self, item_id: str, name: str, value) -> QueueItem:
        """A copy of an item with one setting changed (checked against its bounds)."""
        source = self.item(item_id)
        if name not in TrainConfig.__dataclass_fields__:
            raise ConfigError({name: "no such setting"})
        cfg = TrainConfig.from_dict({**source.config, name: TrainConfig.coerce(name, value)})
        copy = QueueItem(cfg.to_dict(), sweep=source.sweep)
        self.items.insert(self.items.index(source) + 1, copy)
        return copy

    def differing(self, item: QueueItem) -> dict:
        """The settings of an item that differ from the first item's (what tells the items apart)."""
        first = self.items[0].config if self.items else {}
        return {k: v for k, v in item.config.items() if first.get(k) != v and k not in ("run_name",)}

    def next_queued(self) -> QueueItem | None:
        return next((i for i in self.items if i.status == Status.QUEUED), None)

    def current(self) -> QueueItem | None:
        return next((i for i in self.items if i.status in ACTIVE), None)


def update(change) -> Queue:
    """Load the queue, apply `change(queue)`, save it, under the queue file's lock: the runner's thread, the page's
    buttons and a `core sweep` in another process each change it this way, and none loses another's change."""
    with locked(Queue.path()):
        queue = Queue.load()
        change(queue)
        queue.save()
    return queue


class QueueRunner:
    """Runs the queued items one after another with an engine, in a thread of this process."""

    def __init__(self, engine):
        self.engine = engine
        self._thread: threading.Thread | None = None
        self._lanes: dict[str, Lane] = {}  # side by side: item id -> its run

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, parallel: int | None = None) -> bool:
        """Run all: starts the thread (False when it already runs). `parallel`: how many items run side by side, one
        GPU each (ValueError when the machine has fewer GPUs); None keeps the queue's setting."""
        if self.alive:
            return False
        if parallel is not None:
            check_parallel(parallel)
        update(
            lambda q: (
                setattr(q, "running", True),
                setattr(q, "stop_after_current", False),
                setattr(q, "parallel", parallel if parallel is not None else q.parallel),
            )
        )
        self._thread = threading.Thread(target=self._run, name="queue", daemon=True)
        self._thread.start()
        return True

    def stop_after_current(self) -> None:
        update(lambda q: setattr(q, "stop_after_current", True))

    def stop_now(self) -> None:
        """End the current run at once (its checkpoint stays resumable) and run nothing more."""
        self.stop_after_current()
        self.engine.stop_now()
        for lane in list(self._lanes.values()):
            if lane.engine is not None:
                lane.engine.stop_now()

    def wait(self, timeout: float | None = None) -> Queue:
        if self._thread is not None:
            self._thread.join(timeout)
        return Queue.load()

    def _run(self) -> None:
        if (slots := Queue.load().parallel) > 1:
            self._run_side_by_side(slots)
            return
        while True:
            queue = Queue.load()
            current = queue.current()
            if current is not None:  # re-attached after a restart, or started by the loop below
                self._follow(current)
                continue
            item = queue.next_queued()
            if item is None or queue.stop_after_current or not queue.running:
                update(lambda q: setattr(q, "running", False))
                supervisor.release_resident()  # the queue is done: its worker's memory goes back
                return
            if self.engine.snapshot()["status"] in ACTIVE:  # a run started by hand: the queue waits for it
                time.sleep(POLL_S)
                continue
            self._launch(item, keep_worker=_next_has_same_base(queue, item))

    def _run_side_by_side(self, slots: int) -> None:
        free = set(range(slots))
        for item in Queue.load().items:  # running before a restart: their GPUs stay taken until they end
            if item.status in ACTIVE and item.job_id:
                devices = tuple((read_job(outputs_dir() / item.job_id) or {}).get("devices") or ())
                self._lanes[item.id] = Lane(None, devices, item.job_id, item.status)
                free -= set(devices)
        while _side_by_side_step(self, slots, free):
            time.sleep(POLL_S)
        update(lambda q: setattr(q, "running", False))

    def _launch(self, item: QueueItem, keep_worker: bool = False) -> None:
        try:
            cfg = item.cfg
            job_id = self.engine.start(cfg, keep_worker=keep_worker)
        except Exception as e:  # noqa: BLE001 - a bad item is reported on the item; the queue goes on
            message = str(e) or type(e).__name__
            _set(item.id, status=Status.FAILED, message=f"Not started: {message}", finished=time.time())
            return
        _set(item.id, status=Status.STARTING, job_id=job_id, started=time.time())

    def _follow(self, item: QueueItem) -> None:
        """Wait for the item's run to end (the engine's, or a job another process re-attached), then record it."""
        while True:
            snap = self.engine.snapshot()
            if snap["job_id"] == item.job_id and snap["status"] in FINISHED:
                _set(
                    item.id,
                    status=snap["status"],
                    message=snap["message"] or snap["error"],
                    mlflow_run_id=snap["mlflow_run_id"],
                    finished=time.time(),
                )
                return
            if (
                snap["job_id"] != item.job_id
            ):  # the studio restarted: the engine knows the job from its folder
                ended = _job_ending(item.job_id)
                if ended is not None:
                    _set(item.id, **ended, finished=time.time())
                    return
            elif snap["status"] in ACTIVE:
                _set(item.id, status=snap["status"], mlflow_run_id=snap["mlflow_run_id"])
            time.sleep(POLL_S)


@dataclass
class Lane:
    """An item running side by side with others: its engine (None: a run re-attached after a restart, followed
    through its job folder), its GPUs, its job, the status last recorded."""

    engine: object | None
    devices: tuple[int, ...]
    job_id: str
    status: str = Status.STARTING


def check_parallel(parallel: int) -> None:
    """Side by side needs a GPU per item (STUDIO_CPU_DDP=1 lets CPU processes stand in for GPUs, for the tests)."""
    if parallel <= 1:
        return
    found = gpu_count()
    if parallel > found and os.environ.get("STUDIO_CPU_DDP") != "1":
        raise ValueError(
            f"{parallel} runs side by side need {parallel} GPUs; this machine has {found}. Set it to "
            f"{max(found, 1)} or fewer."
        )


def _side_by_side_step(runner: "QueueRunner", slots: int, free: set) -> bool:
    """One turn of the side-by-side loop: record the lanes that ended, start the next item when its GPUs are free.
    False when the queue is done (nothing running, nothing more to start)."""
    for item_id, lane in list(runner._lanes.items()):
        snap = lane.engine.snapshot() if lane.engine is not None else None
        if snap is not None and snap["job_id"] == lane.job_id and snap["status"] in FINISHED:
            ended = {"status": snap["status"], "message": snap["message"] or snap["error"]}
            ended["mlflow_run_id"] = snap["mlflow_run_id"]
        else:
            ended = _job_ending(lane.job_id) if snap is None else None
        if ended is not None:
            _set(item_id, **ended, finished=time.time())
            free |= set(lane.devices)
            del runner._lanes[item_id]
        elif snap is not None and snap["status"] != lane.status and snap["status"] in ACTIVE:
            lane.status = snap["status"]
            _set(item_id, status=snap["status"], mlflow_run_id=snap["mlflow_run_id"])
    queue = Queue.load()
    item = queue.next_queued()
    if item is None or queue.stop_after_current or not queue.running:
        return bool(runner._lanes)
    try:
        need = min(item.cfg.gpus or slots, slots)  # gpus 0 = all: all of the queue's GPUs
    except ConfigError:
        need = 1  # a damaged item: it fails when it starts, with its reason
    if need > len(free):
        return True
    devices = tuple(sorted(free)[:need])
    engine = Engine(devices=devices)
    try:
        job_id = engine.start(item.cfg)
    except Exception as e:  # noqa: BLE001 - a bad item is reported on the item; the queue goes on
        _set(
            item.id,
            status=Status.FAILED,
            message=f"Not started: {e or type(e).__name__}",
            finished=time.time(),
        )
        return True
    free -= set(devices)
    runner._lanes[item.id] = Lane(engine, devices, job_id)
    _set(item.id, status=Status.STARTING, job_id=job_id, started=time.time())
    return True


def same_base(a: TrainConfig, b: TrainConfig) -> bool:
    """Two runs a resident worker can run one after the other without loading the base again."""
    return (a.model, a.load_in_4bit, a.trust_remote_code, a.gpus) == (
        b.model,
        b.load_in_4bit,
        b.trust_remote_code,
        b.gpus,
    )


def _next_has_same_base(queue: Queue, item: QueueItem) -> bool:
    """Whether the item's worker should stay when it ends: the item queued after it uses the same base model."""
    later = [i for i in queue.items if i.status == Status.QUEUED and i.id != item.id]
    try:
        return bool(later) and not queue.stop_after_current and same_base(item.cfg, later[0].cfg)
    except ConfigError:  # a damaged item: it will fail on its own
        return False


def _set(item_id: str, **changes) -> None:
    def change(queue: Queue) -> None:
        item = next((i for i in queue.items if i.id == item_id), None)
        if item is not None:
            for key, value in changes.items():
                setattr(item, key, value)

    update(change)


def _job_ending(job_id: str) -> dict | None:
    """How a job ended, from its folder (None while it runs)."""

    folder = outputs_dir() / job_id
    if not folder.is_dir():
        return {"status": Status.FAILED, "message": f"Its job folder {folder.name} is gone."}
    job = read_job(folder) or {}
    if job.get("status") in FINISHED:
        return {"status": job["status"], "message": job.get("message") or job.get("error", "")}
    return None


_runner: QueueRunner | None = None


def get_queue_runner(engine) -> QueueRunner:
    """This process's queue runner (one queue per data folder, one runner per process)."""
    global _runner
    with _lock:
        if _runner is None or _runner.engine is not engine:
            _runner = QueueRunner(engine)
        return _runner
