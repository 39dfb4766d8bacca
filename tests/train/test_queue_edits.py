"""Editing the queue (no run): add, move, remove, duplicate with one setting changed, what differs, kept on disk."""

import pytest

from core.config import ConfigError, TrainConfig
from core.runstate import Status
from core.train.queue import Queue, update


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
