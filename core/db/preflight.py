"""Pre-flight: run every pair's gold SQL on the connected database and fold what happened into the validation report.

    outcomes = preflight(pairs, db, dialect, progress=...)   # one Outcome per row, each distinct SQL run once
    report = merge_preflight(report, pairs, outcomes)        # the report the user sees and training excludes by

Each row gets: runs (with its row count) / error (the database's own message: an error, excludable like the
others) / empty result (warning) / timeout (warning). What runs on the connected database is never an error:
a static "unknown table/column" finding on a row whose SQL ran becomes a warning that says why it ran (in SQLite
a double-quoted name that is no column is a string) and how to write it portably. Write statements are still
refused before execution (core.db.execute's read-only check), so nothing is ever changed.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace

from core.data import SUMMARY_LABELS, Pair, Report
from core.data.report import ERROR, WARNING, Finding
from core.db.execute import NOT_EXECUTED, SEVERAL, TIMEOUT, UNPARSED, Database

RUNS, FAILS, EMPTY, TIMED_OUT, SKIPPED = "runs", "error", "empty result", "timeout", "not run"


@dataclass
class Outcome:
    row: int
    status: str  # RUNS, FAILS, EMPTY, TIMED_OUT or SKIPPED (no SQL, or refused before execution)
    rows: int = 0
    message: str = ""
    seconds: float = 0.0


def preflight(
    pairs: list[Pair],
    db: Database,
    dialect: str,
    progress: Callable[[int, int], None] | None = None,
    cache: dict | None = None,
) -> list[Outcome]:
    """Execute each pair's SQL read-only (with the database's timeout). `cache` (SQL text -> Outcome) may be kept
    between calls: checking the file again after a dialect change only runs what changed."""
    cache = {} if cache is None else cache
    out = []
    for i, pair in enumerate(pairs, start=1):
        if not pair.sql:
            out.append(Outcome(pair.row, SKIPPED, message="no SQL"))
            continue
        key = (dialect, pair.sql)
        if key not in cache:
            cache[key] = _run(pair.sql, db, dialect)
        out.append(replace(cache[key], row=pair.row))
        if progress and (i % 25 == 0 or i == len(pairs)):
            progress(i, len(pairs))
    return out


def _run(sql: str, db: Database, dialect: str) -> Outcome:
    result = db.execute(sql, dialect)
    if result.ok:
        return Outcome(0, RUNS if result.rows else EMPTY, len(result.rows), seconds=result.seconds)
    if result.category == TIMEOUT:
        return Outcome(0, TIMED_OUT, message=result.error, seconds=result.seconds)
    if _reported_statically(result):
        return Outcome(0, SKIPPED, message=result.error)
    return Outcome(0, FAILS, message=result.error, seconds=result.seconds)


def _reported_statically(result) -> bool:
    """Refused before execution for what the static check already reports as an error (it does not parse, holds
    several statements, or writes): each error is said once, not again as "fails on your database"."""
    if result.error.startswith((UNPARSED, SEVERAL)):
        return True
    return result.category == NOT_EXECUTED and "writes" in result.error


def ran_count(outcomes: list[Outcome]) -> int:
    return sum(o.status in (RUNS, EMPTY) for o in outcomes)


def merge_preflight(
    report: Report, pairs: list[Pair], outcomes: list[Outcome], label: str = "your database"
) -> Report:
    """A new report with the database's findings added, and static name errors of rows that ran made warnings."""
    by_row = {o.row: o for o in outcomes}
    findings = []
    for f in report.findings:
        outcome = by_row.get(f.row)
        if f.kind == "unknown_names" and f.severity == ERROR and outcome and outcome.status in (RUNS, EMPTY):
            f = Finding(
                f.row,
                f.field,
                WARNING,
                f"{f.problem}, but the SQL runs on {label}",
                _portable_hint(f.problem),
                f.kind,
            )
        findings.append(f)
    for outcome in outcomes:
        if outcome.status == FAILS:
            findings.append(
                Finding(
                    outcome.row,
                    "sql",
                    ERROR,
                    f"fails on {label}: {outcome.message}",
                    "fix the SQL so it runs on the database (or exclude the row)",
                    "db_errors",
                )
            )
        elif outcome.status == EMPTY:
            findings.append(
                Finding(
                    outcome.row,
                    "sql",
                    WARNING,
                    f"returns no rows on {label}",
                    "check the filter values: an answer with no rows teaches little",
                    "db_empty",
                )
            )
        elif outcome.status == TIMED_OUT:
            findings.append(
                Finding(
                    outcome.row,
                    "sql",
                    WARNING,
                    f"did not finish on {label} ({outcome.message})",
                    "simplify the query, or check it on a smaller database",
                    "db_timeouts",
                )
            )
    findings.sort(key=lambda f: (f.row, f.severity != ERROR))
    merged = Report(findings, dict(report.summary), report.token_lengths, report.token_stats)
    merged.error_rows = {f.row for f in findings if f.severity == ERROR}
    kinds = Counter(f.kind for f in findings)
    merged.summary.update(
        {
            "trainable": sum(p.row not in merged.error_rows for p in pairs),
            "errors": len(merged.error_rows),
            "warnings": len({f.row for f in findings if f.severity == WARNING}),
        }
    )
    merged.summary.update({k: kinds.get(k, 0) for k in list(SUMMARY_LABELS)[4:]})
    merged.preflight = preflight_summary(outcomes, label)
    return merged


def _portable_hint(problem: str) -> str:
    if "unknown column" in problem:
        return (
            "SQLite reads a double-quoted name that is no column as a string: write text values in single "
            "quotes ('...') so the SQL means the same on every database"
        )
    return "the database knows this name although the schema text does not: check the schema you gave"


def preflight_summary(outcomes: list[Outcome], label: str = "your database") -> str:
    """'N of M run on your database' plus what the others did."""
    counts = Counter(o.status for o in outcomes)
    total = len(outcomes)
    ran = ran_count(outcomes)
    rest = ", ".join(
        f"{counts[s]} {name}"
        for s, name in (
            (FAILS, "fail"),
            (EMPTY, "return no rows"),
            (TIMED_OUT, "time out"),
            (SKIPPED, "not run"),
        )
        if counts[s]
    )
    return f"{ran} of {total} run on {label}" + (f" ({rest})" if rest else "")
