"""Command line over the core library.

    python -m core validate DATA [--db SOURCE] [--schema F] [--dialect D]   report; exit 1 when rows have errors
    python -m core generate --db SOURCE [--n 500] [--seed 7] [--out pairs.jsonl]   pairs made from the database
    python -m core preview DATA [--model M] [-n 3]                  rendered samples, trained part marked
    python -m core train DATA [--db SOURCE] [--schema F] [--model M] [--rank 16 --alpha 32 --steps 60 ...]
    python -m core evaluate --run RUN_ID [--db SOURCE]               base vs adapter on the run's (or that) database
    python -m core export --run RUN_ID|--adapter PATH --format zip|merged|gguf|ollama [--out DIR] [--name NAME]
                          [--gguf-type f16|q8_0] [--check 8]      merged/GGUF exports check themselves
    python -m core register --run RUN_ID --name NAME [--champion]       a version in the MLflow Model Registry
    python -m core versions                                          the registered versions
    python -m core resume [JOB]                                     continue a killed job from its checkpoint
    python -m core install-converter        fetch llama.cpp's GGUF converter into this environment (set-up runs it)

Bad input prints one line and exits 2; no tracebacks.
"""

import argparse
import os
import signal
import sys
import threading
import time
from dataclasses import fields
from pathlib import Path

from core.config import TrainConfig, default_value, validate_config
from core.data import SCHEMA_MODES, DataError, SchemaError, TemplateError, load_pairs, render_example
from core.db import connect, describe_source, generate, introspect, template_counts, write_jsonl
from core.defaults import recommended_settings
from core.evaluate import SIDE_LABELS, database_for, evaluate, evaluate_run, rows_csv, training_busy_message
from core.export import (
    DEFAULT_QUESTIONS,
    FORMATS,
    GGUF_TYPES,
    VERSION_COLUMNS,
    export,
    list_versions,
    register_run,
    source_from_adapter,
    source_from_run,
)
from core.export.child import result_json
from core.export.converter import install
from core.paths import SAMPLE_PAIRS, SAMPLE_SCHEMA, exports_dir
from core.prompt_record import PromptRecord
from core.redact import redact
from core.runstate import ENDED_BADLY, FINISHED
from core.tracking import TrackingError, ensure_server, run_url
from core.train import (
    BusyError,
    ConfigError,
    ModelError,
    ResumeError,
    StorageError,
    build_dataset,
    get_engine,
    gpu_available,
    load_dataset,
    load_tokenizer,
    resumable_jobs,
)

# CLI flag -> config field, for the flags whose name differs from the field
FLAG_FIELDS = {
    "steps": "max_steps",
    "lr": "learning_rate",
    "model": "model",
    "schema": "schema_path",
    "database": "database",
}
DB_HELP = (
    "the database to check the pairs on, take the schema from and evaluate on: a SQLite or DuckDB file, a folder "
    "of CSV/Parquet files, a postgresql:// URL, a .sql script, or 'sample'"
)


def _user_errors():

    return (
        DataError,
        SchemaError,
        ModelError,
        ConfigError,
        BusyError,
        TemplateError,
        TrackingError,
        ResumeError,
        StorageError,
        FileNotFoundError,
        ConnectionError,
        ValueError,
    )


def _config(args) -> TrainConfig:
    """The flags given, then the settings recommended for the model on this machine, then the defaults."""

    database = getattr(args, "database", None) or ""
    schema = args.schema or ("" if database else getattr(args, "default_schema", ""))
    values = {
        "data_path": args.data,
        "schema_path": schema,
        "dialect": args.dialect or _dialect_of(database),
        "database": database,
    }
    for f in fields(TrainConfig):
        flag = next((k for k, v in FLAG_FIELDS.items() if v == f.name), f.name)
        value = getattr(args, flag, None)
        if value is not None and f.name not in values:
            values[f.name] = value
    model = values.get("model") or default_value("model")
    if values.get("evaluate_after") is False and getattr(args, "eval_fraction", None) is None:
        values["eval_fraction"] = 0.0  # --no-evaluate: nothing will be scored, so every pair trains
    for name, value in recommended_settings(model, gpu_available()).items():
        values.setdefault(name, value)
    return TrainConfig(**values)


