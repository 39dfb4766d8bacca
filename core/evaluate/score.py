"""Scoring one answer: its SQL run on the database and compared with the gold result, as generated, after the schema
check and (with several candidates) by their vote; and the summary of many scored answers.

    row = score(pair, raw_answer, gold_result, db, dialect, tables)   # an EvalRow: category, rows, repairs
    score_vote(row, pair, [greedy, *sampled], gold_result, db, dialect) # adds the vote's SQL and outcome
    summarize(rows)                                                     # accuracies, rates, categories

Execution match follows BIRD and Spider (core.data.metrics): rows as a multiset, in order only when the gold query
orders, numbers within a tolerance; a timeout counts as wrong.
"""

from collections import Counter
from dataclasses import dataclass, field

from core.data import Pair
from core.data.english import share
from core.data.metrics import extract_sql, has_order_by, normalise_sql, parses, results_match
from core.db import CORRECT, NOT_EXECUTED, WRONG, Database, QueryResult
from core.evaluate.schema_check import check_names
from core.evaluate.vote import vote

CATEGORIES = [
    CORRECT,
    WRONG,
    "runtime error",
    "unknown table/column",
    "syntax error",
    "timeout",
    NOT_EXECUTED,
]
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


def right(summary: dict, key: str = "exec_accuracy") -> str:
    """An accuracy with the counts it rests on: '8% (2 of 25)'."""
    n = summary.get("n", 0)
    return share(round(summary.get(key, 0.0) * n), n)


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
