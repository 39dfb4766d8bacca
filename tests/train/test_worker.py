"""Training in a worker process: "Stop now", a worker that fails before it can report, a studio process that never
imports torch, an unwatched worker stopping itself, and one run over two processes through torchrun (DDP, gloo)."""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from core.paths import data_dir
from core.train.jobs import read_job
from core.train.progress import STOP_FILE, WATCH_FILE, StopRequest, request_stop
from core.train.supervisor import GRACE_S, _relevant, _remove_orphan_logs
from tests.conftest import ROOT, free_port
from tests.train.test_engine import tiny, wait_for


def test_an_unwatched_worker_stops_itself_and_a_stop_request_is_seen(tmp_path):
    stop = StopRequest(tmp_path, limit_s=60)
    assert not stop.is_set()
    stale = time.time() - 120
    os.utime(tmp_path / WATCH_FILE, (stale, stale))  # no studio has touched it for two minutes
    stop._checked_at = 0.0
    assert stop.is_set() and "no studio has watched this job for 12" in stop.reason
    other = tmp_path / "other"
    other.mkdir()
    asked = StopRequest(other, limit_s=60)
    request_stop(other)
    asked._checked_at = 0.0
    assert (other / STOP_FILE).exists() and asked.is_set() and asked.reason == "asked"


@pytest.mark.slow
def test_stop_now_ends_the_worker_within_the_grace_period(mlflow_server):
    import psutil

    from core.train import Engine

    engine = Engine()
    job_id = engine.start(tiny(max_steps=300, run_name="stop-now", checkpoint_every=0))
    assert wait_for(lambda: engine.snapshot()["step"] >= 1, 600), engine.snapshot()
    folder = ROOT / engine.snapshot()["output_dir"]
    worker = psutil.Process(int(read_job(folder)["worker_pid"]))
    assert engine.stop() and engine.snapshot()["status"] == "stopping"
    asked = time.time()
    assert engine.stop_now()
    snap = engine.wait(timeout=GRACE_S + 30)
    assert time.time() - asked < GRACE_S + 3, "the worker outlived its grace period"
    assert snap["status"] == "died" and "Stop now" in snap["error"] and snap["job_id"] == job_id
    assert not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE
    assert read_job(folder)["status"] == "died"


@pytest.mark.slow
def test_a_worker_that_fails_before_it_can_report_fails_with_its_message(
    tmp_path, monkeypatch, mlflow_server
):
    from core.train import Engine

    fake = tmp_path / "site" / "sqlglot"  # shadows the real sqlglot in the worker: its first import fails
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('raise ImportError("sqlglot is broken in this environment (test)")\n')
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))
    engine = Engine()
    engine.start(tiny(run_name="import-fails"))
    snap = engine.wait(timeout=300)
    assert snap["status"] == "failed", snap
    assert "ImportError: sqlglot is broken in this environment (test)" in snap["error"]
    assert "before it could report" in snap["error"] and not engine.busy


def _wait_http(port: int, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise AssertionError("the studio did not start")


@pytest.mark.slow
def test_the_studio_never_loads_torch_and_stops_its_mlflow_server_on_sigterm(tmp_path):
    """The studio runs as its own process with its embedded MLflow server; after a 2-step run started through the
    page's API its memory maps hold no torch or Unsloth (the model lived in the worker), and SIGTERM (what service
    managers send) ends it and its MLflow server, which no longer holds its port."""
    from gradio_client import Client

    from tests.app.test_app_client import start_args

    port, mlflow_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.update(STUDIO_PORT=str(port), STUDIO_MLFLOW_PORT=str(mlflow_port))
    log = open(tmp_path / "studio.log", "wb")  # noqa: SIM115 - closed below
    studio = subprocess.Popen(
        [sys.executable, "-m", "app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        _wait_http(port, 180)
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        client.predict(api_name="/use_sample")
        args = start_args(max_steps=2, max_seq_length=256, run_name="no-torch-in-studio")
        problems, _ = client.predict(True, "You are a {dialect} SQL expert.", *args, api_name="/start")
        assert "Started job" in problems, problems
        assert wait_for(
            lambda: client.predict(api_name="/live")["snapshot"]["status"] in ("completed", "failed", "died"),
            600,
        )
        assert client.predict(api_name="/live")["snapshot"]["status"] == "completed"
        maps = open(f"/proc/{studio.pid}/maps", encoding="utf-8").read()
        loaded = {name for name in ("libtorch", "libc10", "unsloth", "bitsandbytes") if name in maps}
        assert not loaded, f"the studio's process loaded {loaded}"
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", mlflow_port)) == 0  # its embedded MLflow server is up
        studio.send_signal(signal.SIGTERM)
        assert studio.wait(timeout=60) == 0
        time.sleep(1)
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", mlflow_port)) != 0, "the MLflow server outlived the studio"
    finally:
        if studio.poll() is None:
            studio.kill()
        log.close()


@pytest.mark.slow
def test_one_run_over_two_processes_through_torchrun(mlflow_server, monkeypatch):
    """Unsloth's CPU path under `torchrun --nproc_per_node=2` (gloo): the same code path as several GPUs. One MLflow
    run with one loss point per step (rank 0 alone writes), one adapter, the plan counting both processes."""
    from mlflow.tracking import MlflowClient

    from core.train import Engine

    monkeypatch.setenv("STUDIO_CPU_DDP", "1")
    engine = Engine()
    engine.start(tiny(max_steps=2, gpus=2, max_seq_length=256, run_name="ddp-cpu", checkpoint_every=0))
    snap = engine.wait(timeout=900)
    assert snap["status"] == "completed", snap["error"]
    assert any("x 2 devices: " in line or "accumulation 1 x 2 devices" in line for line in snap["log_lines"])
    client = MlflowClient(mlflow_server)
    history = client.get_metric_history(snap["mlflow_run_id"], "loss")
    assert sorted(m.step for m in history) == [1, 2]  # rank 1 logged nothing
    folder = ROOT / snap["output_dir"]
    assert (folder / "adapter" / "adapter_model.safetensors").exists()
    assert read_job(folder)["gpus"] == 2


def test_standby_logs_of_studios_that_are_gone_are_removed():
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = data_dir() / f"standby-{dead.pid}-1.log"
    ours = data_dir() / f"standby-{os.getpid()}-1.log"
    for log in (orphan, ours):
        log.write_text("import warnings\n", encoding="utf-8")
    _remove_orphan_logs()
    assert not orphan.exists() and ours.exists()  # a live studio's standby keeps its log
    ours.unlink()


def test_a_standby_outlives_variables_no_worker_reads():
    """pytest rewrites PYTEST_CURRENT_TEST for every test: counted, it threw each kept-ready worker away (a new
    worker per run, and ~15 s of CPU for a discarded standby). A variable a worker may read still counts."""
    before = {
        "PATH": "/usr/bin",
        "PYTEST_CURRENT_TEST": "a (call)",
        "MLFLOW_TRACKING_URI": "http://127.0.0.1:1",
    }
    after = {**before, "PYTEST_CURRENT_TEST": "b (setup)", "MLFLOW_TRACKING_URI": "http://127.0.0.1:2"}
    assert _relevant(before) == _relevant(after)
    assert _relevant(before) != _relevant({**after, "HF_HUB_OFFLINE": "0"})
