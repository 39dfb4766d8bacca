"""What the studio asks of a real MLflow server: an evaluation's results in one request (counted through a
recording HTTP proxy in front of the server), and a run's JSON/text artifacts read back without leaving
temporary folders behind."""

import http.client
import tempfile
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.config import TrainConfig
from core.db import CORRECT, WRONG
from core.evaluate.evaluate import EvalReport
from core.evaluate.of_run import load_run_inputs, log_to_mlflow
from core.evaluate.score import EvalRow, summarize
from core.export.registry import run_prompt_record
from core.prompt_record import PROMPT_FILE
from core.tracking import get_run, run_config, run_details


class RecordingProxy:
    """An HTTP reverse proxy to the MLflow server that records the method and path of every request."""

    def __init__(self, target: str):
        self.requests: list[tuple[str, str]] = []
        upstream = urllib.parse.urlparse(target)
        recorded = self.requests

        class Forward(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                recorded.append((self.command, self.path.split("?")[0]))
                con = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                con.request(self.command, self.path, body=body, headers=headers)
                answer = con.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                con.close()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = forward

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def client(mlflow_server):
    from mlflow.tracking import MlflowClient

    return MlflowClient(mlflow_server)


def _report() -> EvalReport:
    def row(n, category):
        return EvalRow(
            n,
            f"question {n}",
            "SELECT 1",
            "SELECT 1",
            "SELECT 1",
            category,
            valid=True,
            executed=True,
            exact=category == CORRECT,
        )

    results = {"base": [row(1, WRONG), row(2, WRONG)], "adapter": [row(1, CORRECT), row(2, WRONG)]}
    return EvalReport(2, 1.0, {name: summarize(rows) for name, rows in results.items()}, results)


def test_an_evaluation_is_logged_in_one_request(client):
    run_id = client.create_run(client.create_experiment("tests-eval-requests")).info.run_id
    proxy = RecordingProxy(client.tracking_uri)
    try:
        log_to_mlflow(run_id, _report(), tracking_uri=proxy.url)
    finally:
        proxy.close()
    writes = [path for method, path in proxy.requests if method == "POST"]
    assert writes == ["/api/2.0/mlflow/runs/log-batch"], proxy.requests  # was one request per metric and tag
    uploads = sorted(path.rsplit("/", 2)[-1] for method, path in proxy.requests if method == "PUT")
    assert uploads == ["details.json", "rows.csv"]
    run = client.get_run(run_id)
    assert run.data.metrics["eval_exec_accuracy"] == 0.5 and run.data.metrics["base_exec_accuracy"] == 0.0
    assert len([k for k in run.data.metrics if k.startswith(("eval_", "base_"))]) == 10
    assert run.data.tags["evaluated_rows"] == "2"


def test_run_artifacts_are_read_without_leaving_temporary_folders(client, tmp_path, monkeypatch):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"question": "a", "sql": "SELECT 1"}\n{"question": "b", "sql": "SELECT 2"}\n')
    adapter = tmp_path / "adapter"  # the trainer's local copy, from before prompt records existed
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    run_id = client.create_run(client.create_experiment("tests-artifact-reads")).info.run_id
    client.log_dict(run_id, TrainConfig(data_path=str(pairs), dialect="sqlite").to_dict(), "config.json")
    client.log_dict(run_id, {"eval_rows": [2]}, "split.json")
    client.log_text(run_id, "sample answers", "samples.txt")
    client.log_dict(
        run_id,
        {"base_model": "m", "dialect": "duckdb", "schema_text": "CREATE TABLE t (a INT)"},
        f"adapter/{PROMPT_FILE}",
    )
    client.set_tag(run_id, "adapter_path", str(adapter))

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    cfg, held_out, adapter_folder, loaded = load_run_inputs(run_id)
    assert (loaded.base_model, loaded.dialect) == ("m", "duckdb")
    assert (
        cfg.dialect == "sqlite" and [p.question for p in held_out] == ["b"] and adapter_folder == str(adapter)
    )
    assert run_details(run_id)["samples"] == "sample answers"
    assert run_config(run_id).data_path == str(pairs)
    record = run_prompt_record(get_run(run_id))
    assert (record.base_model, record.dialect) == ("m", "duckdb")
    assert list(temp.iterdir()) == []  # every temporary copy is gone