def _dialect_of(database: str) -> str:
    """The connected database's own dialect (the default when --dialect is not given), else postgres."""
    if not database:
        return "postgres"

    return connect(database).dialect


def cmd_generate(args) -> int:
    """Question/SQL pairs made from the database's schema and values, each executed; written as JSONL."""

    start = time.time()
    db = connect(args.database)
    info = introspect(db)
    result = generate(db, n=args.n, seed=args.seed, info=info, dialect=args.dialect or db.dialect)
    write_jsonl(result.pairs, args.out)
    counts = template_counts(result.pairs)
    print(
        f"{len(result.pairs)} pairs ({result.stats.queries} distinct queries) from {describe_source(args.database)} "
        f"in {time.time() - start:.1f} s ({len(counts)} kinds: "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
        + f") -> {args.out}"
    )
    for note in [*info.problems, *result.stats.notes(args.n, len(result.pairs))]:
        print(f"note: {note}")
    return 0


def cmd_validate(args) -> int:

    cfg = _config(args)
    pairs = load_pairs(
        cfg.data_path
    )  # a broken file answers at once, before any model or tokenizer is loaded
    built = build_dataset(cfg, load_tokenizer(cfg.model, cfg.trust_remote_code), pairs=pairs)  # counts tokens
    schema = built.schema
    print(
        f"{args.data}: {len(pairs)} rows" + (f", schema with {len(schema.tables)} tables" if schema else "")
    )
    print(built.report.as_text(limit=args.limit))
    return 1 if built.report.error_rows else 0


def cmd_preview(args) -> int:

    cfg = _config(args)
    tokenizer = load_tokenizer(cfg.model, cfg.trust_remote_code)
    pairs, _, schema_text, _ = load_dataset(cfg)
    fmt = cfg.prompt_format(schema_text)
    for pair in pairs[: args.n]:
        ex = render_example(fmt.messages(pair), tokenizer)
        print(
            f"----- row {pair.row}: {len(ex.token_ids)} tokens, {sum(ex.trained)} trained (between >>> and <<<)"
        )
        print(ex.prompt_text + ">>>" + ex.answer_text + "<<<")
    return 0


def cmd_train(args) -> int:

    cfg = _config(args)
    problems = validate_config(cfg)
    if problems:
        raise ConfigError(problems)
    load_pairs(cfg.data_path)  # a broken file is refused before the tracking server is started
    if args.prepare:
        folder = get_engine().prepare(cfg)
        print(
            f"job folder: {folder}\nstart its workers on every machine with: torchrun --nnodes=N "
            f"--nproc_per_node=GPUS --node_rank=RANK --rdzv_backend=c10d --rdzv_endpoint=HOST:29500 "
            f"-m core.job.worker {folder}"
        )
        return 0
    uri = ensure_server()
    engine = _recovered_engine(uri)
    job = engine.start(cfg)
    print(
        f"job {job}: training {cfg.model} on {cfg.data_path} for {cfg.max_steps} steps (MLflow: {redact(uri)})",
        flush=True,
    )
    return _follow(engine, uri)


def _recovered_engine(uri: str):
    """The engine, after marking the jobs of dead workers as died (the CLI is a 'next start' too)."""

    engine = get_engine()
    for interrupted in engine.recover(uri):
        print(f"note: {interrupted.message}", flush=True)
    return engine


def cmd_resume(args) -> int:
    """Continue a killed job from its last checkpoint, in the same MLflow run."""

    uri = ensure_server()
    engine = _recovered_engine(uri)
    job_id = args.job or next((j["job_id"] for j in resumable_jobs()), None)
    if not job_id:
        raise ConfigError({"job": "no interrupted job with a checkpoint to resume"})
    engine.resume(job_id)
    print(f"job {job_id}: resuming (MLflow: {redact(uri)})", flush=True)
    return _follow(engine, uri)


