"""MLflow: the embedded tracking server, and reading runs and metric histories back for the UI.

When MLFLOW_TRACKING_URI is unset, `ensure_server()` starts a real `mlflow server` on 127.0.0.1:5000
(sqlite store and artifacts under the data folder), waits until it is healthy and stops it at exit. A
healthy MLflow already on that port is reused.
"""

import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psutil

from core.paths import data_dir

DEFAULT_PORT = 5000
_server: subprocess.Popen | None = None
# Cleared while an embedded server started with ensure_server(wait=False) is still coming up.
_started = threading.Event()
_started.set()
# MLflow's client retries a dead server for minutes by default; a studio must answer in seconds. Users can
# still override these through the environment.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")


class TrackingError(RuntimeError):
    """The tracking server cannot be started or reached. The message is meant for the user."""


def is_healthy(uri: str, timeout: float = 2.0) -> bool:
    if not uri.startswith("http"):
        return True  # a local store (sqlite:///, file:) needs no server
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def start_server(port: int, store: Path, wait_s: float = 90.0) -> subprocess.Popen:
    """Start `mlflow server` on 127.0.0.1:port with a sqlite store under `store`; wait until healthy."""
    store.mkdir(parents=True, exist_ok=True)
    uri = f"http://127.0.0.1:{port}"
    log = open(store / "server.log", "ab")  # noqa: SIM115 - kept open for the server's lifetime
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{store / 'mlflow.db'}",
            "--artifacts-destination",
            str(store / "artifacts"),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        # MLflow's job runner (7 extra worker processes for GenAI jobs) is of no use here: a lighter, faster server
        env={"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **os.environ},
    )
    deadline = time.time() + wait_s
    while time.time() < deadline:
        if process.poll() is not None:
            raise TrackingError(
                f"The MLflow server exited at start (code {process.returncode}); see {store / 'server.log'}."
            )
        if is_healthy(uri, timeout=1.0):
            owner = {"port": port, "pid": process.pid, "started": psutil.Process(process.pid).create_time()}
            (store / OWNER_FILE).write_text(json.dumps(owner), encoding="utf-8")
            return process
        time.sleep(0.5)
    process.kill()
    raise TrackingError(
        f"The MLflow server did not become healthy within {wait_s:.0f} s; see {store / 'server.log'}."
    )


def stop_server(process: subprocess.Popen | None, hard: bool = False) -> None:
    """Stop the server and its children (uvicorn workers, job runners): they share its process group.
    `hard` kills at once (SIGKILL), like a crash."""
    if process is None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL if hard else signal.SIGTERM)
        process.wait(timeout=10)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        pass
    deadline = time.time() + 3
    try:
        while time.time() < deadline:  # children finishing their own shutdown
            os.killpg(process.pid, 0)
            time.sleep(0.1)
        os.killpg(process.pid, signal.SIGKILL)  # whatever ignored SIGTERM (MLflow's job runners do)
        process.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass


def ensure_server(
    port: int | None = None, wait: bool = True, start_after: threading.Event | None = None
) -> str:
    """The tracking URI to use, starting the embedded server when needed. Sets MLFLOW_TRACKING_URI.

    With wait=False the server comes up in the background (it takes ~9 s on 2 cores) so the studio's page
    is served meanwhile; `wait_until_started` blocks whoever needs it (a training run opening its run).
    `start_after`: the background start waits for this event (at most 30 s) before starting the server's
    processes, so that on a small machine they do not slow the studio's own start (its page comes first)."""
    uri = os.environ.get("MLFLOW_TRACKING_URI", "")
    if uri:
        return uri
    port = port or int(os.environ.get("STUDIO_MLFLOW_PORT", DEFAULT_PORT))
    uri = f"http://127.0.0.1:{port}"
    if not (is_healthy(uri) and _ours(port)):
        if _port_open(port):  # another data folder's MLflow, or another program: never log into it by mistake
            taken, port = port, _free_port_after(port)
            uri = f"http://127.0.0.1:{port}"
            print(
                f"Port {taken} answers, but not with this data folder's MLflow server (another studio's, or another "
                f"program): starting this folder's own on port {port}. Set STUDIO_MLFLOW_PORT to choose one.",
                flush=True,
            )
        print(f"Starting the MLflow server on {uri} (store: {data_dir() / 'mlflow'}) ...", flush=True)
        if wait:
            _start_embedded(port)
        else:
            _started.clear()
            threading.Thread(
                target=_start_embedded, args=(port, True, start_after), name="mlflow-start", daemon=True
            ).start()
    os.environ["MLFLOW_TRACKING_URI"] = uri
    return uri


