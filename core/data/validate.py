"""Validation report for a list of pairs: every problem of every row, never stopping at the first.

Each finding names the row, the field, the problem in plain words and how to fix it. Errors make a row
unfit for training (the UI can exclude those rows); warnings are worth a look but do not block.

The report itself is core.data.report; the checks of one SQL string are core.data.sqlcheck. Here: every row's
findings, the SQL checked once per distinct query (kept between validations, in a process per core for big files),
and the token counts.
"""

import contextvars
import os
import statistics
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from core.data.load import Pair
from core.data.report import ERROR, SUMMARY_LABELS, WARNING, Finding, Report
from core.data.schema import Schema, parse_schema
from core.data.sqlcheck import check_sql


def _normalise_question(q: str) -> str:
    return " ".join(q.lower().split())  # runs of whitespace as one space (str.split's whitespace is re's \s)


PARALLEL_MIN_SQL = 4000  # below this, starting processes costs more than it saves
CHUNK = 2000


_worker_shapes: dict[tuple, dict[tuple, list]] = {}  # in each checking process, by schema: kept across chunks


def _check_chunk(job: tuple[list[str], str, dict]) -> list[list]:
    sqls, dialect, known = job
    key = _schema_key(dialect, known)
    if key not in _worker_shapes:
        _worker_shapes.clear()
    shapes = _worker_shapes.setdefault(key, {})
    return [check_sql(sql, dialect, known, shapes) for sql in sqls]


# The SQL findings of the last few schemas, kept between validations: changing only the template, the model or
# the max length (each re-validates the file) then re-counts tokens without parsing again, which is most of the
# time of a big file (100,000 distinct queries: ~20 s of parsing on 2 cores).
_FINDINGS: "OrderedDict[tuple, dict[str, list]]" = OrderedDict()
_FINDINGS_SCHEMAS, _FINDINGS_MAX_SQL = 2, 400_000
_findings_lock = threading.Lock()


def _schema_key(dialect: str, known: dict[str, set[str]]) -> tuple:
    return dialect, tuple(sorted((table, tuple(sorted(columns))) for table, columns in known.items()))


Progress = Callable[[int, int], None]  # (queries checked, queries to check)


def check_all(
    sqls: list[str], dialect: str, known: dict[str, set[str]], progress: Progress | None = None
) -> dict[str, list]:
    """check_sql of every SQL string, from the findings cache where it was checked against the same schema
    before; the rest in a process per core when there are many (sqlglot holds the GIL)."""
    key = _schema_key(dialect, known)
    with _findings_lock:
        cached = _FINDINGS.get(key, {})
        todo = [sql for sql in sqls if sql not in cached]
    found = _check_uncached(todo, dialect, known, progress or _no_progress)
    with _findings_lock:
        entry = _FINDINGS.pop(key, {})
        if len(entry) + len(found) > _FINDINGS_MAX_SQL:
            entry = {}
        entry.update(found)
        _FINDINGS[key] = entry  # the newest schema last: the oldest is dropped first
        while len(_FINDINGS) > _FINDINGS_SCHEMAS:
            _FINDINGS.popitem(last=False)
    return {sql: found[sql] if sql in found else cached[sql] for sql in sqls}


def _no_progress(done: int, total: int) -> None:
    return None


def _check_here(
    sqls: list[str], dialect: str, known: dict[str, set[str]], progress: Progress = _no_progress
) -> dict[str, list]:
    shapes: dict[tuple, list] = {}
    found = {}
    for i in range(0, len(sqls), CHUNK):
        found.update((sql, check_sql(sql, dialect, known, shapes)) for sql in sqls[i : i + CHUNK])
        progress(len(found), len(sqls))
    return found


def _check_uncached(
    sqls: list[str], dialect: str, known: dict[str, set[str]], progress: Progress
) -> dict[str, list]:

    workers = min(os.cpu_count() or 1, 8)
    if len(sqls) < PARALLEL_MIN_SQL or workers < 2:
        return _check_here(sqls, dialect, known, progress)
    import multiprocessing

    chunks = [sqls[i : i + CHUNK] for i in range(0, len(sqls), CHUNK)]
    try:
        # spawned, never forked: the studio's threads and sockets must not be copied into the workers
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = []
            for found in pool.map(_check_chunk, [(chunk, dialect, known) for chunk in chunks]):
                results.append(found)
                progress(min(len(results) * CHUNK, len(sqls)), len(sqls))
    except (
        BrokenProcessPool,
        RuntimeError,
        OSError,
    ):  # e.g. a caller's script that cannot be re-imported safely
        return _check_here(sqls, dialect, known, progress)
    return {
        sql: problems
        for chunk, found in zip(chunks, results, strict=True)
        for sql, problems in zip(chunk, found, strict=True)
    }