def _print_new(snap: dict, printed: int) -> None:
    new = snap["log_count"] - printed
    for line in snap["log_lines"][-new:] if new > 0 else []:
        print(line, flush=True)


def _follow(engine, uri: str) -> int:

    printed = 0
    try:
        while True:
            snap = engine.snapshot()
            _print_new(snap, printed)
            printed = snap["log_count"]
            if snap["status"] in FINISHED:
                break
            time.sleep(1)
    except KeyboardInterrupt:
        print(
            "stopping after the current step; the adapter will be saved (Ctrl-C again: stop now) ...",
            flush=True,
        )
        engine.stop()
        try:
            snap = engine.wait()
        except KeyboardInterrupt:
            print(
                "stopping now: ending the training process at once (its last checkpoint stays resumable)",
                flush=True,
            )
            engine.stop_now()
            snap = engine.wait()
    _print_new(snap, printed)
    tps = f"{snap['tokens_per_second']:.0f} tokens/s" if snap["tokens_per_second"] else ""
    print(
        f"\nstatus: {snap['status']}  steps: {snap['step']}/{snap['total_steps']}  "
        f"time: {snap['elapsed']:.0f} s ({snap['elapsed'] / max(snap['step'], 1):.1f} s/step)  {tps}"
    )
    if snap["mlflow_run_id"]:
        print(
            f"MLflow run: {snap['mlflow_run_id']}  "
            f"{redact(run_url(uri, snap['experiment_id'], snap['mlflow_run_id']))}"
        )
    if snap["mlflow_warning"]:
        print(snap["mlflow_warning"])
    if snap["adapter_path"]:
        print(f"adapter: {snap['adapter_path']}")
    if snap["status"] in ENDED_BADLY:
        print(f"error: {snap['error']}")
        return 1
    return 0


def cmd_evaluate(args) -> int:
    """Base vs adapter execution accuracy; prints the summary and writes the per-row CSV. Prompts come from the
    adapter's prompt record (the one training rendered)."""

    if bool(args.run) == bool(args.adapter):
        raise ConfigError({"evaluate": "give either --run RUN_ID or --adapter PATH (with --data)"})
    if busy := training_busy_message():
        raise BusyError(busy)
    db_data = args.db_data
    if args.run:
        ensure_server()
        report = evaluate_run(args.run, args.database, db_data, include_base=args.base, pairs_file=args.data)
    else:
        if not args.data:
            raise ConfigError({"data": "--adapter needs --data: the question/SQL pairs to evaluate on"})
        if not Path(args.adapter, "adapter_config.json").exists():
            raise FileNotFoundError(f"No LoRA adapter (adapter_config.json) in {args.adapter}")
        built = args.database in (None, "duckdb")  # the DuckDB built from the schema (and --db-data rows)
        if built:
            args.database = None
        cfg = _config(args)
        record = PromptRecord.load(Path(args.adapter))
        if record is None:  # an adapter saved before prompt records: its prompt is rebuilt from the flags
            record = PromptRecord.for_run(cfg, load_dataset(cfg)[2])
            print(
                "note: this adapter has no prompt record (studio_prompt.json); its prompt is rebuilt from --db, "
                "--schema and --dialect, which must be the ones it trained with"
            )
        pairs = load_pairs(args.data)
        db = database_for(cfg, "duckdb" if built else None, db_data)
        report = evaluate(
            pairs, db, record, args.adapter, include_base=args.base, trust_remote_code=cfg.trust_remote_code
        )
    print(f"{report.rows} rows evaluated {report.timing()} on {redact(args.database or 'the run database')}")
    for name, summary in report.summaries.items():
        cats = ", ".join(f"{k}: {v}" for k, v in summary["categories"].items() if v)
        print(
            f"{SIDE_LABELS.get(name, name):30s} execution accuracy {summary['exec_accuracy']:.1%}  "
            f"with the schema check {summary['exec_accuracy_checked']:.1%}  valid SQL {summary['valid_sql_rate']:.1%}  "
            f"executes {summary['executable_rate']:.1%}  exact match {summary['exact_match']:.1%}  ({cats})"
        )
    Path(args.out).write_text(rows_csv(report), encoding="utf-8")
    print(f"per-row table: {args.out}")
    return 0


