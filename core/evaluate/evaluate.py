"""Does the adapter write better SQL? Execute base and fine-tuned SQL on a real database and compare.

    report = evaluate(pairs, db, record, adapter_path)   # the base model at its best vs the adapter, same rows
    report.summaries["adapter"]["exec_accuracy"]         # as generated; "exec_accuracy_checked": with the schema check

Every prompt comes from the run's PromptRecord (core.prompt_record), the one its training rendered. Sides:
"base" is the base model at its best (the schema in the prompt: `PromptRecord.baseline`), "base_prompt" the base
model with the adapter's own prompt (only where that differs), "adapter" the fine-tuned model with its prompt.
Each answer is scored as generated and after the schema check (core.evaluate.schema_check), for every side alike.
"""

import csv
import io
import time
from collections import Counter
from dataclasses import dataclass, field

from core.data import Pair, parse_schema
from core.data.english import share
from core.data.metrics import extract_sql, has_order_by, normalise_sql, parses, results_match
from core.db import CORRECT, NOT_EXECUTED, WRONG, Database, QueryResult
from core.evaluate.generate import generating
from core.evaluate.generator_process import GeneratorProcess
from core.evaluate.schema_check import check_names
from core.evaluate.vote import vote
from core.prompt_record import PromptRecord

CATEGORIES = [
    CORRECT,
    WRONG,
    "runtime error",
    "unknown table/column",
    "syntax error",
    "timeout",
    NOT_EXECUTED,
]
# What each side is called on screen and in MLflow's metric names (eval_* is the adapter, as it always was).
SIDE_LABELS = {
    "base": "base with schema",
    "base_prompt": "base with the adapter's prompt",
    "adapter": "fine-tuned",
}
METRIC_PREFIXES = {"adapter": "eval", "base": "base", "base_prompt": "base_prompt"}
HELD_OUT = (
    "held-out"  # the run's held-out rows; other sets (the person's own questions) are scored beside them
)


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
    gold_columns: list = field(default_factory=list)  # the result's column names, for the grids that show it
    pred_columns: list = field(default_factory=list)
    checked_sql: str = (
        ""  # the SQL after the schema check, when it repaired a name ("" when it changed nothing)
    )
    checked_category: str = (
        ""  # the outcome with the schema check (the same as `category` when nothing changed)
    )
    repairs: str = ""  # what the check changed: "singers -> singer"
    set: str = HELD_OUT
    voted_sql: str = ""  # with voting: the SQL whose result most candidates gave ("" without voting)
    voted_category: str = ""  # its outcome
    votes: str = ""  # "5 of 8": the candidates that gave the winning result

    @property
    def correct_checked(self) -> bool:
        return (self.checked_category or self.category) == CORRECT


@dataclass
class EvalReport:
    rows: int
    seconds: float
    summaries: dict[str, dict]  # side ("base", "base_prompt", "adapter") -> summary of the held-out rows
    results: dict[str, list[EvalRow]]  # side -> every scored row, of every set
    gold_failures: int = 0  # gold queries that did not run on this database (left out of the scores)
    side_seconds: dict[str, float] = field(default_factory=dict)  # side -> load, generate, score
    set_summaries: dict[str, dict[str, dict]] = field(default_factory=dict)  # other set -> side -> summary
    held_out: str = "held-out rows"  # what the held-out rows are, in words ("generated questions, ...")

    def timing(self) -> str:
        """'in 61 s (base 24 s, adapter 37 s)': where an evaluation's time went."""
        sides = ", ".join(f"{SIDE_LABELS.get(name, name)} {s:.0f} s" for name, s in self.side_seconds.items())
        return f"in {self.seconds:.0f} s" + (f" ({sides})" if sides else "")

    def side_by_side(self) -> list[dict]:
        base, tuned = self.results.get("base", []), self.results.get("adapter", [])
        out = []
        for b, t in zip(base, tuned, strict=False):
            out.append(
                {
                    "row": b.row,
                    "set": b.set,
                    "question": b.question,
                    "gold_sql": b.gold_sql,
                    "base_sql": b.sql,
                    "adapter_sql": t.sql,
                    "base": b.category,
                    "adapter": t.category,
                    "change": change(b, t),
                    "adapter_checked": t.checked_category or t.category,
                    "repairs": t.repairs,
                }
            )
        return out

    def headline(self) -> str:
        """'execution accuracy on 20 held-out rows: base with schema 45%, fine-tuned 70%' and one clause per other
        set, for logs and the Train tab's final message."""

        def sides(summaries: dict, key: str = "exec_accuracy") -> str:
            return ", ".join(f"{SIDE_LABELS.get(n, n)} {right(s, key)}" for n, s in summaries.items())

        text = f"execution accuracy on {self.rows} {self.held_out}: {sides(self.summaries)}"
        voted = {n: s for n, s in self.summaries.items() if "exec_accuracy_voted" in s}
        if voted:
            n = next(iter(voted.values()))["candidates"]
            text += f"; with voting ({n} candidates): " + sides(voted, "exec_accuracy_voted")
        for name, summaries in self.set_summaries.items():
            n = next(iter(summaries.values()))["n"] if summaries else 0
            text += f"; on {n} of {name}: {sides(summaries)}"
        return text + ". " + verdict(self.summaries)


