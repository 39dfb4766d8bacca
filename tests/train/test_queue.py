"""The queue, for real: each item an ordinary run of the engine (worker process, job folder, MLflow run, evaluation),
run in order; a failed item keeps its reason and the queue goes on; stop after the current run; a restart
re-attaches. Then the queue's runs on one leaderboard (same held-out rows), and the best checkpoint of a run."""

import json
import time
from pathlib import Path

import psutil
import pytest
from mlflow.tracking import MlflowClient

from core.evaluate.checkpoints import best, promote, score_checkpoints
from core.paths import outputs_dir
from core.runstate import Status
from core.sweep import leaderboard
from core.train import Engine
from core.train.jobs import read_job
from core.train.queue import Queue, QueueItem, QueueRunner, update
from tests.conftest import ROOT
from tests.train.test_engine import tiny, wait_for

pytestmark = pytest.mark.slow


SMALL = ROOT / "data" / "test" / "queue_pairs.jsonl"


def scored(**kw):
    """A tiny run evaluated on a few held-out rows (4 of 8 sample pairs), keeping its checkpoints (every 2 steps)."""
    if not SMALL.exists():
        lines = (ROOT / "assets" / "sample_pairs.jsonl").read_text(encoding="utf-8").splitlines()
        SMALL.write_text("\n".join(lines[:8]) + "\n", encoding="utf-8")
    settings = dict(
        data_path=str(SMALL),
        max_steps=4,
        eval_fraction=0.1,
        evaluate_after=True,
        checkpoint_every=2,
        keep_checkpoints=True,
        experiment="queue-tests",
    )
    return tiny(**{**settings, **kw})


@pytest.fixture(autouse=True)
def no_queue_left_behind():
    """A studio started later on this data folder must not find a queue to carry on."""
    yield
    Queue().save()


@pytest.fixture(scope="module")
def ran_queue(mlflow_server, tmp_path_factory):
    missing = tmp_path_factory.mktemp("gone") / "pairs-that-moved.jsonl"
    Queue().save()  # an empty queue: the data folder is shared between test runs
    first = update(lambda q: q.add(scored(run_name="q-first", learning_rate=5e-4))).items[-1]
    broken = update(lambda q: q.add(tiny(run_name="q-broken", data_path=str(missing)))).items[-1]
    last = update(
        lambda q: q.add(scored(run_name="q-last", learning_rate=2e-3, score_checkpoints=True))
    ).items[-1]
    engine = Engine()
    runner = QueueRunner(engine)
    assert runner.start()
    queue = runner.wait(timeout=900)
    return engine, queue, (first.id, broken.id, last.id)


def test_items_run_in_order_and_a_failed_one_keeps_its_reason(ran_queue):
    _, queue, (first, broken, last) = ran_queue
    items = {i.id: i for i in queue.items}
    assert [items[i].status for i in (first, broken, last)] == [
        Status.COMPLETED,
        Status.FAILED,
        Status.COMPLETED,
    ]
    assert "pairs-that-moved.jsonl" in items[broken].message  # the file, named
    assert items[first].finished <= items[last].started  # one after another
    assert not queue.running  # done: nothing left
    for i in (first, last):
        assert items[i].mlflow_run_id and items[i].job_id


def test_the_next_item_of_the_same_base_runs_in_the_same_worker_without_loading_it_again(ran_queue):
    _, queue, (first, _, last) = ran_queue
    items = {i.id: i for i in queue.items}
    folders = [outputs_dir() / items[i].job_id for i in (first, last)]
    pids = [read_job(f)["worker_pid"] for f in folders]
    assert pids[0] == pids[1]  # the first item's worker stayed for the last (the broken one never started)
    assert "still loaded from the previous run" in (folders[1] / "log.txt").read_text(encoding="utf-8")
    assert "loading " in (folders[0] / "log.txt").read_text(encoding="utf-8")
    assert not psutil.pid_exists(pids[0])  # the queue is done: the resident worker is gone, its memory back


def test_the_queues_runs_compare_on_the_same_held_out_rows(ran_queue, mlflow_server):
    _, queue, (first, _, last) = ran_queue
    ids = [i.mlflow_run_id for i in queue.items if i.id in (first, last)]
    rows = leaderboard(run_ids=ids, tracking_uri=mlflow_server)
    assert all(
        r["adapter"] is not None and r["base"] is not None for r in rows
    )  # each evaluated when it ended
    assert all(r["same_rows"] for r in rows)
    assert rows[0]["adapter"] >= rows[1]["adapter"] and rows[0]["best"]
    assert set(rows[0]["settings"]) == {"learning_rate", "score_checkpoints"}


