"""Does the adapter write better SQL? Execute base and fine-tuned SQL on a real database and compare.

    report = evaluate(pairs, db, cfg, adapter_path)   # base vs adapter on the same held-out rows
    log_to_mlflow(run_id, report)                      # eval_* and base_* metrics + the per-row table

The held-out rows of a training run are the ones its split.json artifact names (never trained on).
"""

import csv
import io
import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field

from core.config import TrainConfig
from core.data import Pair
from core.db import CORRECT, NOT_EXECUTED, WRONG, Database, QueryResult
from core.evaluate.metrics import extract_sql, has_order_by, normalise_sql, parses, results_match

CATEGORIES = [CORRECT, WRONG, "runtime error", "unknown table/column", "syntax error", "timeout", NOT_EXECUTED]


@dataclass
class EvalRow:
    row: int
    question: str
    gold_sql: str
    raw: str  # the model's whole answer
    sql: str  # the SQL extracted from it
    category: str
    error: str = ""
    valid: bool = False
    executed: bool = False
    exact: bool = False
    gold_rows: list = field(default_factory=list)
    pred_rows: list = field(default_factory=list)


@dataclass
class EvalReport:
    rows: int
    seconds: float
    summaries: dict[str, dict]  # "base" / "adapter" -> summary
    results: dict[str, list[EvalRow]]
    gold_failures: int = 0  # gold queries that did not run on this database (left out of the scores)
    side_seconds: dict[str, float] = field(default_factory=dict)  # "base" / "adapter" -> load, generate, score

    def timing(self) -> str:
        """'in 61 s (base 24 s, adapter 37 s)': where an evaluation's time went."""
        sides = ", ".join(f"{name} {s:.0f} s" for name, s in self.side_seconds.items())
        return f"in {self.seconds:.0f} s" + (f" ({sides})" if sides else "")

    def side_by_side(self) -> list[dict]:
        base, tuned = self.results.get("base", []), self.results.get("adapter", [])
        out = []
        for b, t in zip(base, tuned, strict=False):
            out.append({"row": b.row, "question": b.question, "gold_sql": b.gold_sql, "base_sql": b.sql,
                        "adapter_sql": t.sql, "base": b.category, "adapter": t.category, "change": change(b, t)})
        return out


def change(base: EvalRow, tuned: EvalRow) -> str:
    b, t = base.category == CORRECT, tuned.category == CORRECT
    return {(False, True): "fixed by fine-tuning", (True, False): "broken by fine-tuning",
            (True, True): "both correct", (False, False): "still wrong"}[(b, t)]


def score(pair: Pair, raw: str, gold: QueryResult, db: Database, dialect: str) -> EvalRow:
    sql = extract_sql(raw)
    row = EvalRow(pair.row, pair.question, pair.sql, raw, sql, category="", valid=parses(sql, dialect),
                  exact=bool(sql) and normalise_sql(sql, dialect) == normalise_sql(pair.sql, dialect),
                  gold_rows=gold.rows[:50])
    result = db.execute(sql, dialect) if sql else QueryResult(False, category="syntax error", error="no SQL in the answer")
    row.executed, row.pred_rows = result.ok, result.rows[:50]
    if not result.ok:
        row.category, row.error = result.category, result.error
    elif results_match(gold.rows, result.rows, ordered=has_order_by(pair.sql, dialect)):
        row.category = CORRECT
    else:
        row.category = WRONG
    return row


def summarize(rows: list[EvalRow]) -> dict:
    n = max(len(rows), 1)
    counts = Counter(r.category for r in rows)
    return {"n": len(rows), "exec_accuracy": counts[CORRECT] / n, "valid_sql_rate": sum(r.valid for r in rows) / n,
            "executable_rate": sum(r.executed for r in rows) / n, "exact_match": sum(r.exact for r in rows) / n,
            "categories": {c: counts.get(c, 0) for c in CATEGORIES}}


def evaluate(pairs: list[Pair], db: Database, cfg: TrainConfig, schema_text: str, adapter_path: str | None = None,
             include_base: bool = True, progress=print, batch_size: int = 0) -> EvalReport:
    """Generate SQL greedily for each pair with the base model and/or the adapter (in a child process: the models
    never load into the studio's), execute, compare."""
    from core.evaluate.generate import generating
    from core.evaluate.generator_process import GeneratorProcess

    with generating(), GeneratorProcess(keep=1) as generator:
        return _evaluate(pairs, db, cfg, schema_text, adapter_path, include_base, progress, batch_size, generator)