def right(summary: dict, key: str = "exec_accuracy") -> str:
    """An accuracy with the counts it rests on: '8% (2 of 25)'."""
    n = summary.get("n", 0)
    return share(round(summary.get(key, 0.0) * n), n)


def verdict(summaries: dict) -> str:
    """Did fine-tuning beat the base model at its best? One sentence that can say no, with the counts each
    percentage rests on. A difference of one question or less is no difference; a base model that wrote no SQL at
    all is said to, not called a good prompt."""
    base, tuned = summaries.get("base"), summaries.get("adapter")
    if not base or not tuned or not tuned["n"]:
        return ""
    n = tuned["n"]
    b, t = round(base["exec_accuracy"] * n), round(tuned["exec_accuracy"] * n)
    gap = tuned["exec_accuracy"] - base["exec_accuracy"]
    one = 1 / n + 1e-9
    if gap > one:
        return (
            f"Fine-tuning beat the base model with the schema in its prompt by {gap * 100:.0f} points "
            f"({share(b, n)} -> {share(t, n)})."
        )
    if not base.get("valid_sql_rate") and not b:
        return (
            f"The base model wrote no SQL at all (it answered in words), and the adapter answered {share(t, n)} "
            "right: too few to call it a win. Train longer or on more pairs, and check the held-out rows."
        )
    if gap >= -one:
        return (
            f"Fine-tuning did not beat a good prompt: the base model with the schema in its prompt answers "
            f"{share(b, n)} right, the adapter {share(t, n)} (one question or less apart)."
        )
    return (
        f"No: the base model with the schema in its prompt did better ({share(b, n)} against the adapter's "
        f"{share(t, n)}); a good prompt beats this adapter."
    )


def change(base: EvalRow, tuned: EvalRow) -> str:
    b, t = base.category == CORRECT, tuned.category == CORRECT
    return {
        (False, True): "fixed by fine-tuning",
        (True, False): "broken by fine-tuning",
        (True, True): "both correct",
        (False, False): "still wrong",
    }[(b, t)]


def _outcome(
    pair: Pair, sql: str, gold: QueryResult, db: Database, dialect: str
) -> tuple[str, str, QueryResult]:
    """(category, error, result) of one SQL answer against the gold result."""
    result = (
        db.execute(sql, dialect)
        if sql
        else QueryResult(False, category="syntax error", error="no SQL in the answer")
    )
    return (*_judged(pair, result, gold, dialect), result)


def _judged(pair: Pair, result: QueryResult, gold: QueryResult, dialect: str) -> tuple[str, str]:
    """(category, error) of a result against the gold result."""
    if not result.ok:
        return result.category, result.error
    if results_match(gold.rows, result.rows, ordered=has_order_by(pair.sql, dialect)):
        return CORRECT, ""
    return WRONG, ""


