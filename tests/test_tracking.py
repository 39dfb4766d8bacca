"""The embedded MLflow server can come up in the background while the studio's page is already served."""

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