def _evaluate(pairs, db, cfg, schema_text, adapter_path, include_base, progress, batch_size, generator):
    start = time.time()
    golds = [db.execute(p.sql, cfg.dialect) for p in pairs]
    usable = [(p, g) for p, g in zip(pairs, golds, strict=True) if g.ok]
    if not usable:
        raise ValueError(f"None of the {len(pairs)} gold SQL queries ran on {db.label} (first error: {golds[0].error}). "
                         "Give the schema and the data of your database (a SQL script, CSVs or a SQLite file), or "
                         "connect to PostgreSQL.")
    if len(usable) < len(pairs):
        progress(f"{len(pairs) - len(usable)} gold queries did not run on this database; they are left out")
    models = ([("base", None)] if include_base else []) + ([("adapter", adapter_path)] if adapter_path else [])
    results: dict[str, list[EvalRow]] = {}
    side_seconds: dict[str, float] = {}
    for name, adapter in models:
        side_start = time.time()
        progress(f"generating SQL for {len(usable)} rows with the {name} model ...")
        answers = generator.generate(cfg.model, adapter, cfg.trust_remote_code,
                                     [_prompt(p, cfg, schema_text) for p, _ in usable], batch_size=batch_size,
                                     max_new_tokens=96)
        results[name] = [score(p, raw, g, db, cfg.dialect) for (p, g), raw in zip(usable, answers, strict=True)]
        side_seconds[name] = time.time() - side_start
    summaries = {name: summarize(rows) for name, rows in results.items()}
    return EvalReport(len(usable), time.time() - start, summaries, results, len(pairs) - len(usable), side_seconds)


def _prompt(pair: Pair, cfg: TrainConfig, schema_text: str) -> list[dict]:
    return cfg.prompt_format(schema_text).messages(pair)[:-1]


def rows_csv(report: EvalReport) -> str:
    buffer = io.StringIO()
    side = report.side_by_side()
    if side:
        fields = list(side[0])
    else:
        name = next(iter(report.results), "")
        side = [{"row": r.row, "question": r.question, "gold_sql": r.gold_sql, f"{name}_sql": r.sql,
                 name: r.category, "error": r.error} for r in report.results.get(name, [])]
        fields = list(side[0]) if side else ["row"]
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    writer.writerows(side)
    return buffer.getvalue()


def evaluation_records(report: EvalReport) -> tuple[dict, dict, dict]:
    """(metrics, text artifacts, tags) an evaluation adds to its training run: eval_* (adapter) and base_*
    metrics, the per-row table and details. Model-written text is redacted like everything else we log."""
    from core.redact import redact

    prefixes = {"adapter": "eval", "base": "base"}
    metrics = {f"{prefixes[name]}_{key}": summary[key] for name, summary in report.summaries.items()
               for key in ("exec_accuracy", "valid_sql_rate", "executable_rate", "exact_match")}
    details = {name: [asdict(r) for r in rows] for name, rows in report.results.items()}
    texts = {"evaluation/rows.csv": redact(rows_csv(report)),
             "evaluation/details.json": redact(json.dumps({"summaries": report.summaries, "rows": details},
                                                          default=str, indent=1))}
    return metrics, texts, {"evaluated_rows": str(report.rows)}


def logged_evaluation(run_id: str) -> EvalReport | None:
    """The evaluation logged to a run (at the end of its training, or from the Evaluate tab), or None."""
    from core.tracking import load_run_dict

    try:
        data = load_run_dict(run_id, "evaluation/details.json")
    except Exception:  # noqa: BLE001 - no evaluation yet, or an artifact store that does not answer
        return None
    results = {name: [EvalRow(**row) for row in rows] for name, rows in data.get("rows", {}).items()}
    n = len(next(iter(results.values()), []))
    return EvalReport(n, 0.0, data.get("summaries", {}), results)


def log_to_mlflow(run_id: str, report: EvalReport, tracking_uri: str | None = None) -> None:
    """Log an evaluation to its (finished) training run."""
    from mlflow.entities import Metric, RunTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    metrics, texts, tags = evaluation_records(report)
    now = int(time.time() * 1000)
    # metrics and tags in one request; each text artifact is an upload of its own
    client.log_batch(run_id, metrics=[Metric(key, value, now, 0) for key, value in metrics.items()],
                     tags=[RunTag(key, value) for key, value in tags.items()])
    for name, text in texts.items():
        client.log_text(run_id, text, name)


