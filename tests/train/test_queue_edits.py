"""Editing the queue (no run): add, move, remove, duplicate with one setting changed, what differs, kept on disk;
writers in several threads and processes at once."""

import os
import subprocess
import sys
import threading

import pytest

from core.config import ConfigError, TrainConfig
from core.runstate import Status
from core.train.queue import Queue, update
from tests.conftest import ROOT


@pytest.fixture
def queue(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path))
    Queue().save()
    return update(lambda q: [q.add(TrainConfig(run_name=n)) for n in ("a", "b", "c")])


def test_move_remove_and_duplicate_are_kept_on_disk(queue):
    a, b, c = (i.id for i in queue.items)
    update(lambda q: q.move(c, -1))
    update(lambda q: q.move(a, -1))  # already first: stays
    assert [i.id for i in Queue.load().items] == [a, c, b]
    copy = update(lambda q: q.duplicate(c, "learning_rate", "2e-3")).items[2]
    assert copy.cfg.learning_rate == 2e-3 and copy.cfg.run_name == "c" and copy.status == Status.QUEUED
    loaded = Queue.load()
    assert loaded.differing(copy) == {"learning_rate": 2e-3}  # the run name never counts as a difference
    update(lambda q: q.remove(b))
    assert [i.id for i in Queue.load().items] == [a, c, copy.id]
    assert oct(Queue.path().stat().st_mode & 0o777) == "0o600"  # a config may hold a database URL


def test_bad_edits_say_what_is_wrong(queue):
    first = queue.items[0].id
    with pytest.raises(ConfigError, match="no such setting"):
        update(lambda q: q.duplicate(first, "speed", 3))
    with pytest.raises(ConfigError):
        update(lambda q: q.duplicate(first, "rank", 0))  # out of bounds
    with pytest.raises(ValueError, match="No queue item 'nope'"):
        update(lambda q: q.remove("nope"))
    update(lambda q: setattr(q.items[0], "status", Status.RUNNING))
    with pytest.raises(ValueError, match="stop it first"):
        update(lambda q: q.remove(first))


def test_a_damaged_queue_file_is_kept_aside_and_the_queue_starts_empty(queue):
    Queue.path().write_text("{not json", encoding="utf-8")
    assert Queue.load().items == []
    kept = list(Queue.path().parent.glob("queue.damaged-*.json"))
    assert len(kept) == 1 and kept[0].read_text(encoding="utf-8") == "{not json"


ADD_50 = """
import sys
from core.config import TrainConfig
from core.train.queue import update
for n in range(50):
    update(lambda q: q.add(TrainConfig(run_name=f"{sys.argv[1]}-{n}")))
"""


def test_two_processes_and_two_threads_adding_at_once_lose_nothing(tmp_path, monkeypatch):
    """The runner's thread, the page's buttons and a `core sweep` in a terminal all change queue.json: each change
    is a load, an edit and a save under one cross-process lock, so none is lost; and the file (a config may hold a
    database URL) is never readable by others, not even as a temporary file."""
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path))
    umask = os.umask(0o022)  # the usual one: a file created without a mode of its own is readable by all
    try:
        Queue().save()
        readable, done = [], threading.Event()

        def watch():  # every queue file that ever shows up in the folder, temporary ones included
            while not done.is_set():
                for path in tmp_path.iterdir():
                    if "queue.json" in path.name and not path.name.endswith(".lock"):
                        try:
                            if path.stat().st_mode & 0o077:
                                readable.append(path.name)
                        except FileNotFoundError:
                            pass  # renamed meanwhile

        def add_50(who: str):
            for n in range(50):
                update(lambda q, n=n: q.add(TrainConfig(run_name=f"{who}-{n}")))

        watcher = threading.Thread(target=watch)
        watcher.start()
        others = [
            subprocess.Popen([sys.executable, "-c", ADD_50, f"process{i}"], cwd=ROOT, env=dict(os.environ))
            for i in (1, 2)
        ]
        threads = [threading.Thread(target=add_50, args=(f"thread{i}",)) for i in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [other.wait(timeout=300) for other in others] == [0, 0]
        done.set()
        watcher.join()
    finally:
        os.umask(umask)
    names = sorted(item.config["run_name"] for item in Queue.load().items)
    who = ("process1", "process2", "thread1", "thread2")
    assert names == sorted(f"{w}-{n}" for w in who for n in range(50))
    assert not readable, readable[:5]
    assert Queue.path().stat().st_mode & 0o777 == 0o600
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # no temporary file left
