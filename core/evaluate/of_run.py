"""A training run's evaluation: its held-out rows, its database, its prompt record; logged back to its MLflow run.

    report = evaluate_run(run_id)                          # base vs adapter on the run's held-out rows, logged
    report = evaluate_run(run_id, pairs_file="more.jsonl")  # another pairs file, scored with the run's adapter
    evaluate_after_training(cfg, job_folder, run, state)   # what a finished job runs when it evaluates at its end

The held-out rows of a training run are the ones its split.json artifact names (never trained on); the prompts are
rendered from the run's prompt record, the one training used.
"""

import json
import time
from dataclasses import asdict
from pathlib import Path

from core.config import TrainConfig
from core.data import Pair, load_pairs
from core.db.your_questions import SET_NAME, database_of, your_questions
from core.defaults import default_candidates
from core.evaluate.evaluate import METRIC_PREFIXES, EvalReport, evaluate, rows_csv
from core.evaluate.score import EvalRow
from core.prompt_record import PromptRecord
from core.redact import redact
from core.tracking import get_run, load_run_dict, run_adapter, run_prompt_record
from core.train import gpu_available
from core.train.run_database import database_for

SUMMARY_KEYS = (
    "exec_accuracy",
    "exec_accuracy_checked",
    "exec_accuracy_voted",
    "valid_sql_rate",
    "executable_rate",
    "exact_match",
)


def candidates_for(cfg: TrainConfig, asked: int | None = None) -> int:
    """Candidates per answer: `asked` when given, else the run's setting, else (0) this machine's default."""
    n = asked if asked else cfg.candidates
    return n or default_candidates(gpu_available())


def evaluation_records(report: EvalReport) -> tuple[dict, dict, dict]:
    """(metrics, text artifacts, tags) an evaluation adds to its training run: eval_* (adapter), base_* (the base
    model with the schema) and base_prompt_* metrics, the per-row table and details. Model-written text is
    redacted like everything else we log."""
    metrics = {
        f"{METRIC_PREFIXES[name]}_{key}": summary[key]
        for name, summary in report.summaries.items()
        for key in SUMMARY_KEYS
        if key in summary
    }
    for set_name, summaries in report.set_summaries.items():
        slug = set_name.replace(" ", "_")
        for name, s in summaries.items():
            metrics[f"{METRIC_PREFIXES[name]}_{slug}_exec_accuracy"] = s["exec_accuracy"]
            metrics[f"{METRIC_PREFIXES[name]}_{slug}_n"] = s[
                "n"
            ]  # what the accuracy rests on (the leaderboard)
    details = {name: [asdict(r) for r in rows] for name, rows in report.results.items()}
    texts = {
        "evaluation/rows.csv": redact(rows_csv(report)),
        "evaluation/details.json": redact(
            json.dumps(
                {
                    "summaries": report.summaries,
                    "rows": details,
                    "set_summaries": report.set_summaries,
                    "held_out": report.held_out,
                },
                default=str,
                indent=1,
            )
        ),
    }
    return (
        metrics,
        texts,
        {"evaluated_rows": str(report.rows), "baseline": "base model with the schema in the prompt"},
    )


def logged_evaluation(run_id: str) -> EvalReport | None:
    """The evaluation logged to a run (at the end of its training, or from the Evaluate tab), or None."""
    try:
        data = load_run_dict(run_id, "evaluation/details.json")
    except Exception:  # noqa: BLE001 - no evaluation yet, or an artifact store that does not answer
        return None
    known = EvalRow.__dataclass_fields__
    results = {
        name: [EvalRow(**{k: v for k, v in row.items() if k in known}) for row in rows]
        for name, rows in data.get("rows", {}).items()
    }
    summaries = data.get("summaries", {})
    n = next(iter(summaries.values()), {}).get("n", len(next(iter(results.values()), [])))
    return EvalReport(
        n,
        0.0,
        summaries,
        results,
        set_summaries=data.get("set_summaries", {}),
        held_out=data.get("held_out", "held-out rows"),
    )


def log_to_mlflow(run_id: str, report: EvalReport, tracking_uri: str | None = None) -> None:
    """Log an evaluation to its (finished) training run."""
    from mlflow.entities import Metric, RunTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    metrics, texts, tags = evaluation_records(report)
    now = int(time.time() * 1000)
    # metrics and tags in one request; each text artifact is an upload of its own
    client.log_batch(
        run_id,
        metrics=[Metric(key, value, now, 0) for key, value in metrics.items()],
        tags=[RunTag(key, value) for key, value in tags.items()],
    )
    for name, text in texts.items():
        client.log_text(run_id, text, name)