def evaluate_after_training(cfg: TrainConfig, output_dir, run, state) -> None:
    """Base vs adapter execution accuracy on a finished job's held-out rows (its split.json), logged to its run.
    Called by the training run's thread (the engine's `after_training`); failures only warn: the adapter is saved."""
    from pathlib import Path

    from core.data import load_pairs

    state.update(status="evaluating")
    try:
        adapter = Path(output_dir) / "adapter"
        wanted = set(json.loads((Path(output_dir) / "split.json").read_text(encoding="utf-8"))["eval_rows"])
        pairs = [p for p in load_pairs(cfg.data_path) if p.row in wanted]
        schema_text = run_schema_text(cfg, str(adapter))
        db = database_for(cfg)
        report = evaluate(pairs, db, cfg, schema_text, str(adapter), progress=state.log)
        metrics, texts, tags = evaluation_records(report)
        for key, value in metrics.items():
            run.log_metric(key, value, state.step)
        for name, text in texts.items():
            run.log_text(text, name)
        run.set_tags(tags)
        b, a = report.summaries["base"]["exec_accuracy"], report.summaries["adapter"]["exec_accuracy"]
        state.update(evaluation=dict(report.summaries))
        state.log(f"execution accuracy on {report.rows} held-out rows: base {b:.0%}, adapter {a:.0%}")
    except Exception as e:  # noqa: BLE001 - the adapter is saved; a failed evaluation must not fail the run
        state.log(f"evaluation failed: {type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}")


def database_for(cfg: TrainConfig, target: str | None = None, data: str | None = None):
    """The database a run's SQL executes on: `target` when given (any source core.db.connect opens, or 'duckdb' for
    the DuckDB built from the schema plus `data`), else the run's own connected database (cfg.database), else the
    DuckDB built from the run's schema and rows (the sample data for the sample schema)."""
    from core.db import connect, open_database
    from core.redact import MASK

    source = target or cfg.database
    if source and source != "duckdb":
        if MASK in source:
            raise ValueError("This run's database is a PostgreSQL URL whose password was not stored. Give the URL "
                             "again (the Evaluate tab's PostgreSQL field, or --db postgresql://...).")
        return connect(source, ddl_dialect=cfg.dialect)
    return open_database("duckdb", schema_ddl_for(cfg), data or default_data_for(cfg), cfg.dialect)


def run_schema_text(cfg: TrainConfig, adapter: str | None = None) -> str:
    """The schema text a run's prompts had: its adapter's prompt record, else rebuilt from its schema."""
    from pathlib import Path

    from core.data import parse_schema, schema_ddl_only
    from core.prompt_record import PromptRecord

    record = PromptRecord.load(Path(adapter)) if adapter and Path(adapter).is_dir() else None
    if record is not None:
        return record.schema_text
    ddl = schema_ddl_for(cfg)
    return schema_ddl_only(parse_schema(ddl, cfg.dialect), cfg.dialect) if ddl.strip() else ""


def default_data_for(cfg: TrainConfig) -> str | None:
    """The rows to execute on: the config's data script, or the sample data for the sample schema."""
    from core.paths import SAMPLE_DATA, SAMPLE_SCHEMA

    if cfg.eval_data_path:
        return cfg.eval_data_path
    sample_ddl = SAMPLE_SCHEMA.read_text(encoding="utf-8").strip()
    uses_sample = (cfg.schema_path and str(cfg.schema_path).endswith(SAMPLE_SCHEMA.name)) or \
        cfg.schema_text.strip() == sample_ddl
    return str(SAMPLE_DATA) if uses_sample else None


def schema_ddl_for(cfg: TrainConfig) -> str:
    from pathlib import Path

    return Path(cfg.schema_path).read_text(encoding="utf-8") if cfg.schema_path else cfg.schema_text


def load_run_inputs(run_id: str, tracking_uri: str | None = None) -> tuple[TrainConfig, list[Pair], str]:
    """(config, held-out pairs, adapter folder) of a finished training run, read from MLflow."""
    from core.data import load_pairs
    from core.tracking import get_run, load_run_dict, run_adapter

    get_run(run_id, tracking_uri)  # RunNotFound (a clear message) for an id MLflow does not know
    cfg = TrainConfig.from_dict(load_run_dict(run_id, "config.json", tracking_uri))
    wanted = set(load_run_dict(run_id, "split.json", tracking_uri)["eval_rows"])
    pairs = [p for p in load_pairs(cfg.data_path) if p.row in wanted]
    return cfg, pairs, str(run_adapter(run_id, tracking_uri))  # the local copy, else downloaded


def evaluate_run(run_id: str, db_target: str | None = None, data: str | None = None, include_base: bool = True,
                 progress=print, tracking_uri: str | None = None) -> EvalReport:
    """Evaluate a finished run's adapter (and the base model) on its held-out rows; log to the run. Without
    `db_target` the SQL runs on the run's own database (see `database_for`)."""
    cfg, pairs, adapter = load_run_inputs(run_id, tracking_uri)
    if not pairs:
        raise ValueError("This run held out no rows (eval split 0), so there is nothing unseen to evaluate on. "
                         "Train with an eval split (e.g. 0.1), or evaluate an adapter on another data file.")
    db = database_for(cfg, db_target, data)
    schema_text = run_schema_text(cfg, adapter)
    report = evaluate(pairs, db, cfg, schema_text, adapter, include_base, progress)
    log_to_mlflow(run_id, report, tracking_uri)
    return report