def validate_pairs(
    pairs: list[Pair],
    schema: Schema | None = None,
    dialect: str = "postgres",
    count_tokens: Callable[[list[Pair]], list[int]] | None = None,
    max_seq_length: int = 2048,
    progress: Progress | None = None,
) -> Report:
    """Check every row; `count_tokens` (from the chosen model's tokenizer) enables the length checks; `progress`
    hears how many distinct queries are checked, from another thread that sees the caller's context variables."""
    report = Report()
    add = report.findings.append
    global_known = schema.lookup() if schema else {}
    row_schema_cache: dict[str, dict[str, set[str]]] = {}
    seen_exact: dict[tuple[str, str], int] = {}
    sql_by_question: dict[str, dict[str, int]] = defaultdict(dict)
    parse_cache: dict[tuple, list] = {}
    # The SQL checked against the global schema (nearly all of it): parsed in a process per core for big files,
    # while this thread counts tokens (its Python half leaves a core free for them).
    distinct = {p.sql for p in pairs if p.question and p.sql and not (p.schema and not schema)}
    background = ThreadPoolExecutor(1, thread_name_prefix="check-sql")
    try:
        # the caller's context goes along: a UI's progress reporter may find its page through a context variable
        checked = background.submit(
            contextvars.copy_context().run, check_all, sorted(distinct), dialect, global_known, progress
        )
        token_lengths = list(count_tokens(pairs)) if count_tokens is not None else []
        parse_cache.update(((sql, id(global_known)), problems) for sql, problems in checked.result().items())
    finally:  # a failed count (e.g. a bad template) is reported at once; the checks finish into the findings cache
        background.shutdown(wait=False)

    for p in pairs:
        for problem in p.problems:
            add(
                Finding(p.row, "row", ERROR, problem, "give each row a text question and a text SQL", "empty")
            )
        # a row named by its number alone is hard to find in a spreadsheet: quote what it does hold
        if not p.question:
            beside = f" (its SQL: {_quoted(p.sql)})" if p.sql else ""
            add(
                Finding(
                    p.row,
                    "question",
                    ERROR,
                    f"question is missing or empty{beside}",
                    "write the question",
                    "empty",
                )
            )
        if not p.sql:
            beside = f" (its question: {_quoted(p.question)})" if p.question else ""
            add(
                Finding(
                    p.row, "sql", ERROR, f"SQL is missing or empty{beside}", "write the SQL answer", "empty"
                )
            )
        if not (p.question and p.sql):
            continue
        key = (_normalise_question(p.question), p.sql.strip())
        if key in seen_exact:
            add(
                Finding(
                    p.row,
                    "row",
                    WARNING,
                    f"exact duplicate of row {seen_exact[key]}",
                    "remove one copy (duplicates weigh that pair twice)",
                    "duplicates",
                )
            )
        else:
            seen_exact[key] = p.row
        sql_by_question[key[0]].setdefault(key[1], p.row)

        known = global_known
        if p.schema and not schema:  # a per-row schema (e.g. a 'context' column of CREATE TABLEs)
            if p.schema not in row_schema_cache:
                try:
                    row_schema_cache[p.schema] = parse_schema(p.schema, dialect).lookup()
                except ValueError:
                    row_schema_cache[p.schema] = {}
            known = row_schema_cache[p.schema]
        cache_key = (p.sql, id(known))
        if cache_key not in parse_cache:
            parse_cache[cache_key] = check_sql(p.sql, dialect, known)
        for severity, kind, problem, fix in parse_cache[cache_key]:
            add(Finding(p.row, "sql", severity, problem, fix, kind))

    for variants in sql_by_question.values():
        if len(variants) > 1:
            rows = sorted(variants.values())
            for row in rows:
                others = ", ".join(str(r) for r in rows if r != row)
                add(
                    Finding(
                        row,
                        "sql",
                        WARNING,
                        f"same question as row {others} with different SQL",
                        "keep the correct SQL, or make the questions differ",
                        "conflicts",
                    )
                )

    if count_tokens is not None:
        report.token_lengths = token_lengths
        for p, n in zip(pairs, report.token_lengths, strict=True):
            if n > max_seq_length:
                add(
                    Finding(
                        p.row,
                        "row",
                        WARNING,
                        f"{n} tokens, over the max sequence length of {max_seq_length}: the end will be cut",
                        "shorten the schema or question, or raise the max sequence length",
                        "too_long",
                    )
                )
        if report.token_lengths:
            report.token_stats = token_stats(report.token_lengths)

    report.findings.sort(key=lambda f: (f.row, f.severity != ERROR))
    report.error_rows = {f.row for f in report.findings if f.severity == ERROR}
    warning_rows = {f.row for f in report.findings if f.severity == WARNING}
    rows_by_kind: dict[str, set[int]] = defaultdict(set)
    for f in report.findings:
        rows_by_kind[f.kind].add(f.row)
    report.summary = {
        "rows": len(pairs),
        "trainable": sum(p.row not in report.error_rows for p in pairs),
        "errors": len(report.error_rows),
        "warnings": len(warning_rows),
    }
    # the tiles count rows (a row with two write statements is one row that writes), not findings
    report.summary.update({k: len(rows_by_kind.get(k, ())) for k in list(SUMMARY_LABELS)[4:]})
    return report


def token_stats(lengths: list[int]) -> dict[str, float]:
    """min, mean, median, 95th percentile (interpolated between the rows around it) and max."""
    p95 = statistics.quantiles(lengths, n=20, method="inclusive")[18] if len(lengths) > 1 else lengths[0]
    return {
        "min": min(lengths),
        "mean": round(statistics.fmean(lengths), 1),
        "p50": statistics.median(lengths),
        "p95": round(p95, 1),
        "max": max(lengths),
    }


def trainable_pairs(pairs: list[Pair], report: Report) -> list[Pair]:
    """The pairs without errors: what 'exclude rows with errors' keeps."""
    return [p for p in pairs if p.row not in report.error_rows]


def _quoted(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return f'"{text[:limit]}{"..." if len(text) > limit else ""}"'
