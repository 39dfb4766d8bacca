"""Security: names cannot escape the data folder, uploads get generated names, model-shipped code runs only on
opt-in, the app refuses to be reachable without a password, secrets never reach messages, logs or MLflow."""

import json
import os
import re
import shutil
from argparse import Namespace

import pytest

from core.config import TrainConfig, validate_config
from core.paths import UnsafeNameError, check_name, safe_name
from core.redact import redact, redact_values

TRAVERSAL = [
    "../evil",
    "..",
    ".",
    "a/../../b",
    "/etc/passwd",
    "C:\\Windows\\x",
    "..\\..\\x",
    "x/y",
    "runs/../../..",
    "ok\x00name",
    "tab\there",
    "new\nline",
    "bell\x07",
    "rtl\u202eexe.txt",
    "zero\u200bwidth",
    "a\u2028b",
    "con:1",
    "what?",
    "a|b",
    "",
    "   ",
    "x" * 121,
]


@pytest.mark.parametrize("name", TRAVERSAL)
def test_hostile_names_are_refused_as_display_names_and_defused_as_file_names(name):
    with pytest.raises(ValueError) as err:  # a run or experiment name: refused, saying what to change
        check_name(name)
    message = str(err.value)
    assert message.startswith("The name") and (
        "Use" in message or "Give" in message or "Type" in message or "Leave" in message or "keep" in message
    )
    try:  # an export or registry name (core.paths.safe_name): rewritten, never pointing anywhere else
        cleaned = safe_name(name)
    except UnsafeNameError:
        return
    assert "/" not in cleaned and "\\" not in cleaned and ".." not in cleaned and cleaned.isprintable()


@pytest.mark.parametrize("name", ["run 1", "sql-lora_r16.v2", "Ventes 2026 (été)", "  padded  ", "a..b"])
def test_ordinary_display_names_are_kept_as_typed(name):
    assert check_name(name) == name.strip()


def test_run_and_experiment_names_are_checked_before_a_run_starts():
    problems = validate_config(
        TrainConfig(data_path="x.jsonl", run_name="../../outputs/x", experiment="/abs")
    )
    assert "path separator" in problems["run_name"] and "path separator" in problems["experiment"]
    assert "run_name" not in validate_config(TrainConfig(data_path="x.jsonl", run_name=""))  # optional


def test_uploads_are_stored_under_generated_names_whatever_the_user_called_them(tmp_path):
    from app.common import store_upload
    from core.paths import data_dir

    source = tmp_path / "pairs.csv"
    source.write_text("question,sql\nq,SELECT 1\n")
    uploads = (data_dir() / "uploads").resolve()
    for hostile in (
        "../../../etc/cron.d/x.csv",
        "/root/.ssh/authorized_keys",
        "..\\..\\boot.ini",
        "a\x00b.jsonl",
        "evil.sh",
        "x.csv/../../y.json",
    ):
        stored = store_upload(str(source), hostile).resolve()
        assert stored.parent == uploads and len(stored.stem) == 32, (
            hostile
        )  # a uuid, nothing of the user's name
        assert stored.suffix in (".csv", ".json", ".jsonl", ".dat")
        stored.unlink()


# ---- trust_remote_code: a model folder whose tokenizer ships code that leaves a marker when it runs ----


@pytest.fixture
def model_with_code(tmp_path, monkeypatch):
    import transformers.dynamic_module_utils as dynamic

    from core.train import resolve_model

    bundled = resolve_model("bundled")
    folder = tmp_path / "model-with-code"
    folder.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        if os.path.exists(os.path.join(bundled, name)):
            shutil.copy(os.path.join(bundled, name), folder / name)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config.update(
        tokenizer_class="MarkerTokenizer", auto_map={"AutoTokenizer": [None, "marker_tok.MarkerTokenizer"]}
    )
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    marker = tmp_path / "the-model-code-ran"
    (folder / "marker_tok.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
        "from transformers import PreTrainedTokenizerFast\n\n\nclass MarkerTokenizer(PreTrainedTokenizerFast):\n    pass\n"
    )
    monkeypatch.setattr(
        dynamic, "HF_MODULES_CACHE", str(tmp_path / "hf-modules")
    )  # keep the copy out of $HOME
    return str(folder), marker


def test_trust_remote_code_is_off_by_default_everywhere():
    from core.cli import build_parser

    assert TrainConfig().trust_remote_code is False
    args = build_parser().parse_args(["train"])
    assert args.trust_remote_code is None  # not given: the config default (False) applies
    assert build_parser().parse_args(["train", "--trust-remote-code"]).trust_remote_code is True


