"""Shared fixtures. Tests run offline (HF_HUB_OFFLINE=1) with the bundled model and a real MLflow server."""

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# One data folder for the whole test run, kept between runs so the bundled model is converted only once.
os.environ.setdefault("STUDIO_DATA_DIR", str(Path(__file__).resolve().parent.parent / "data" / "test"))

ROOT = Path(__file__).resolve().parent.parent
SPIDER = ROOT.parent / "shared" / "data" / "spider_mini"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session", autouse=True)
def warm_worker(request):
    """Keep a training worker with Unsloth imported ready, as the studio does: a run's start then skips that
    import (~15 s of CPU). A test that changes the environment gets a fresh worker instead (core.train.supervisor).
    Only when a `slow` test (one that trains) is selected: `make test-fast` selects none, and the import would take
    its CPU for nothing."""
    if any(item.get_closest_marker("slow") for item in request.session.items):
        from core.train import supervisor

        supervisor.prewarm()
    yield


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A real `mlflow server` on a free port, with its own sqlite store; sets MLFLOW_TRACKING_URI."""
    from core.tracking.server import start_server, stop_server

    port = free_port()
    process = start_server(port, tmp_path_factory.mktemp("mlflow"))
    uri = f"http://127.0.0.1:{port}"
    old = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = uri
    import mlflow

    mlflow.set_tracking_uri(uri)
    yield uri
    stop_server(process)
    if old is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = old


@pytest.fixture(scope="session")
def tokenizer():
    from core.train import load_tokenizer

    return load_tokenizer("bundled")


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def studio(mlflow_server):
    """The studio, launched for real on a free port (same process, so tests can also see the engine)."""
    from app.ui import build_app
    from core.paths import ASSETS

    demo = build_app()
    demo.queue(default_concurrency_limit=8)
    port = free_port()
    demo.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        css=(ASSETS / "studio.css").read_text(),
    )
    yield f"http://127.0.0.1:{port}/"
    demo.close()


# ---- a real PostgreSQL server, started by the test (Debian's postgresql package) ----


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture(scope="session")
def postgres():
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.fail(
            "PostgreSQL server binaries are missing: `make test` installs Debian's postgresql package"
        )
    root = os.geteuid() == 0
    # Not under pytest's tmp dir: that is private to root, and the server runs as the postgres user.
    base = Path(tempfile.mkdtemp(prefix="studio-pg-"))
    data = base / "data"
    data.mkdir()
    prefix = ["runuser", "-u", "postgres", "--"] if root else []
    if root:
        shutil.chown(base, "postgres")
        shutil.chown(data, "postgres")
    port = free_port()
    subprocess.run(
        [*prefix, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    # Passwords are checked as on a real server (a wrong one is refused); the admin connection below stays trusted.
    (data / "pg_hba.conf").write_text(
        "local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
    )
    subprocess.run(
        [
            *prefix,
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-l",
            str(data / "log"),
            "-o",
            f"-p {port} -k {data} -c listen_addresses=127.0.0.1",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    import psycopg

    admin = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute("CREATE ROLE studio LOGIN PASSWORD 'pw-not-logged'")
        con.execute("CREATE DATABASE shop OWNER studio")
    with psycopg.connect(f"postgresql://studio:pw-not-logged@127.0.0.1:{port}/shop", autocommit=True) as con:
        con.execute((ROOT / "assets/sample_schema.sql").read_text())
        con.execute((ROOT / "assets/sample_data.sql").read_text())
    yield f"postgresql://studio:pw-not-logged@127.0.0.1:{port}/shop"
    subprocess.run(
        [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True
    )
    shutil.rmtree(base, ignore_errors=True)
