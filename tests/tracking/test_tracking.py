"""The embedded MLflow server can come up in the background while the studio's page is already served."""

import os
import time

import pytest

from core.tracking import server as tracking
from tests.conftest import free_port

pytestmark = pytest.mark.slow


def test_background_start_returns_at_once_and_runs_wait_for_the_server(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path))
    port = free_port()
    start = time.time()
    uri = tracking.ensure_server(port, wait=False)
    returned_after = time.time() - start
    try:
        assert uri == f"http://127.0.0.1:{port}" and returned_after < 2.0
        assert not tracking.is_healthy(uri)  # still coming up: a caller that needs it must wait
        assert tracking.wait_until_started(120) and tracking.is_healthy(uri)
        assert (tmp_path / "mlflow" / "mlflow.db").exists()
    finally:
        tracking.stop_server(tracking._server)  # noqa: SLF001


@pytest.mark.slow
def test_another_data_folders_mlflow_on_the_port_is_never_used(mlflow_server, tmp_path):
    """Port P answers with an MLflow server that is not this data folder's (the test session's own): the studio
    says so and starts its own on a free port instead of logging into the other store."""
    import subprocess
    import sys
    from urllib.parse import urlparse

    from tests.conftest import ROOT

    taken = urlparse(mlflow_server).port
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.update(STUDIO_DATA_DIR=str(tmp_path / "data"), STUDIO_MLFLOW_PORT=str(taken))
    code = "from core.tracking import ensure_server; print('URI', ensure_server())"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr[-1500:]
    assert f"Port {taken} answers, but not with this data folder's MLflow server" in result.stdout
    uri = result.stdout.split("URI ")[-1].strip()
    assert urlparse(uri).port != taken
    assert (tmp_path / "data" / "mlflow" / "mlflow.db").exists()  # this folder's own store


def test_the_background_start_waits_until_the_page_is_up(monkeypatch):
    """On 2 cores the server's processes would slow the studio's own start: they start once the page is up, and
    whoever needs MLflow meanwhile waits for them (the URI is set at once, so nothing logs elsewhere)."""
    import threading

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    started = []
    monkeypatch.setattr(tracking, "start_server", lambda port, store: started.append(port))
    port, page_up = free_port(), threading.Event()
    uri = tracking.ensure_server(port=port, wait=False, start_after=page_up)
    assert uri == os.environ["MLFLOW_TRACKING_URI"] == f"http://127.0.0.1:{port}"
    time.sleep(0.5)
    assert started == [] and not tracking.wait_until_started(timeout=0.1)
    page_up.set()
    assert tracking.wait_until_started(timeout=5) and started == [port]