def score_vote(
    row: EvalRow, pair: Pair, raws: list[str], gold: QueryResult, db: Database, dialect: str
) -> None:
    """Add the vote of `raws` (the greedy answer first, then the sampled ones) to a scored row."""
    ballot = vote([extract_sql(r) for r in raws], lambda sql: db.execute(sql, dialect))
    row.voted_sql = ballot.winner.sql
    row.voted_category = _judged(pair, ballot.winner.result, gold, dialect)[0]
    row.votes = f"{ballot.votes_of(ballot.winner)} of {len(raws)}"


def score(
    pair: Pair,
    raw: str,
    gold: QueryResult,
    db: Database,
    dialect: str,
    tables: dict[str, list[str]] | None = None,
) -> EvalRow:
    """One answer, scored as generated and (with `tables`, the schema's tables and columns) after the schema check."""
    sql = extract_sql(raw)
    row = EvalRow(
        pair.row,
        pair.question,
        pair.sql,
        raw,
        sql,
        category="",
        valid=parses(sql, dialect),
        exact=bool(sql) and normalise_sql(sql, dialect) == normalise_sql(pair.sql, dialect),
        gold_rows=gold.rows[:50],
        gold_columns=list(gold.columns),
    )
    row.category, row.error, result = _outcome(pair, sql, gold, db, dialect)
    row.executed, row.pred_rows, row.pred_columns = result.ok, result.rows[:50], list(result.columns)
    row.checked_category = row.category
    if sql and tables:
        check = check_names(sql, tables, dialect)
        if check.changed:
            row.checked_sql, row.repairs = check.sql, check.describe()
            row.checked_category = _outcome(pair, check.sql, gold, db, dialect)[0]
    return row


def summarize(rows: list[EvalRow]) -> dict:
    n = max(len(rows), 1)
    counts = Counter(r.category for r in rows)
    return {
        "n": len(rows),
        "exec_accuracy": counts[CORRECT] / n,
        "exec_accuracy_checked": sum(r.correct_checked for r in rows) / n,
        "valid_sql_rate": sum(r.valid for r in rows) / n,
        "executable_rate": sum(r.executed for r in rows) / n,
        "exact_match": sum(r.exact for r in rows) / n,
        "repaired": sum(bool(r.repairs) for r in rows),
        "categories": {c: counts.get(c, 0) for c in CATEGORIES},
        **voted_summary(rows),
    }


def voted_summary(rows: list[EvalRow]) -> dict:
    """With voting: its accuracy and the candidates per answer ({} without voting)."""
    voted = [r for r in rows if r.voted_category]
    if not voted:
        return {}
    return {
        "exec_accuracy_voted": sum(r.voted_category == CORRECT for r in rows) / max(len(rows), 1),
        "candidates": max(int(r.votes.split(" of ")[-1]) for r in voted),
    }


def schema_tables(record: PromptRecord) -> dict[str, list[str]]:
    """The schema's tables and columns, for the schema check ({} when the run recorded no schema)."""
    try:
        return parse_schema(record.schema_text, record.dialect).tables if record.schema_text.strip() else {}
    except ValueError:
        return {}


def sides_for(
    record: PromptRecord, adapter_path: str | None, include_base: bool = True, base_prompt: bool = True
) -> list[tuple[str, str | None, PromptRecord]]:
    """(side, adapter or None, prompt record) for each model an evaluation asks."""
    baseline = record.baseline()
    sides = []
    if include_base:
        sides.append(("base", None, baseline))
        if base_prompt and adapter_path and record.format != baseline.format:
            sides.append(("base_prompt", None, record))
    if adapter_path:
        sides.append(("adapter", adapter_path, record))
    return sides


