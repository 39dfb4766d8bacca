"""Command line over the core library.

    python -m core validate DATA [--db SOURCE] [--schema F] [--dialect D]   report; exit 1 when rows have errors
    python -m core generate --db SOURCE [--n 500] [--seed 7] [--out pairs.jsonl]   pairs made from the database
    python -m core preview DATA [--model M] [-n 3]                  rendered samples, trained part marked
    python -m core train DATA [--db SOURCE] [--schema F] [--model M] [--rank 16 --alpha 32 --steps 60 ...]
    python -m core evaluate --run RUN_ID [--db SOURCE]               base vs adapter on the run's (or that) database
    python -m core ask --run RUN_ID "How many ...?" [--db SOURCE] [--candidates N]   the SQL and its rows
    python -m core export --run RUN_ID|--adapter PATH --format zip|merged|gguf|ollama [--out DIR] [--name NAME]
                          [--gguf-type f16|q8_0] [--check 8]      merged/GGUF exports check themselves
    python -m core register --run RUN_ID --name NAME [--champion]       a version in the MLflow Model Registry
    python -m core versions                                          the registered versions
    python -m core resume [JOB]                                     continue a killed job from its checkpoint
    python -m core sweep DATA --grid lr=5e-4,1e-3 [--grid schema=none,full] [train flags]   a grid, then the leaderboard
    python -m core sweep DATA --grid rank=8,16,32 --trials 6 [--storage URL]   N trials drawn by Optuna, pruned on loss
    python -m core sweep-worker --study NAME --storage URL           join that search from another machine
    python -m core install-converter        fetch llama.cpp's GGUF converter into this environment (set-up runs it)

Bad input prints one line and exits 2; no tracebacks.

The commands live in core.cli.data_commands, core.cli.train_commands, core.cli.sweep_commands and
core.cli.adapter_commands, their flags in
core.cli.parser; core.cli.flags turns the flags into a TrainConfig. `main` runs one command.
"""

import os
import signal
import sys
import threading

from core.cli.adapter_commands import (
    cmd_ask,
    cmd_evaluate,
    cmd_export,
    cmd_install_converter,
    cmd_register,
    cmd_versions,
)
from core.cli.data_commands import cmd_generate, cmd_preview, cmd_validate
from core.cli.flags import _config
from core.cli.parser import build_parser
from core.cli.sweep_commands import cmd_sweep, cmd_sweep_worker
from core.cli.train_commands import cmd_resume, cmd_train
from core.train import USER_ERRORS

__all__ = ["_config", "build_parser", "main"]  # what the tests and `python -m core` use


def _user_errors():
    return (*USER_ERRORS, FileNotFoundError, ConnectionError, ValueError)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    os.environ.setdefault(
        "TOKENIZERS_PARALLELISM", "true"
    )  # no forks here either: count tokens on every core
    args = build_parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        # SIGTERM like Ctrl+C: a training run is asked to stop (its adapter is saved), exit handlers stop the
        # embedded MLflow server.
        signal.signal(signal.SIGTERM, _interrupt)
    handler = {
        "validate": cmd_validate,
        "generate": cmd_generate,
        "preview": cmd_preview,
        "train": cmd_train,
        "resume": cmd_resume,
        "sweep": cmd_sweep,
        "sweep-worker": cmd_sweep_worker,
        "evaluate": cmd_evaluate,
        "ask": cmd_ask,
        "export": cmd_export,
        "register": cmd_register,
        "versions": cmd_versions,
        "install-converter": cmd_install_converter,
    }[args.command]
    try:
        return handler(args)
    except _user_errors() as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
