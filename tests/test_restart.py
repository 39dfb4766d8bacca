"""Process restart, for real: `python -m core train` is SIGKILLed mid-run; the next start marks its MLflow run
KILLED (with the reason), the Train tab says so, and the job resumes from its last checkpoint into the same MLflow
run with the loss curve continuing at the right step."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest

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


def test_killed_cli_run_is_marked_killed_then_resumes_from_its_checkpoint(mlflow_server, tmp_path):
    from mlflow.tracking import MlflowClient

    from app.train_tab import interrupted_html
    from core.tracking import metric_history
    from core.tracking.journal import Journal
    from core.train import Engine

    log = tmp_path / "cli.log"
    command = [sys.executable, "-m", "core", "train", str(small_pairs(tmp_path)), "--schema", str(SAMPLE_SCHEMA),
               "--steps", str(STEPS), "--checkpoint-every", str(EVERY), "--batch-size", "1", "--grad-accum", "1",
               "--warmup-steps", "1", "--max-seq-length", "256", "--eval-fraction", "0", "--experiment", "tests",
               "--run-name", "killed-mid-run"]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
    try:
        job_id = wait_for(lambda: (m := re.search(r"^job (\S+): training", log.read_text(), re.M)) and m.group(1),
                          300, "the CLI to start a job")
        folder = outputs_dir() / job_id
        wait_for(lambda: latest_checkpoint(folder), 600, "the first checkpoint")
    finally:
        process.send_signal(signal.SIGKILL)  # no clean-up of any kind: like a crash or `kill -9`
        process.wait(timeout=30)
    killed_at = Journal(folder).last_step()
    checkpoint_step = latest_checkpoint(folder)[1]
    assert read_job(folder)["status"] == "running" and killed_at < STEPS, log.read_text()[-2000:]
    client = MlflowClient(mlflow_server)
    run_id = Journal(folder).run_id
    assert client.get_run(run_id).info.status == "RUNNING"  # nobody told MLflow: it would stay RUNNING forever

    engine = Engine()  # the next start (the app does this at launch, the CLI before it trains)
    found = [i for i in engine.recover(mlflow_server) if i.job_id == job_id]
    assert found and found[0].checkpoint_step == checkpoint_step and found[0].run_id == run_id
    run = client.get_run(run_id)
    assert run.info.status == "KILLED" and run.data.tags["outcome"] == "killed"
    assert f"at step {killed_at} of {STEPS}" in run.data.tags["studio.interrupted"]
    assert f"resume from its checkpoint at step {checkpoint_step}" in run.data.tags["studio.interrupted"]
    shown = interrupted_html(engine)
    assert "stopped (killed or crashed)" in shown and "Resume the interrupted run" in shown
    assert engine.recover(mlflow_server) == []  # marked once, not again

    resumed_at = time.time() * 1000
    engine.resume(job_id)
    snap = engine.wait(timeout=900)
    assert snap["status"] == "completed", snap["error"]
    assert snap["step"] == STEPS and snap["mlflow_run_id"] == run_id  # the same MLflow run continues
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.tags["studio.resumed_from_step"] == str(checkpoint_step)
    raw = client.get_metric_history(run_id, "loss")
    after = sorted(m.step for m in raw if m.timestamp >= resumed_at)
    assert after == list(range(checkpoint_step + 1, STEPS + 1))  # continues right after the checkpoint
    assert [s for s, _ in metric_history(run_id, "loss", mlflow_server)] == list(range(1, STEPS + 1))
    assert (folder / "adapter" / "adapter_model.safetensors").exists()
    assert not (folder / "checkpoints").exists()  # done: checkpoints are removed, the adapter is kept
    assert engine.interrupted == []
