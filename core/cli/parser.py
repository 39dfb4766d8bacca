"""The command line's parser: each command and its flags (`python -m core COMMAND --help`). A flag that sets a config
field takes its help text from the field (core.config), so the CLI and the Train tab say the same.
"""

import argparse

from core.config import TrainConfig, default_value
from core.data import SCHEMA_MODES
from core.export import DEFAULT_QUESTIONS, FORMATS, GGUF_TYPES
from core.paths import SAMPLE_PAIRS, SAMPLE_SCHEMA

DB_HELP = (
    "the database to check the pairs on, take the schema from and evaluate on: a SQLite or DuckDB file, a folder "
    "of CSV/Parquet files, a postgresql:// URL, a .sql script, or 'sample'"
)


def _help(field_name: str) -> str:
    """A config field's help text for argparse, which formats help strings with % (so "10%" must be "10%%")."""
    return TrainConfig.help(field_name).replace("%", "%%")


def _gpus(text: str) -> int:
    if text.strip().lower() == "all":
        return 0
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of GPUs: give N or 'all'") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core", description="Text-to-SQL LoRA fine-tuning studio (CLI)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p, data_default=None):
        p.add_argument(
            "data",
            nargs="?" if data_default else None,
            default=data_default,
            help="question/SQL pairs (JSON, JSONL or CSV)",
        )
        p.add_argument("--db", dest="database", default=None, help=DB_HELP)
        p.add_argument(
            "--schema", default=None, help="DDL file (default with --db: the database's own tables)"
        )
        p.set_defaults(default_schema=str(SAMPLE_SCHEMA) if data_default else "")
        p.add_argument(
            "--dialect", default=None, help="SQL dialect (default: the database's own, else postgres)"
        )
        p.add_argument("--model", default=None, help=_help("model"))
        p.add_argument(
            "--trust-remote-code",
            dest="trust_remote_code",
            action="store_true",
            default=None,
            help=_help("trust_remote_code"),
        )
        p.add_argument(
            "--schema-in-prompt",
            dest="schema_in_prompt",
            choices=SCHEMA_MODES,
            default=None,
            help=_help("schema_in_prompt"),
        )

    common(v := sub.add_parser("validate", help="check a data file and print the report"))
    v.add_argument("--limit", type=int, default=50, help="findings to print")
    common(pv := sub.add_parser("preview", help="print rendered training samples"))
    pv.add_argument("-n", type=int, default=3)

    def training(t):
        common(t, data_default=str(SAMPLE_PAIRS))
        for name, field_name in (
            ("rank", "rank"),
            ("alpha", "alpha"),
            ("steps", "max_steps"),
            ("lr", "learning_rate"),
            ("batch_size", "batch_size"),
            ("grad_accum", "grad_accum"),
            ("warmup_steps", "warmup_steps"),
            ("max_seq_length", "max_seq_length"),
            ("dropout", "dropout"),
            ("seed", "seed"),
            ("eval_fraction", "eval_fraction"),
            ("experiment", "experiment"),
            ("run_name", "run_name"),
            ("checkpoint_every", "checkpoint_every"),
            ("candidates", "candidates"),
            ("epochs", "epochs"),
            ("grpo_steps", "grpo_steps"),
            ("grpo_generations", "grpo_generations"),
            ("grpo_lr", "grpo_learning_rate"),
        ):
            kind = type(default_value(field_name))
            t.add_argument(
                "--" + name.replace("_", "-"), dest=name, type=kind, default=None, help=_help(field_name)
            )
        t.add_argument("--gpus", type=_gpus, default=None, metavar="N|all", help=_help("gpus"))
        t.add_argument("--4bit", dest="load_in_4bit", action=argparse.BooleanOptionalAction, default=None)
        t.add_argument("--packing", dest="packing", action=argparse.BooleanOptionalAction, default=None)
        t.add_argument(
            "--gradient-checkpointing",
            dest="gradient_checkpointing",
            action=argparse.BooleanOptionalAction,
            default=None,
            help=_help("gradient_checkpointing"),
        )
        t.add_argument(
            "--evaluate",
            dest="evaluate_after",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="after training, evaluate base vs adapter on the held-out rows (default: on)",
        )
        t.add_argument("--database-name", dest="database_name", default=None, help=_help("database_name"))
        for name in ("keep_checkpoints", "score_checkpoints"):  # switches: absent = the config's default
            t.add_argument(
                "--" + name.replace("_", "-"), dest=name, action="store_true", default=None, help=_help(name)
            )

    training(t := sub.add_parser("train", help="train a LoRA adapter"))
    t.add_argument(
        "--prepare",
        action="store_true",
        help="only write the job folder and print how to start its workers with torchrun (several machines)",
    )
    training(
        sw := sub.add_parser(
            "sweep",
            help="several runs that differ in a few settings (a grid, or N Optuna trials), then the leaderboard",
        )
    )
    sw.add_argument(
        "--grid",
        action="extend",
        nargs="+",
        default=[],
        metavar="NAME=V1,V2",
        help="two to four values of lr, rank, steps or schema each (e.g. lr=5e-4,1e-3 schema=none,full); every combination is a run",
    )
    sw.add_argument("--trials", type=int, default=0, help="search: N trials drawn by Optuna (0: the grid)")
    sw.add_argument("--storage", default=None, help="the Optuna storage of a search (default: SQLite here)")
    sw.add_argument("--study", default=None, help="a name for the search's study")
    sw.add_argument(
        "--parallel",
        type=int,
        default=1,
        metavar="N",
        help="a grid's runs side by side, N at a time, one GPU each (a host with several GPUs)",
    )
    w = sub.add_parser("sweep-worker", help="join a search another machine started: run its remaining trials")
    w.add_argument("--study", required=True, help="the study's name (printed by `sweep --trials`)")
    w.add_argument("--storage", required=True, help="the Optuna storage shared by the machines")

    g = sub.add_parser("generate", help="generate question/SQL pairs from a database (each one executed)")
    g.add_argument("--db", dest="database", required=True, help=DB_HELP)
    g.add_argument(
        "--n",
        type=int,
        default=None,
        help="how many pairs (fewer when the database offers fewer); default: 500 on a CPU, 2,000 with a GPU",
    )
    g.add_argument("--seed", type=int, default=7, help="the same seed gives the same pairs")
    g.add_argument("--dialect", default=None, help="dialect of the SQL (default: the database's own)")
    g.add_argument("--out", default="generated_pairs.jsonl", help="the JSONL file to write")

    r = sub.add_parser("resume", help="continue a killed training job from its last checkpoint")
    r.add_argument("job", nargs="?", help="the job id (default: the newest interrupted job)")

    e = sub.add_parser("evaluate", help="execution accuracy of an adapter (and the base model)")
    e.add_argument("--run", help="MLflow run id of a training run (uses its held-out rows)")
    e.add_argument("--adapter", help="an adapter folder (with --data)")
    e.add_argument(
        "--data",
        help="question/SQL pairs to evaluate on (with --adapter; with --run: score this file "
        "instead of the run's held-out rows, without logging it to the run)",
    )
    e.add_argument("--schema", help="DDL file")
    e.add_argument("--dialect", default=None)
    e.add_argument("--model", default=None, help="the base model the adapter was trained on")
    e.add_argument(
        "--trust-remote-code",
        dest="trust_remote_code",
        action="store_true",
        default=None,
        help=_help("trust_remote_code"),
    )
    e.add_argument(
        "--db",
        dest="database",
        default=None,
        help="where the SQL runs: default the run's own database (else DuckDB built from the schema); "
        "duckdb, a postgresql:// URL, a SQLite/DuckDB file, CSV/Parquet files or 'sample'",
    )
    e.add_argument(
        "--db-data", dest="db_data", help="rows for DuckDB: a SQL script, a CSV folder or a SQLite file"
    )
    e.add_argument(
        "--base", action=argparse.BooleanOptionalAction, default=True, help="also evaluate the base model"
    )
    e.add_argument(
        "--candidates",
        type=int,
        default=None,
        metavar="N",
        help=_help("candidates") + " Default: the run's setting (with --adapter: this machine's default).",
    )
    e.add_argument("--out", default="evaluation.csv", help="where to write the per-row table")

    a = sub.add_parser(
        "ask", help="answer one question with a run's adapter: its SQL and the rows it returns"
    )
    a.add_argument(
        "question", nargs="?", default="", help='the question, in quotes: "How many orders are there?"'
    )
    a.add_argument("--run", required=True, help="MLflow run id of a training run")
    a.add_argument(
        "--db",
        dest="database",
        default=None,
        help="where the SQL runs (default: the run's own database); " + DB_HELP,
    )
    a.add_argument(
        "--candidates",
        type=int,
        default=None,
        metavar="N",
        help=_help("candidates") + " Default: the run's setting.",
    )
    a.add_argument(
        "--schema-check",
        dest="schema_check",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="repair a table or column name the database does not have to the one nearest it (default: on)",
    )
    a.add_argument("--limit", type=int, default=20, help="rows to print")
    x = sub.add_parser(
        "export", help="export an adapter: zip with README, merged model, GGUF file or Ollama bundle"
    )
    x.add_argument("--run", help="MLflow run id of a training run")
    x.add_argument("--adapter", help="an adapter folder (data/outputs/JOB/adapter)")
    x.add_argument(
        "--format",
        choices=list(FORMATS),
        default="zip",
        help="; ".join(f"{k}: {v}" for k, v in FORMATS.items()),
    )
    x.add_argument("--out", help="folder to write into (default: the data folder's exports/)")
    x.add_argument("--name", help="name of the export (sanitised; default: the run's name)")
    x.add_argument("--model", default=None, help="base model, for an adapter folder that does not record it")
    x.add_argument("--schema", help="DDL file, for an adapter folder that does not record its prompt")
    x.add_argument("--dialect", default=None, help="SQL dialect, with --schema")
    x.add_argument(
        "--gguf-type",
        dest="gguf_type",
        choices=list(GGUF_TYPES),
        default="f16",
        help="; ".join(f"{k}: {v}" for k, v in GGUF_TYPES.items()),
    )
    x.add_argument(
        "--check",
        type=int,
        default=DEFAULT_QUESTIONS,
        metavar="K",
        help="after a merged/GGUF/Ollama export, ask the export and the adapter the first K held-out "
        "questions of the training run (its split.json; for --adapter, the job folder's) and record "
        "how many answers are identical; 0 turns it off",
    )
    x.add_argument(
        "--result-json", dest="result_json", help=argparse.SUPPRESS
    )  # for the studio's child process
    r = sub.add_parser("register", help="register a run's adapter in the MLflow Model Registry")
    r.add_argument("--run", required=True, help="MLflow run id of a training run")
    r.add_argument("--name", required=True, help="registered model name (letters, digits, . - _)")
    r.add_argument("--champion", action="store_true", help="point the alias 'champion' at the new version")
    sub.add_parser("versions", help="list the registered versions")
    sub.add_parser(
        "install-converter",
        help="fetch llama.cpp's GGUF converter (pinned in requirements-converter.txt) "
        "into this environment; the set-up runs it",
    )
    return parser
