"""The commands about a trained adapter: `evaluate` (base vs adapter execution accuracy, a per-row CSV), `ask` (one
question answered from the shell: the SQL and its rows), `export`
(a zip, a merged model, a GGUF file or an Ollama bundle, checked against the adapter), `register` and `versions`
(the MLflow Model Registry), and `install-converter` (llama.cpp's GGUF converter, which the set-up fetches).
"""

from pathlib import Path

from core.cli.flags import _config
from core.config import TrainConfig, default_value
from core.data import load_pairs
from core.evaluate import (
    SIDE_LABELS,
    GeneratorProcess,
    candidates_for,
    database_for,
    evaluate,
    evaluate_run,
    generating,
    load_run_inputs,
    rows_csv,
    schema_tables,
    training_busy_message,
)
from core.evaluate.ask import ask_model
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
        report = evaluate_run(
            args.run,
            args.database,
            db_data,
            include_base=args.base,
            pairs_file=args.data,
            candidates=args.candidates,
        )
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
            pairs,
            db,
            record,
            args.adapter,
            include_base=args.base,
            trust_remote_code=cfg.trust_remote_code,
            candidates=candidates_for(cfg, args.candidates),
        )
    print(f"{report.rows} rows evaluated {report.timing()} on {redact(args.database or 'the run database')}")
    for name, summary in report.summaries.items():
        cats = ", ".join(f"{k}: {v}" for k, v in summary["categories"].items() if v)
        print(
            f"{SIDE_LABELS.get(name, name):30s} execution accuracy {summary['exec_accuracy']:.1%}  "
            f"with the schema check {summary['exec_accuracy_checked']:.1%}  valid SQL {summary['valid_sql_rate']:.1%}  "
            f"executes {summary['executable_rate']:.1%}  exact match {summary['exact_match']:.1%}  ({cats})"
        )
        if "exec_accuracy_voted" in summary:
            print(
                f"{'':30s} with voting ({summary['candidates']} candidates) {summary['exec_accuracy_voted']:.1%}"
            )
    Path(args.out).write_text(rows_csv(report), encoding="utf-8")
    print(f"per-row table: {args.out}")
    return 0


def cmd_ask(args) -> int:
    """One question answered by a run's adapter on the run's database (or --db): the SQL, then its rows."""
    question = (args.question or "").strip()
    if not question:
        raise ConfigError(
            {"question": 'ask a question in words: python -m core ask --run RUN_ID "How many ...?"'}
        )
    if busy := training_busy_message():
        raise BusyError(busy)
    ensure_server()
    cfg, _, adapter, record = load_run_inputs(args.run)
    db = database_for(cfg, args.database)
    n = candidates_for(cfg, args.candidates)
    tables = schema_tables(record) if args.schema_check else None
    with generating("a question from the shell"), GeneratorProcess(keep=1) as generator:
        answer = ask_model(generator, record, adapter, question, db, cfg.trust_remote_code, n, tables)
    if not answer.sql:
        print(f"The adapter wrote no SQL; it answered: {' '.join(answer.raw.split())[:300]}")
        return 1
    agree = (
        f", {answer.ballot.votes_of(answer.ballot.winner)} of {n} candidates agree" if answer.ballot else ""
    )
    print(f"-- {record.base_model} + the adapter of run {args.run}{agree}")
    print(answer.shown)
    result = answer.result
    if not result.ok:
        print(f"It did not run on {redact(args.database or cfg.database or 'the database')}: {result.error}")
        return 1
    print(
        f"\n{len(result.rows)} row{'s' if len(result.rows) != 1 else ''}"
        + (" (first ones)" if result.truncated else "")
    )
    print("\t".join(result.columns))
    for row in result.rows[: args.limit]:
        print("\t".join("NULL" if v is None else str(v) for v in row))
    if len(result.rows) > args.limit:
        print(f"... {len(result.rows) - args.limit} more (--limit N shows more)")
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
