"""MLflow outages with a real `mlflow server` process that the test kills and restarts, and a real TCP proxy that
delays every byte. Training goes on in every case; what was logged while MLflow was away reaches it once it is
back (the job's journal is the local fallback store); the Train tab says honestly what is going on."""

import socket
import threading
import time

import pytest

from app.train_tab import chart_data, status_html
from core.tracking import metric_history
from core.tracking.server import start_server, stop_server
from core.train import Engine
from tests.conftest import ROOT, free_port
from tests.train.test_engine import tiny
from tests.train.test_restart import small_pairs, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def tracking_uri(monkeypatch):
    """Point the studio at a URI for one test (the trainer reads MLFLOW_TRACKING_URI)."""

    def use(uri: str) -> str:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        return uri

    return use


def run_record(uri: str, run_id: str) -> tuple[str, list[tuple[int, float]]]:
    from mlflow.tracking import MlflowClient

    return MlflowClient(uri).get_run(run_id).info.status, metric_history(run_id, "loss", uri, timeout=10)


def test_server_down_at_start_then_up_then_killed_mid_run_then_back(tmp_path, tracking_uri):
    from mlflow.tracking import MlflowClient

    port = free_port()
    uri = tracking_uri(f"http://127.0.0.1:{port}")  # nothing listens there yet
    engine = Engine()
    engine.start(
        tiny(
            data_path=str(small_pairs(tmp_path)),
            max_steps=300,
            max_seq_length=256,
            run_name="outages",
            experiment="tests-outages",
            checkpoint_every=0,
        )
    )
    server = None
    try:
        # 1. down at the start: training runs, the UI says MLflow is away and records are kept
        wait_for(lambda: engine.snapshot()["step"] >= 2, 600, "training to start without MLflow")
        snap = engine.snapshot()
        assert snap["status"] == "running" and not snap["mlflow_run_id"]
        assert "not reachable" in status_html(snap) and "records are kept" in snap["mlflow_warning"]

        # 2. it comes up: the run is created late (with the job's start time) and the backlog is sent
        server = start_server(port, tmp_path / "store")
        run_id = wait_for(lambda: engine.snapshot()["mlflow_run_id"], 120, "the late MLflow run")
        wait_for(lambda: len(run_record(uri, run_id)[1]) >= 2, 120, "the backlog in MLflow")
        # the warning goes once the whole backlog is sent (on a loaded machine, after the first points arrive)
        wait_for(lambda: engine.snapshot()["mlflow_warning"] == "", 120, "the warning to go")

        # 3. it dies mid-run (SIGKILL: no goodbye): training continues, the UI says so
        before = engine.snapshot()["step"]
        stop_server(server, hard=True)  # SIGKILL to the server and its workers
        wait_for(lambda: "not reachable" in engine.snapshot()["mlflow_warning"], 120, "the warning")
        wait_for(lambda: engine.snapshot()["step"] >= before + 2, 600, "training to go on without MLflow")
        assert engine.snapshot()["status"] == "running"
        assert "not answering" in chart_data(run_id, uri)["warning"]

        # 4. it comes back on the same store: everything logged meanwhile arrives, with its own step
        server = start_server(port, tmp_path / "store")
        assert engine.stop()
    finally:
        snap = engine.wait(timeout=600)
    try:
        assert snap["status"] == "stopped", snap["error"]
        last = snap["step"]
        wait_for(lambda: run_record(uri, run_id)[0] == "FINISHED", 120, "the run's end in MLflow")
        status, loss = run_record(uri, run_id)
        assert [s for s, _ in loss] == list(range(1, last + 1))  # not one step lost
        run = MlflowClient(uri).get_run(run_id)
        assert run.data.params["cfg.max_steps"] == "300" and run.data.tags["outcome"] == "stopped"
        assert {a.path for a in MlflowClient(uri).list_artifacts(run_id)} >= {"adapter", "config.json"}
        assert engine.snapshot()["mlflow_warning"] == ""
    finally:
        stop_server(server)


class SlowProxy:
    """A TCP proxy that holds every request and every response for `delay` seconds (the first bytes after a
    pause wait; the rest of a burst streams on): a slow network or an overloaded server."""

    def __init__(self, target_port: int, delay: float):
        self.target, self.delay = target_port, delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src, dst):
        last = 0.0
        try:
            while chunk := src.recv(65536):
                if time.monotonic() - last > 0.05:  # a new request or response, not the middle of one
                    time.sleep(self.delay)
                dst.sendall(chunk)
                last = time.monotonic()
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.listener.close()


def test_slow_server_does_not_slow_training_and_everything_arrives(tmp_path, tracking_uri, mlflow_server):
    """The training worker only appends to the job's journal (it never talks to MLflow); the studio's sync thread
    sends it through a proxy that makes every request take 4 s or more, and everything arrives in order."""
    from tests.train.test_restart import journal_losses

    port = int(mlflow_server.rsplit(":", 1)[1])
    proxy = SlowProxy(port, delay=2.0)  # every request through it takes 4 s or more
    uri = tracking_uri(f"http://127.0.0.1:{proxy.port}")
    engine = Engine()
    try:
        engine.start(
            tiny(
                data_path=str(small_pairs(tmp_path)),
                max_steps=4,
                max_seq_length=256,
                run_name="slow",
                experiment="tests-outages",
                checkpoint_every=0,
            )
        )
        wait_for(lambda: engine.snapshot()["status"] == "running", 600, "training to start")
        # the live chart reads MLflow with a 3 s timeout: it says MLflow is not answering instead of hanging
        assert "not answering" in chart_data("0" * 32, uri)["warning"]
        wait_for(lambda: engine.snapshot()["step"] >= 4, 600, "all steps while MLflow is slow")
        # every step is in the journal (the worker wrote it without waiting for the 4 s round trips)
        folder = ROOT / engine.snapshot()["output_dir"]
        wait_for(lambda: len(journal_losses(folder)) == 4, 30, "the four steps in the journal")
        # the training thread only appended to the journal; MLflow is still receiving. When the network
        # recovers, the rest follows at once.
        proxy.delay = 0.0
        snap = engine.wait(timeout=600)
        assert snap["status"] == "completed", snap["error"]
        run_id = snap["mlflow_run_id"]
        assert run_id
        wait_for(lambda: run_record(mlflow_server, run_id)[0] == "FINISHED", 300, "the slow run's end")
        assert [s for s, _ in run_record(mlflow_server, run_id)[1]] == [1, 2, 3, 4]
    finally:
        proxy.close()