def other_sets_for(cfg: TrainConfig) -> dict[str, list[Pair]]:
    """The sets scored beside a run's held-out rows: the person's own questions about the run's database."""
    own = your_questions(database_of(cfg))
    return {SET_NAME: own} if own else {}


def held_out_pairs(cfg: TrainConfig, split_file: Path | dict) -> list[Pair]:
    """The rows a run held out (its split.json, a file or its contents), read from its data file."""
    split = (
        split_file
        if isinstance(split_file, dict)
        else json.loads(Path(split_file).read_text(encoding="utf-8"))
    )
    wanted = set(split["eval_rows"])
    return [p for p in load_pairs(cfg.data_path) if p.row in wanted]


def evaluate_after_training(cfg: TrainConfig, output_dir, run, state) -> None:
    """Base vs adapter execution accuracy on a finished job's held-out rows (its split.json), logged to its run.
    Called by the worker process (core.job.worker) when a job that asks for it has trained; failures only warn: the
    adapter is saved."""
    state.update(status="evaluating")
    try:
        adapter = Path(output_dir) / "adapter"
        pairs = held_out_pairs(cfg, Path(output_dir) / "split.json")
        record = PromptRecord.load(adapter) or PromptRecord.from_config(cfg)
        report = evaluate(
            pairs,
            database_for(cfg),
            record,
            str(adapter),
            progress=state.log,
            trust_remote_code=cfg.trust_remote_code,
            other_sets=other_sets_for(cfg),
            candidates=candidates_for(cfg),
        )
        metrics, texts, tags = evaluation_records(report)
        for key, value in metrics.items():
            run.log_metric(key, value, state.step)
        for name, text in texts.items():
            run.log_text(text, name)
        run.set_tags(tags)
        state.update(evaluation=dict(report.summaries), evaluation_text=report.headline())
        state.log(report.headline())
    except Exception as e:  # noqa: BLE001 - the adapter is saved; a failed evaluation must not fail the run
        state.log(f"evaluation failed: {type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}")


def load_run_inputs(
    run_id: str, tracking_uri: str | None = None
) -> tuple[TrainConfig, list[Pair], str, PromptRecord]:
    """(config, held-out pairs, adapter folder, prompt record) of a finished training run, read from MLflow."""
    get_run(run_id, tracking_uri)  # RunNotFound (a clear message) for an id MLflow does not know
    cfg = TrainConfig.from_dict(load_run_dict(run_id, "config.json", tracking_uri))
    pairs = held_out_pairs(cfg, load_run_dict(run_id, "split.json", tracking_uri))
    adapter = run_adapter(run_id, tracking_uri)  # the local copy, else downloaded
    record = run_prompt_record(run_id, tracking_uri, adapter)
    if record is None:
        raise ValueError(
            f"The prompt run {run_id} trained with cannot be read back (no prompt record, and its "
            "schema file has moved). Evaluate its adapter with --adapter and --schema instead."
        )
    return cfg, pairs, str(adapter), record


def evaluate_run(
    run_id: str,
    db_target: str | None = None,
    data: str | None = None,
    include_base: bool = True,
    progress=print,
    tracking_uri: str | None = None,
    pairs_file: str | None = None,
    candidates: int | None = None,
) -> EvalReport:
    """Evaluate a finished run's adapter (and the base model) on its held-out rows and log it to the run; or, with
    `pairs_file`, on every pair of that file (not logged: the run's own evaluation stays its held-out rows). Without
    `db_target` the SQL runs on the run's own database (see `database_for`)."""
    cfg, pairs, adapter, record = load_run_inputs(run_id, tracking_uri)
    if pairs_file:
        pairs = load_pairs(pairs_file)
    if not pairs:
        raise ValueError(
            "This run held out no rows (eval split 0), so there is nothing unseen to evaluate on. "
            "Train with an eval split (e.g. 0.1), or score another pairs file (--data FILE)."
        )
    db = database_for(cfg, db_target, data)
    report = evaluate(
        pairs,
        db,
        record,
        adapter,
        include_base,
        progress,
        trust_remote_code=cfg.trust_remote_code,
        other_sets={} if pairs_file else other_sets_for(cfg),
        candidates=candidates_for(cfg, candidates),
    )
    if not pairs_file:
        log_to_mlflow(run_id, report, tracking_uri)
    return report
