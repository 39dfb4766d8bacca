"""Process failures, for real. The training worker is SIGKILLed mid-run: the run ends as "died" with the signal, its
MLflow run is marked KILLED with the reason, and Resume continues it from its last checkpoint in the same MLflow run
with the loss curve continuing at the right step. The studio (here the CLI) is SIGKILLed mid-run: the worker trains
on, and the next studio re-attaches to it (progress, Stop, MLflow) instead of marking it dead."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from core.config import TrainConfig
from core.paths import SAMPLE_SCHEMA, outputs_dir
from core.train.jobs import latest_checkpoint, read_job
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

STEPS, EVERY = 6, 2


def small_pairs(tmp_path, n: int = 40):
    lines = (ROOT / "assets" / "sample_pairs.jsonl").read_text(encoding="utf-8").splitlines()[:n]
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def wait_for(predicate, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def journal_losses(folder) -> list[tuple[int, float]]:
    from core.tracking.journal import Journal

    latest = {
        op["step"]: op["value"] for op in Journal(folder).ops if op["op"] == "metric" and op["key"] == "loss"
    }
    return sorted(latest.items())


def test_killed_worker_dies_with_its_signal_then_resumes_from_its_checkpoint(mlflow_server, tmp_path):
    from mlflow.tracking import MlflowClient

    from app.train_tab import outcome_html
    from core.tracking import metric_history
    from core.tracking.journal import Journal
    from core.train import Engine, resumable_jobs

    engine = Engine()
    job_id = engine.start(
        TrainConfig(
            data_path=str(small_pairs(tmp_path)),
            schema_path=str(SAMPLE_SCHEMA),
            max_steps=STEPS,
            checkpoint_every=EVERY,
            batch_size=1,
            grad_accum=1,
            warmup_steps=1,
            max_seq_length=256,
            eval_fraction=0,
            experiment="tests",
            run_name="killed-mid-run",
        )
    )
    folder = outputs_dir() / job_id
    checkpoint_step = wait_for(lambda: (c := latest_checkpoint(folder)) and c[1], 600, "the first checkpoint")
    os.kill(
        int(read_job(folder)["worker_pid"]), signal.SIGKILL
    )  # no clean-up of any kind: like the OOM killer
    snap = engine.wait(timeout=60)
    killed_at = snap["step"]
    assert snap["status"] == "died" and killed_at < STEPS, snap
    assert "killed (signal 9, SIGKILL)" in snap["error"]
    assert f"resume from its checkpoint at step {checkpoint_step}" in snap["error"]
    assert "killed (signal 9" in outcome_html(snap)
    assert [j["job_id"] for j in resumable_jobs()][:1] == [job_id]  # the Train tab offers Resume
    client = MlflowClient(mlflow_server)
    run_id = Journal(folder).run_id
    run = wait_for(
        lambda: (r := client.get_run(run_id)).info.status == "KILLED" and r, 60, "the run marked KILLED"
    )
    assert run.data.tags["outcome"] == "died" and "signal 9" in run.data.tags["studio.interrupted"]

    resumed_at = time.time() * 1000
    engine.resume(job_id)
    snap = engine.wait(timeout=900)
    assert snap["status"] == "completed", snap["error"]
    assert snap["step"] == STEPS and snap["mlflow_run_id"] == run_id  # the same MLflow run continues
    run = wait_for(lambda: (r := client.get_run(run_id)).info.status == "FINISHED" and r, 60, "the run's end")
    assert run.data.tags["studio.resumed_from_step"] == str(checkpoint_step)
    raw = client.get_metric_history(run_id, "loss")
    after = sorted(m.step for m in raw if m.timestamp >= resumed_at)
    assert after == list(range(checkpoint_step + 1, STEPS + 1))  # continues right after the checkpoint
    assert [s for s, _ in metric_history(run_id, "loss", mlflow_server)] == list(range(1, STEPS + 1))
    assert (folder / "adapter" / "adapter_model.safetensors").exists()
    assert not (folder / "checkpoints").exists()  # done: checkpoints are removed, the adapter is kept


def test_restarted_studio_reattaches_to_the_running_worker(mlflow_server, tmp_path):
    import psutil
    from mlflow.tracking import MlflowClient

    from core.train import Engine

    log = tmp_path / "cli.log"
    command = [
        sys.executable,
        "-m",
        "core",
        "train",
        str(small_pairs(tmp_path)),
        "--schema",
        str(SAMPLE_SCHEMA),
        "--steps",
        "200",
        "--checkpoint-every",
        "0",
        "--batch-size",
        "1",
        "--grad-accum",
        "1",
        "--warmup-steps",
        "1",
        "--max-seq-length",
        "256",
        "--eval-fraction",
        "0",
        "--experiment",
        "tests",
        "--run-name",
        "studio-killed",
    ]
    with open(log, "wb") as out:
        studio = subprocess.Popen(
            command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ)
        )
    try:
        job_id = wait_for(
            lambda: (m := re.search(r"^job (\S+): training", log.read_text(), re.M)) and m.group(1),
            300,
            "the CLI to start a job",
        )
        folder = outputs_dir() / job_id
        wait_for(lambda: len(journal_losses(folder)) >= 1, 600, "the first step")
    finally:
        studio.send_signal(signal.SIGKILL)  # the studio dies; its worker does not
        studio.wait(timeout=30)
    worker = psutil.Process(int(read_job(folder)["worker_pid"]))
    assert worker.is_running() and read_job(folder)["status"] == "running", log.read_text()[-2000:]

    engine = Engine()  # the next start (the app does this at launch, the CLI before it trains)
    assert engine.recover(mlflow_server) == []  # nothing died
    snap = engine.snapshot()
    assert snap["job_id"] == job_id and snap["status"] in ("running", "starting")
    seen = wait_for(lambda: engine.snapshot()["step"], 120, "the progress of the re-attached worker")
    wait_for(lambda: engine.snapshot()["step"] > seen, 300, "a further step")
    assert engine.stop()
    snap = engine.wait(timeout=300)
    assert snap["status"] == "stopped" and (folder / "adapter" / "adapter_model.safetensors").exists(), snap
    assert not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE
    client = MlflowClient(mlflow_server)
    run = wait_for(
        lambda: (r := client.get_run(snap["mlflow_run_id"])).info.status == "FINISHED" and r,
        60,
        "the run's end in MLflow",
    )
    history = sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, "loss"))
    assert history == journal_losses(folder)  # every step reached MLflow, through both studios


def test_the_studio_and_the_worker_can_write_the_job_file_at_the_same_time(tmp_path):
    """Both rewrite job.json (the worker its pid as it starts, the studio the status): once, the worker's rename found
    its temp file taken by the studio's, and a run failed before its first step. No write may fail or lose a field."""
    import threading

    from core.train.jobs import write_job

    code = (
        "import sys; from core.train.jobs import write_job\n"
        "for i in range(150): write_job(sys.argv[1], **{f'worker_{i}': i})"
    )
    worker = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT)
    errors = []

    def studio(name):
        try:
            for i in range(150):
                write_job(tmp_path, **{f"{name}_{i}": i})
        except OSError as e:
            errors.append(e)

    threads = [threading.Thread(target=studio, args=(name,)) for name in ("engine", "watcher")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert worker.wait(timeout=120) == 0 and not errors
    job = read_job(tmp_path)
    assert {f"{who}_{i}" for who in ("worker", "engine", "watcher") for i in range(150)} <= set(job)