def test_checkpoint_scoring_scores_every_step_and_promotes_the_best(ran_queue, mlflow_server):
    _, queue, (first, _, _) = ran_queue
    run_id = next(i.mlflow_run_id for i in queue.items if i.id == first)
    scores = score_checkpoints(run_id, progress=lambda line: None, tracking_uri=mlflow_server)
    assert [s["step"] for s in scores] == [2, 4]  # checkpoint 2, and the final adapter (= checkpoint 4)
    top = best(scores)
    assert top["exec_accuracy"] == max(s["exec_accuracy"] for s in scores)
    history = MlflowClient(mlflow_server).get_metric_history(run_id, "checkpoint_exec_accuracy")
    assert sorted(m.step for m in history) == [2, 4]
    folder = promote(run_id, 2, tracking_uri=mlflow_server)
    checkpoint = folder.parent / "checkpoints" / "checkpoint-2" / "adapter_model.safetensors"
    assert (folder / "adapter_model.safetensors").read_bytes() == checkpoint.read_bytes()
    assert MlflowClient(mlflow_server).get_run(run_id).data.tags["adapter_step"] == "2"


def test_a_run_that_scores_its_checkpoints_makes_the_best_step_its_adapter(ran_queue, mlflow_server):
    _, queue, (_, _, last) = ran_queue
    item = next(i for i in queue.items if i.id == last)
    folder = outputs_dir() / item.job_id
    scores = json.loads((folder / "checkpoint_scores.json").read_text())
    assert [s["step"] for s in scores] == [2, 4]  # scored by the worker when the evaluation was done
    top = best(scores)
    run = MlflowClient(mlflow_server).get_run(item.mlflow_run_id)
    # the final step's score is the evaluation's, not asked of the model again
    assert scores[-1]["exec_accuracy"] == run.data.metrics["eval_exec_accuracy"]
    assert "checkpoint at step 4" not in (folder / "log.txt").read_text(encoding="utf-8")
    assert run.data.tags["adapter_step"] == str(top["step"])
    assert run.data.metrics["adapter_exec_accuracy"] == top["exec_accuracy"]
    weights = Path(top["path"]) / "adapter_model.safetensors"
    assert (folder / "adapter" / "adapter_model.safetensors").read_bytes() == weights.read_bytes()
    row = next(r for r in leaderboard(run_ids=[item.mlflow_run_id], tracking_uri=mlflow_server))
    assert row["step"] == str(top["step"]) and row["adapter"] == top["exec_accuracy"]


def test_stop_after_the_current_run_leaves_the_rest_queued(mlflow_server):
    Queue().save()
    update(lambda q: [q.add(tiny(max_steps=2, run_name=f"q-stop-{n}")) for n in range(2)])
    runner = QueueRunner(Engine())
    runner.start()
    assert wait_for(lambda: Queue.load().current() is not None, timeout=120)  # the first run has started
    runner.stop_after_current()
    queue = runner.wait(timeout=600)
    assert [i.status for i in queue.items] == [Status.COMPLETED, Status.QUEUED]
    assert not queue.running and not runner.alive


def test_after_a_restart_the_queue_records_the_run_it_was_following_and_goes_on(ran_queue, tmp_path):
    """The studio stopped while an item trained; the job ended meanwhile. A new runner (the restarted studio) finds
    the item's ending in its job folder, then runs the next item."""
    _, queue, (first, _, _) = ran_queue
    job_id = next(i.job_id for i in queue.items if i.id == first)
    moved = tmp_path / "moved.jsonl"
    restarted = Queue(
        [
            QueueItem(scored().to_dict(), status=Status.RUNNING, job_id=job_id, started=time.time()),
            QueueItem(tiny(data_path=str(moved)).to_dict()),
        ],
        running=True,
    )
    restarted.save()
    assert json.loads(Queue.path().read_text())["items"][0]["status"] == "running"
    runner = QueueRunner(Engine())  # a fresh engine: it knows nothing of that job
    runner.start()
    queue = runner.wait(timeout=120)
    assert [i.status for i in queue.items] == [Status.COMPLETED, Status.FAILED]
    assert "moved.jsonl" in queue.items[1].message