OWNER_FILE = "server.json"  # beside the store: which port and process serve this data folder's MLflow


def _ours(port: int) -> bool:
    """Is the server on this port the one this data folder started (its owner file names the port and a live pid)?"""

    try:
        owner = json.loads((data_dir() / "mlflow" / OWNER_FILE).read_text(encoding="utf-8"))
        process = psutil.Process(int(owner["pid"]))
        return owner["port"] == port and abs(process.create_time() - owner["started"]) < 1.0
    except (OSError, ValueError, KeyError, TypeError, psutil.Error):
        return False


def _free_port_after(port: int) -> int:
    for candidate in range(port + 1, port + 100):
        if not _port_open(candidate):
            return candidate
    raise TrackingError(
        f"No free port near {port} for the MLflow server: set STUDIO_MLFLOW_PORT or MLFLOW_TRACKING_URI."
    )


def _start_embedded(port: int, background: bool = False, start_after: threading.Event | None = None) -> None:
    global _server
    try:
        if start_after is not None:
            start_after.wait(30)
        _server = start_server(port, data_dir() / "mlflow")
        atexit.register(stop_server, _server)
    except TrackingError as e:
        if not background:
            raise
        print(f"warning: {e} Runs are not tracked until it is reachable.", file=sys.stderr, flush=True)
    finally:
        _started.set()


def wait_until_started(timeout: float = 120.0) -> bool:
    """Wait for an embedded server still starting in the background (returns at once otherwise)."""
    return _started.wait(timeout)


def tracking_uri() -> str:
    """The environment's URI first (ensure_server sets it), else MLflow's own default."""
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    try:
        import mlflow
    except ImportError:
        return ""
    return mlflow.get_tracking_uri()


def run_url(tracking_uri: str, experiment_id: str, run_id: str) -> str:
    """The MLflow UI page of a run (only meaningful for an http tracking server)."""
    return f"{tracking_uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def metric_history(
    run_id: str, key: str = "loss", tracking_uri: str | None = None, timeout: float = 3.0
) -> list[tuple[int, float]]:
    """(step, value) points MLflow stored for a run's metric, in step order, one per step.

    For an http server this is one REST call with a short timeout (the live chart polls it every second and
    must not hang on a slow server); raises OSError when the server does not answer in time."""
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI", "")
    if uri.startswith("http"):
        query = urllib.parse.urlencode({"run_id": run_id, "metric_key": key})
        url = f"{uri.rstrip('/')}/api/2.0/mlflow/metrics/get-history?{query}"
        with urllib.request.urlopen(url, timeout=timeout) as response:
            metrics = json.load(response).get("metrics", [])
        points = [(int(m.get("step", 0)), int(m.get("timestamp", 0)), float(m["value"])) for m in metrics]
    else:
        from mlflow.tracking import MlflowClient

        points = [
            (m.step, m.timestamp, m.value) for m in MlflowClient(uri or None).get_metric_history(run_id, key)
        ]
    # A resumed run logs the steps after its checkpoint again: the later point of a step is the one that counts.
    latest = {step: value for step, _, value in sorted(points, key=lambda p: (p[0], p[1]))}
    return sorted(latest.items())