def cmd_export(args) -> int:
    """An adapter zip, a merged 16-bit model, a GGUF file or an Ollama bundle, from a run or an adapter folder;
    merged and GGUF exports then check themselves on the run's held-out questions."""

    if bool(args.run) == bool(args.adapter):
        raise ConfigError({"export": "give either --run RUN_ID or --adapter PATH"})
    if args.run:
        ensure_server()
        source = source_from_run(args.run)
    else:
        record = None  # an adapter folder saved without its prompt record: rebuilt from --schema/--dialect
        if args.schema or args.dialect:
            record = PromptRecord.from_config(
                TrainConfig(
                    model=args.model or default_value("model"),
                    schema_path=args.schema or "",
                    dialect=args.dialect or "postgres",
                )
            )
        source = source_from_adapter(args.adapter, args.model, record)
    out = Path(args.out) if args.out else exports_dir()
    result = export(
        source,
        args.format,
        out,
        args.name or "",
        progress=lambda line: print(line, flush=True),
        gguf_type=args.gguf_type,
        questions=args.check,
    )
    if args.result_json:  # the studio runs exports in a child process and reads the result from here
        Path(args.result_json).write_text(result_json(result), encoding="utf-8")
    print(result.summary)
    if result.command:
        print(f"then: {result.command}")
    return 0


def cmd_register(args) -> int:

    ensure_server()
    version = register_run(args.run, args.name, champion=args.champion)
    alias = " (alias champion)" if args.champion else ""
    uri = f"models:/{version.name}/{version.version}"
    print(f"registered {version.name} version {version.version}{alias}: {uri}")
    return 0


def cmd_versions(args) -> int:

    ensure_server()
    rows = list_versions()
    print("\t".join(VERSION_COLUMNS))
    for row in rows:
        print("\t".join(str(v) for v in row))
    if not rows:
        print("no registered versions yet: python -m core register --run RUN_ID --name NAME")
    return 0


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


def cmd_install_converter(args) -> int:

    install()
    return 0


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
    common(t := sub.add_parser("train", help="train a LoRA adapter"), data_default=str(SAMPLE_PAIRS))
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
    ):
        kind = type(default_value(field_name))
        t.add_argument(
            "--" + name.replace("_", "-"), dest=name, type=kind, default=None, help=_help(field_name)
        )
    t.add_argument("--gpus", type=_gpus, default=None, metavar="N|all", help=_help("gpus"))
    t.add_argument("--4bit", dest="load_in_4bit", action=argparse.BooleanOptionalAction, default=None)
    t.add_argument("--packing", dest="packing", action=argparse.BooleanOptionalAction, default=None)
    t.add_argument(
        "--prepare",
        action="store_true",
        help="only write the job folder and print how to start its workers with torchrun (several machines)",
    )
    t.add_argument(
        "--evaluate",
        dest="evaluate_after",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="after training, evaluate base vs adapter on the held-out rows (default: on)",
    )
    t.add_argument("--database-name", dest="database_name", default=None, help=_help("database_name"))

    g = sub.add_parser("generate", help="generate question/SQL pairs from a database (each one executed)")
    g.add_argument("--db", dest="database", required=True, help=DB_HELP)
    g.add_argument("--n", type=int, default=500, help="how many pairs (fewer when the database offers fewer)")
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
    e.add_argument("--out", default="evaluation.csv", help="where to write the per-row table")

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
        "evaluate": cmd_evaluate,
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
