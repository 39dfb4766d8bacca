"""The commands about a trained adapter: `evaluate` (base vs adapter execution accuracy, a per-row CSV), `export`
(a zip, a merged model, a GGUF file or an Ollama bundle, checked against the adapter), `register` and `versions`
(the MLflow Model Registry), and `install-converter` (llama.cpp's GGUF converter, which the set-up fetches).
"""

from pathlib import Path

from core.cli.flags import _config
from core.config import TrainConfig, default_value
from core.data import load_pairs
from core.evaluate import SIDE_LABELS, database_for, evaluate, evaluate_run, rows_csv, training_busy_message
from core.export import (
    VERSION_COLUMNS,
    export,
    list_versions,
    register_run,
    source_from_adapter,
    source_from_run,
)
from core.export.child import result_json
from core.export.converter import install
from core.paths import exports_dir
from core.prompt_record import PromptRecord
from core.redact import redact
from core.tracking import ensure_server
from core.train import BusyError, ConfigError, load_dataset


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


def cmd_install_converter(args) -> int:

    install()
    return 0
