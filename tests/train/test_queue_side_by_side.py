"""A queue's runs side by side, one device each (issue 26, item 6): on a CPU machine STUDIO_CPU_DDP=1 lets CPU
worker processes stand in for GPUs, so the same code path runs here: each item on a device of its own
(CUDA_VISIBLE_DEVICES in its worker), both at once, and a run of all the devices refused meanwhile."""

import json

import pytest

from core.compute import BusyError
from core.paths import outputs_dir
from core.runstate import Status
from core.train import Engine
from core.train.queue import Queue, QueueRunner, check_parallel, update
from tests.train.test_engine import tiny, wait_for

pytestmark = pytest.mark.slow


def test_more_side_by_side_than_gpus_is_refused_with_the_count(monkeypatch):
    monkeypatch.delenv("STUDIO_CPU_DDP", raising=False)
    with pytest.raises(ValueError, match="2 runs side by side need 2 GPUs; this machine has 0"):
        check_parallel(2)


def test_two_items_run_at_once_each_on_a_device_of_its_own(mlflow_server, monkeypatch):
    monkeypatch.setenv("STUDIO_CPU_DDP", "1")
    Queue().save()
    update(lambda q: [q.add(tiny(max_steps=3, run_name=f"side-{n}")) for n in range(2)])
    runner = QueueRunner(Engine())
    assert runner.start(parallel=2)
    assert wait_for(lambda: sum(i.status == Status.RUNNING for i in Queue.load().items) == 2, timeout=300)
    with pytest.raises(BusyError):  # a run of every device waits for the runs side by side
        Engine().start(tiny(max_steps=1))
    queue = runner.wait(timeout=600)
    Queue().save()
    assert [i.status for i in queue.items] == [Status.COMPLETED, Status.COMPLETED]
    first, second = queue.items
    assert second.started < first.finished and first.started < second.finished  # at the same time
    seen = [
        json.loads((outputs_dir() / i.job_id / "rank-0.json").read_text())["devices"] for i in queue.items
    ]
    assert sorted(seen) == ["0", "1"]  # each worker saw its own device only
    assert not queue.running and queue.parallel == 2