def test_model_code_does_not_run_without_opt_in_and_runs_with_it(model_with_code):
    from core.evaluate import SqlGenerator
    from core.train import ModelError, load_tokenizer

    folder, marker = model_with_code
    with pytest.raises(ModelError, match="ships its own Python code .* opt in"):
        load_tokenizer(folder)
    with pytest.raises(ModelError, match="ships its own Python code"):
        SqlGenerator(folder)
    assert not marker.exists()
    assert type(load_tokenizer(folder, trust_remote_code=True)).__name__ == "MarkerTokenizer"
    assert marker.exists()  # the opt-in is real: the code ran


@pytest.mark.slow
def test_training_refuses_a_model_with_code_unless_opted_in(model_with_code, mlflow_server):
    from core.train import Engine
    from tests.train.test_engine import tiny

    folder, marker = model_with_code
    engine = Engine()
    engine.start(tiny(model=folder, max_steps=1))
    snap = engine.wait(timeout=300)
    assert snap["status"] == "failed" and "ships its own Python code" in snap["error"]
    assert not marker.exists()


# ---- the app is never reachable from elsewhere without credentials, and they come from env or a file ----


def args(**kw):
    return Namespace(
        **{"host": "127.0.0.1", "port": 7860, "auth_file": None, "insecure_no_auth": False, **kw}
    )


def test_non_local_address_needs_credentials_from_env_or_file(tmp_path, monkeypatch):
    from app.__main__ import check_access, main

    monkeypatch.delenv("STUDIO_USERNAME", raising=False)
    monkeypatch.delenv("STUDIO_PASSWORD", raising=False)
    assert check_access(args()) == (None, "")  # loopback: fine without
    auth, error = check_access(args(host="0.0.0.0"))
    assert auth is None and "reachable from other machines" in error and "--insecure-no-auth" in error
    assert main(["--host", "0.0.0.0"]) == 2  # refused before anything starts
    assert check_access(args(host="0.0.0.0", insecure_no_auth=True)) == (None, "")
    monkeypatch.setenv("STUDIO_USERNAME", "ana")
    monkeypatch.setenv("STUDIO_PASSWORD", "from-env")
    assert check_access(args(host="0.0.0.0")) == (("ana", "from-env"), "")
    monkeypatch.delenv("STUDIO_PASSWORD")
    good = tmp_path / "auth"
    good.write_text("bo:from-file\n")
    assert check_access(args(host="0.0.0.0", auth_file=str(good))) == (("bo", "from-file"), "")
    for content in ("", "no-colon\n", ":nouser\n", "user:\n"):
        bad = tmp_path / "bad-auth"
        bad.write_text(content)
        auth, error = check_access(args(host="0.0.0.0", auth_file=str(bad)))
        assert auth is None and "user:password" in error
    auth, error = check_access(args(host="0.0.0.0", auth_file=str(tmp_path / "missing")))
    assert auth is None and "cannot read the auth file" in error


def test_default_host_is_loopback(monkeypatch):
    from app.__main__ import parse_args

    monkeypatch.delenv("STUDIO_HOST", raising=False)
    assert parse_args([]).host == "127.0.0.1"


# ---- secrets never in messages, logs or MLflow ----


@pytest.mark.parametrize(
    "text,secret",
    [
        ("could not connect to postgresql://bob:s3cret@db.internal/shop", "s3cret"),
        ("postgres://u:p%40ss@localhost:5432/x?sslmode=require", "p%40ss"),
        ("host=localhost password=hunter2 dbname=x", "hunter2"),
        ("MLflow at http://admin:letmein@127.0.0.1:5000 is not reachable", "letmein"),
        ("Authorization: Bearer eyJhbGciOi.J9.x", "eyJhbGciOi"),
        ("token=hf_abcdefghijklmnopqrstuvwx", "hf_abcdefghijklmnopqrstuvwx"),
        ("using hf_abcdefghijklmnopqrstuvwxyz0 for downloads", "hf_abcdefghijklmnopqrstuvwxyz0"),
    ],
)
def test_redact_masks_passwords_and_tokens(text, secret):
    assert secret not in redact(text) and "***" in redact(text)


