"""Start the studio: `python -m app [--host H] [--port P]`.

Binds 127.0.0.1 by default. Any other address needs a username and password (STUDIO_USERNAME and
STUDIO_PASSWORD, or --auth-file with a `user:password` line) unless --insecure-no-auth is given.
Starts the embedded MLflow server unless MLFLOW_TRACKING_URI is set.
"""

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from app.ui import build_app
from core.paths import ASSETS, data_dir
from core.redact import redact
from core.tracking import TrackingError, ensure_server, wait_until_started
from core.train import get_engine
from core.train.models import bundled_model_dir
from core.train.queue import Queue, get_queue_runner
from core.train.tokenizer import import_renderer

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def read_auth(auth_file: str | None) -> tuple[str, str] | None:
    if auth_file:
        line = Path(auth_file).read_text(encoding="utf-8").strip().splitlines()[0]
        user, _, password = line.partition(":")
        return (user, password) if user and password else None
    user, password = os.environ.get("STUDIO_USERNAME", ""), os.environ.get("STUDIO_PASSWORD", "")
    return (user, password) if user and password else None


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m app", description="SQL Tune Studio (web UI)")
    parser.add_argument("--host", default=os.environ.get("STUDIO_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("STUDIO_PORT", 7860)))
    parser.add_argument("--auth-file", default=os.environ.get("STUDIO_AUTH_FILE"))
    parser.add_argument(
        "--insecure-no-auth",
        action="store_true",
        help="allow a non-local address without a password (not recommended)",
    )
    return parser.parse_args(argv)


def check_access(args) -> tuple[tuple[str, str] | None, str]:
    """(credentials or None, error message or ""). Refuses a non-local address without credentials."""
    try:
        auth = read_auth(args.auth_file)
    except (OSError, UnicodeDecodeError, IndexError) as e:
        return None, f"cannot read the auth file ({type(e).__name__}); it must hold one 'user:password' line."
    if args.auth_file and auth is None:
        return None, "the auth file must hold one 'user:password' line (both parts non-empty)."
    if args.host not in LOOPBACK and auth is None and not args.insecure_no_auth:
        return None, (
            f"binding {args.host} makes the studio reachable from other machines. Set STUDIO_USERNAME and "
            "STUDIO_PASSWORD (or --auth-file), or pass --insecure-no-auth if you really mean it."
        )
    return auth, ""


def main(argv=None) -> int:
    args = parse_args(argv)
    auth, error = check_access(args)
    if error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # The studio never forks (its children are spawned), so the tokenizer may count tokens on every core.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")

    page_up = threading.Event()
    try:
        # The page is served while MLflow comes up; its processes start once the page is up (on 2 cores, starting
        # them beside the studio's own imports made the first page later: median 6.0 s instead of 5.2 s).
        uri = ensure_server(wait=False, start_after=page_up)
    except TrackingError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    def recover():  # re-attach to a worker still training; runs whose worker died are marked and shown

        wait_until_started()
        get_engine().recover(uri)
        if Queue.load().running:  # the queue was running when the studio stopped: it carries on
            get_queue_runner(get_engine()).start()

    threading.Thread(target=recover, name="recover-jobs", daemon=True).start()  # MLflow may be slow or away
    print(f"MLflow: {redact(uri)}", flush=True)
    demo = build_app()
    demo.queue(default_concurrency_limit=8)
    try:
        demo.launch(
            server_name=args.host,
            server_port=args.port,
            auth=auth,
            css=(ASSETS / "studio.css").read_text(),
            footer_links=["api", "settings"],
            show_error=False,
            prevent_thread_lock=True,
            # downloads (generated pairs, adapter zips, exports) are made in the data folder: served from there
            # when STUDIO_DATA_DIR points outside the working directory and the temp folder, as they are by default
            allowed_paths=[str(data_dir())],
        )
    except OSError as e:
        # the port is taken (another studio, another program), or the address is not this machine's
        said = "the port is in use" if "empty port" in str(e) else str(e).splitlines()[0]
        print(
            f"error: cannot serve the studio on {args.host}:{args.port}: {said}. Stop the studio or program that "
            f"uses it, or start with --port {args.port + 1} (or STUDIO_PORT={args.port + 1}).",
            file=sys.stderr,
        )
        return 2
    page_up.set()
    # A worker process imports Unsloth (~15 s of CPU) once the page is up, not before: on 2 cores it would double
    # the time to the first page. It then waits for Start, which reaches its first step without that wait.
    get_engine().prewarm()
    threading.Thread(target=import_renderer, name="import-renderer", daemon=True).start()
    # The bundled model is converted once (~30 s, a child process): begin now, so a first Connect does not wait for it.
    threading.Thread(target=prepare_bundled, name="prepare-bundled-model", daemon=True).start()
    # SIGTERM (what service managers and container runtimes send) ends the studio like Ctrl+C: the page closes, and
    # exit handlers stop the embedded MLflow server (its own process group) instead of leaving it holding the port.
    signal.signal(signal.SIGTERM, _interrupt)
    demo.block_thread()
    if get_engine().stop():  # a deliberate shutdown: the run finishes its step and saves its adapter
        print(
            "The training run was asked to stop after its current step; its adapter is saved by the worker.",
            flush=True,
        )
    return 0


def prepare_bundled() -> None:
    """The bundled model's one-time conversion, in the background (a failure is said where the model is used)."""
    try:
        bundled_model_dir(progress=lambda line: None)
    except Exception:  # noqa: BLE001 - Train and Connect say what is wrong when they need the model
        pass


def _interrupt(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