def evaluate(
    pairs: list[Pair],
    db: Database,
    record: PromptRecord,
    adapter_path: str | None = None,
    include_base: bool = True,
    progress=print,
    batch_size: int = 0,
    trust_remote_code: bool = False,
    base_prompt: bool = True,
    other_sets: dict[str, list[Pair]] | None = None,
    candidates: int = 1,
) -> EvalReport:
    """Generate SQL greedily for each pair with the base model and/or the adapter (in a child process: the models
    never load into the studio's), execute, compare. `other_sets` (name -> pairs, e.g. the person's own questions)
    are scored beside the held-out rows and summarised on their own. With `candidates` > 1 every side also draws
    that many candidates per question (the greedy answer and sampled ones) and is scored again on their vote
    (core.evaluate.vote): the "with voting" line."""

    with generating(), GeneratorProcess(keep=1) as generator:
        return _evaluate(
            pairs,
            db,
            record,
            sides_for(record, adapter_path, include_base, base_prompt),
            progress,
            batch_size,
            trust_remote_code,
            generator,
            other_sets or {},
            candidates,
        )


def _evaluate(
    pairs, db, record, sides, progress, batch_size, trust_remote_code, generator, other_sets, candidates=1
):
    start = time.time()
    dialect = record.dialect
    sets = [(HELD_OUT, pairs), *other_sets.items()]
    golds = [(name, p, db.execute(p.sql, dialect)) for name, ps in sets for p in ps]
    usable = [(name, p, g) for name, p, g in golds if g.ok]
    if not usable:
        first = golds[0][2].error if golds else "no rows"
        raise ValueError(
            f"None of the {len(golds)} gold SQL queries ran on {db.label} (first error: {first}). "
            "Give the schema and the data of your database (a SQL script, CSVs or a SQLite file), or "
            "connect to PostgreSQL."
        )
    if len(usable) < len(golds):
        progress(f"{len(golds) - len(usable)} gold queries did not run on this database; they are left out")
    tables = schema_tables(record)
    results: dict[str, list[EvalRow]] = {}
    side_seconds: dict[str, float] = {}
    for name, adapter, side_record in sides:
        side_start = time.time()
        each = f", {candidates} candidates each" if candidates > 1 else ""
        progress(f"generating SQL for {len(usable)} rows{each} with the {SIDE_LABELS[name]} model ...")
        prompts = [side_record.prompt_messages(p.question) for _, p, _ in usable]
        answers = generator.generate(
            record.base_model,
            adapter,
            trust_remote_code,
            prompts,
            batch_size=batch_size,
            max_new_tokens=96,
            progress=progress,
            candidates=candidates,
        )
        rows = []
        for (set_name, p, g), raw in zip(usable, answers, strict=True):
            drawn = raw if candidates > 1 else [raw]
            rows.append(score(p, drawn[0], g, db, dialect, tables))
            rows[-1].set = set_name
            if candidates > 1:
                score_vote(rows[-1], p, drawn, g, db, dialect)
        results[name] = rows
        side_seconds[name] = time.time() - side_start
    held = {name: [r for r in rows if r.set == HELD_OUT] for name, rows in results.items()}
    others = {
        set_name: {name: summarize([r for r in rows if r.set == set_name]) for name, rows in results.items()}
        for set_name, _ in sets[1:]
        if any(s == set_name for s, _, _ in usable)
    }
    return EvalReport(
        len(held[sides[0][0]]) if sides else 0,
        time.time() - start,
        {name: summarize(rows) for name, rows in held.items()},
        results,
        len(golds) - len(usable),
        side_seconds,
        others,
        describe_held_out(pairs),
    )


def describe_held_out(pairs: list[Pair]) -> str:
    """What the held-out rows are, as a score on them should be read."""
    if pairs and all(p.generated for p in pairs):
        return "held-out generated questions (template wordings never trained on)"
    return "held-out rows of your pairs"


def rows_csv(report: EvalReport) -> str:
    buffer = io.StringIO()
    side = report.side_by_side()
    if side:
        fields = list(side[0])
    else:
        name = next(iter(report.results), "")
        side = [
            {
                "row": r.row,
                "set": r.set,
                "question": r.question,
                "gold_sql": r.gold_sql,
                f"{name}_sql": r.sql,
                name: r.category,
                "error": r.error,
            }
            for r in report.results.get(name, [])
        ]
        fields = list(side[0]) if side else ["row"]
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    writer.writerows(side)
    return buffer.getvalue()