def test_run_state_never_holds_a_secret_it_would_show():
    from core.runstate import RunState

    state = RunState()
    state.log("connecting to postgresql://studio:pw-not-logged@127.0.0.1/shop")
    state.update(
        error="Could not connect: postgresql://studio:pw-not-logged@x/db", mlflow_warning="token=abc123"
    )
    snap = state.snapshot()
    assert "pw-not-logged" not in json.dumps(snap, default=str) and "abc123" not in snap["mlflow_warning"]
    assert redact_values({"cfg.db": "postgresql://a:b@h/d", "hf_token": "x"}) == {
        "cfg.db": "postgresql://a:***@h/d",
        "hf_token": "***",
    }


def test_password_field_is_masked_in_the_page():
    import gradio as gr

    from app.eval_tab import build_eval_tab

    with gr.Blocks():
        components = build_eval_tab()
    assert components["pg_url"].type == "password"


@pytest.mark.slow
def test_a_database_password_never_reaches_mlflow_logs_or_messages(postgres, mlflow_server, tmp_path, capfd):
    """A real run is evaluated on a real PostgreSQL through the Evaluate tab's handlers, with a working URL and with
    a failing one (both with passwords): no password appears in MLflow, in the messages, or in anything printed."""
    from mlflow.tracking import MlflowClient

    from app.eval_tab import run_evaluation
    from app.playground import ask
    from core.train import Engine
    from tests.train.test_engine import tiny
    from tests.train.test_restart import small_pairs

    password, wrong = "pw-not-logged", "wrong-pw-also-secret"
    engine = Engine()
    engine.start(
        tiny(
            data_path=str(small_pairs(tmp_path, 4)),
            max_steps=1,
            max_seq_length=256,
            eval_fraction=0.3,
            run_name="secrets",
            checkpoint_every=0,
        )
    )  # 2 pairs train, 2 are held out
    snap = engine.wait(timeout=600)
    assert snap["status"] == "completed", snap["error"]
    run_id = snap["mlflow_run_id"]

    message, *_ = run_evaluation(run_id, "PostgreSQL", None, postgres, False)
    assert re.search(r"Evaluated 2 held-out rows in \d+ s \(fine-tuned \d+ s\)", message), (
        message
    )  # time per side
    bad = postgres.replace(password, wrong).replace("/shop", "/no_such_db")  # refused: the wrong password
    refused, *_ = run_evaluation(run_id, "PostgreSQL", None, bad, False)
    assert "Could not connect to PostgreSQL" in refused
    asked = ask(run_id, "How many sales?", "PostgreSQL", None, bad)
    assert "Could not connect" in asked[4]

    client = MlflowClient(mlflow_server)
    run = client.get_run(run_id)
    assert "eval_exec_accuracy" in run.data.metrics  # the evaluation was logged...
    texts = [message, refused, asked[4], json.dumps(run.data.params), json.dumps(run.data.tags)]
    for artifact in ("evaluation/rows.csv", "evaluation/details.json", "config.json"):
        texts.append(open(client.download_artifacts(run_id, artifact, str(tmp_path))).read())
    out, err = capfd.readouterr()
    texts += [out, err, "\n".join(engine.snapshot()["log_lines"])]
    for secret in (password, wrong):  # ...and no password anywhere
        assert not [t[:200] for t in texts if secret in t]


def test_the_job_file_that_holds_a_database_password_is_readable_by_its_owner_only(tmp_path):
    """The worker and a Resume connect with the run's database URL, so job.json keeps it whole: owner-only, like
    ~/.pgpass."""
    from core.train.jobs import JOB_FILE, read_job, write_job

    write_job(tmp_path, config={"database": "postgresql://shop:pw-kept@localhost/shop"})
    assert read_job(tmp_path)["config"]["database"].endswith("pw-kept@localhost/shop")
    assert (tmp_path / JOB_FILE).stat().st_mode & 0o777 == 0o600


@pytest.mark.slow  # starts the studio's process (~30 s on 2 cores): not for the inner loop
def test_a_taken_port_is_one_sentence_that_says_what_to_do(tmp_path):
    """A second studio on the same port (or any program holding it): exit 2 and a sentence naming the port and the
    way out, never Gradio's traceback (which named GRADIO_SERVER_PORT, a variable the studio does not read)."""
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        env = {**os.environ, "STUDIO_DATA_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1"}
        env.pop("STUDIO_PORT", None)
        done = subprocess.run(
            [sys.executable, "-m", "app", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"127.0.0.1:{port}: the port is in use" in done.stderr and f"--port {port + 1}" in done.stderr
    assert "Traceback" not in done.stderr and "GRADIO_SERVER_PORT" not in done.stderr
