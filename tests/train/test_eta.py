"""The ETA counts from the first step this process trained: loading the model is no training time, and after a
Resume the steps before the checkpoint were trained by another process, at another time."""

import threading
import time
from types import SimpleNamespace

import pytest

from core.runstate import RunState
from core.train.callbacks import make_progress_callback
from core.train.progress import JobFollower, MirroredState


def test_after_a_resume_the_eta_is_paced_by_the_steps_this_process_trained():
    now = time.time()
    # resumed from the checkpoint at step 50 of 100, 20 s ago: 10 s of loading, then 10 steps in 10 s
    state = RunState(status="running", started_at=now - 20, step=60, total_steps=100)
    state.pace_from(50)
    state.paced_from = now - 10
    assert state.snapshot()["eta"] == pytest.approx(
        40, abs=1
    )  # 40 steps left at 1 s a step (elapsed / step: 13 s)
    state.pace_from(55)  # the first mark of a run counts; a later one changes nothing
    assert state.snapshot()["eta"] == pytest.approx(40, abs=1)
    assert (
        RunState(status="running", step=60, total_steps=100).snapshot()["eta"] is None
    )  # not begun: no pace


def test_the_worker_marks_its_first_step_and_the_studio_follows_it(tmp_path):
    worker = MirroredState(status="running", started_at=time.time() - 30, total_steps=100).mirror_to(tmp_path)
    stop = threading.Event()
    callback = make_progress_callback(worker, stop, SimpleNamespace(log_metric=lambda *a: None))
    trainer = SimpleNamespace(global_step=50, max_steps=100, epoch=0.5, num_input_tokens_seen=0)
    callback.on_train_begin(None, trainer, SimpleNamespace())  # resumed from the checkpoint at step 50
    time.sleep(0.3)  # the skipped batches, still no training
    callback.on_step_begin(None, trainer, SimpleNamespace())
    began = time.time()
    for _ in range(10):
        trainer.global_step += 1
        callback.on_step_end(None, trainer, SimpleNamespace(should_training_stop=False))
        callback.on_step_begin(None, trainer, SimpleNamespace())
    worker.save()
    assert (worker.paced_from_step, worker.paced_from) == (50, pytest.approx(began, abs=0.05))
    studio = RunState(status="running", started_at=time.time() - 5, total_steps=100)
    JobFollower(tmp_path, studio).poll()
    snap = studio.snapshot()
    assert snap["step"] == 60 and snap["paced_from_step"] == 50
    per_step = (time.time() - worker.paced_from) / 10
    assert snap["eta"] == pytest.approx(40 * per_step, rel=0.5)  # no loading, no checkpoint steps in the pace
    assert snap["eta"] < 5  # elapsed over the step counted 30 s of loading: 30 / 60 x 40 = 20 s
