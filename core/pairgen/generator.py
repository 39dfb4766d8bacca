"""Generate training pairs from a connected database: question/SQL pairs grounded in its schema and real values.

    pairs = generate_pairs(db, n=500, seed=7)          # the same seed gives the same pairs
    write_jsonl(pairs, "pairs.jsonl")                  # {"question", "sql", "source": "generated", "template", ...}
    result = generate(db, n=500, seed=7)               # the pairs and what happened: conflicts dropped, the fewest
                                                       # mentions of a name, extra wordings, ...

Templates (the modules of core.pairgen.templates) are drawn with the weights of WEIGHTS, by name: how often people
ask each kind of question, counted on Spider's train split (bench/generator_coverage.py measures how many of those
questions' shapes the generator can produce). Each SQL is rendered in the chosen dialect and executed read-only; only queries
that run within the timeout and return between one and MAX_ROWS rows are kept, each with two or three wordings.
Duplicates (the same SQL after normalising, or the same question) are dropped, and so is a question that reads like
an earlier one whose SQL gives another result. A last pass names every table and column a few times (MIN_MENTIONS).
"""

import json
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlglot import exp

from core.db.execute import Database
from core.db.introspect import introspect
from core.db.schema_info import SchemaInfo
from core.pairgen.coverage import name_drafts
from core.pairgen.draft import MAX_ROWS, Drafter
from core.pairgen.scope import Draft
from core.pairgen.shapes import tree_shape
from core.pairgen.templates.child_counts import CHILD_COUNT_TEMPLATES
from core.pairgen.templates.compound import COMPOUND_TEMPLATES
from core.pairgen.templates.groups import GROUP_TEMPLATES
from core.pairgen.templates.join_values import JOIN_VALUE_TEMPLATES
from core.pairgen.templates.rows import ROW_TEMPLATES
from core.pairgen.templates.sorting import SORTED_TEMPLATES
from core.pairgen.templates.without import WITHOUT_TEMPLATES

# Per 100 human questions of Spider's train split, by kind (see bench/generator_coverage.py): lists 31.6 (of which
# DISTINCT 5.1), counts 11.6, the most common / the parent with the most 9.4, per-group counts 8.6, sorted and
# superlatives 12.3, aggregates 5.7, HAVING 5.5, nested averages 3.9, INTERSECT/EXCEPT/UNION 7.2, NOT IN 3.1.
WEIGHTS = {
    "list_rows": 24,
    "child_with_parent": 5,
    "count_rows": 11.6,
    "most_common": 4.5,
    "parent_top": 4.9,
    "group_count": 5.0,
    "parent_count": 3.6,
    "sorted_rows": 12.3,
    "aggregate": 5.7,
    "having": 2.5,
    "parent_having": 3.0,
    "above_average": 3.9,
    "set_operation": 4.0,
    "parent_of_children": 1.6,
    "through_link": 2.4,
    "without": 4.5,
    "in_subquery": 1.0,
    "across_tables": 1.0,
}
# by name: WEIGHTS draws a name, so generation stays the same whichever module a template lives in
TEMPLATE_FUNCTIONS = {
    f.__name__: f
    for f in [
        *ROW_TEMPLATES,
        *SORTED_TEMPLATES,
        *GROUP_TEMPLATES,
        *COMPOUND_TEMPLATES,
        *CHILD_COUNT_TEMPLATES,
        *WITHOUT_TEMPLATES,
        *JOIN_VALUE_TEMPLATES,
    ]
}
ALL_TEMPLATES = list(TEMPLATE_FUNCTIONS.values())
MAX_PAIRS = 20_000
# Rows a generation may scan, in all, in tables of over SCAN_FREE rows (the name pass has its own share): a database
# with a table of millions of rows still gives its pairs in seconds. Counted in rows, not seconds, so a seed gives
# the same pairs on any machine.
SCAN_FREE = 100_000
SCAN_BUDGET = 150_000_000
MISSES_TO_DROP = 30  # draws in a row without a usable query: the schema has nothing more for this template
# how many wordings each SQL gets (Spider writes most queries twice, some three times)
WORDINGS = {2: 2, 3: 1}
NAME_SHARE = 0.3  # of the pairs, at most, that the pass naming every table and column may take
# A template is drafted CHOICES times per draw and the draft of the least-seen shape is tried first: the weights keep
# the mix of kinds people ask, and within a kind the simple variants are not crowded out by the many specific ones
# (on a small database a thousand pairs are only ~400 distinct queries). 12 made more of Spider train's shapes (68.9%
# against ~66% of its queries, n=1000) but taught less: spider_mini fell from 24.8% to 21.3% (docs/BENCHMARKS.md),
# the rare shapes taking the place of the common ones people ask most.
CHOICES = 6


@dataclass
class GeneratedPair:
    question: str
    sql: str
    template: str
    rows: int  # how many rows its SQL returned on the database
    phrasing: str = ""  # which of the template's wordings this question is

    def record(self) -> dict:
        return {
            "question": self.question,
            "sql": self.sql,
            "source": "generated",
            "template": self.template,
            "phrasing": self.phrasing,
        }


@dataclass
class GenerationStats:
    queries: int = 0  # distinct SQL kept
    conflicts: int = 0  # questions dropped because one that reads alike has SQL with another result
    too_long: int = 0  # queries dropped for answering with more than MAX_ROWS rows
    over_budget: int = 0  # queries on big tables not run: the generation had scanned enough rows
    extra_wordings: int = (
        0  # pairs that are more wordings of a kept SQL, to fill the count on a small database
    )
    mentions: dict[str, int] = field(default_factory=dict)  # table or table.column -> pairs that name it

    @property
    def fewest_mentions(self) -> tuple[str, int]:
        return min(self.mentions.items(), key=lambda kv: (kv[1], kv[0])) if self.mentions else ("", 0)

    def notes(self, asked: int, made: int) -> list[str]:
        """What a person should know about this generation, in sentences."""
        out = []
        if made < asked:
            out.append(
                f"{asked} asked; this database offers {made} pairs ({self.queries} distinct queries that "
                "return rows, two or three wordings each)"
            )
        if self.extra_wordings:
            out.append(
                f"{self.extra_wordings} pairs are further wordings of the same queries: the database offers "
                f"only {self.queries} distinct queries"
            )
        if self.conflicts:
            out.append(
                f"{self.conflicts} questions dropped: they read like another question whose SQL gives a "
                "different result"
            )
        if self.too_long:
            out.append(f"{self.too_long} queries left out for answering with more than {MAX_ROWS} rows")
        if self.over_budget:
            out.append(
                f"{self.over_budget} queries on the biggest tables not run: generation keeps to seconds"
            )
        name, count = self.fewest_mentions
        unnamed = sorted(k for k, v in self.mentions.items() if not v)
        if unnamed:  # "named in at least 0 pairs" said nothing: say which, and what to do
            out.append(
                f"{len(unnamed)} of {len(self.mentions)} tables and columns are named in no pair (the first: "
                f"{unnamed[0]}): more pairs name more of them (a table without rows gets no questions)"
            )
        elif name:
            out.append(f"every table and column is named in at least {count} pairs (the fewest: {name})")
        return out


@dataclass
class Generation:
    pairs: list
    stats: GenerationStats


def _key(sql: str) -> str:
    return " ".join(sql.lower().split())


def question_key(question: str) -> str:
    """How alike two questions read: case, punctuation and spacing left out."""
    return " ".join(re.sub(r"[^\w']+", " ", question.lower()).split())


def _answers(rows: list[tuple]) -> bool:
    """A result worth learning from: at least one row with a value in it."""
    return any(any(v is not None for v in row) for row in rows)


def _signature(rows: list[tuple]) -> tuple:
    return tuple(sorted(repr(r) for r in rows))


class _Run:
    """One generation: the drafter, what was kept, and the checks every candidate goes through."""

    def __init__(self, db: Database, info: SchemaInfo, dialect: str, seed: int):
        self.db, self.dialect = db, dialect
        self.drafter = Drafter(info, dialect, random.Random(seed))
        self.seen_sql: set[str] = set()
        self.answers: dict[str, tuple] = {}  # question key -> result signature of its SQL
        self.out: list[GeneratedPair] = []
        self.spare: list[
            GeneratedPair
        ] = []  # more wordings of kept SQL, used when the database offers few queries
        self.stats = GenerationStats()
        self.rows = {t.name: t.rows for t in info.tables}
        self.scanned, self.scan_budget = 0, SCAN_BUDGET
        self.shapes: Counter = Counter()  # shape -> distinct SQL kept of that shape

    def draw(self, template: Callable[[Drafter], Draft | None], wordings: int) -> bool:
        """Draft the template CHOICES times; take the first draft that runs, least-seen shape first."""
        drafts = {}
        for _ in range(CHOICES):
            draft = template(self.drafter)
            if draft is not None:
                drafts.setdefault(tree_shape(draft.sql), draft)
        for key in sorted(drafts, key=lambda k: self.shapes[k]):
            if self.take(drafts[key], wordings):
                self.shapes[key] += 1
                return True
        return False

    def take(self, draft: Draft, wordings: int) -> bool:
        sql = draft.sql.sql(dialect=self.dialect)
        key = _key(sql)
        if key in self.seen_sql:
            return False
        self.seen_sql.add(key)
        scanned = sum(self.rows.get(t.name, 0) for t in draft.sql.find_all(exp.Table))
        if scanned > SCAN_FREE:
            if self.scanned + scanned > self.scan_budget:
                self.stats.over_budget += 1
                return False
            self.scanned += scanned
        result = self.db.execute(sql, self.dialect, row_cap=MAX_ROWS)
        if result.truncated:
            self.stats.too_long += 1
            return False
        if not result.ok or not _answers(result.rows):
            return False
        signature = _signature(result.rows)
        kept = []
        for phrasing, question in draft.questions:
            qkey = question_key(question)
            if qkey in self.answers:
                self.stats.conflicts += self.answers[qkey] != signature
                continue
            kept.append(GeneratedPair(question, sql, draft.template, len(result.rows), phrasing))
        if not kept:
            return False
        for pair in kept:
            self.answers[question_key(pair.question)] = signature
        self.out.extend(kept[:wordings])
        self.spare.extend(kept[wordings:])
        self.stats.queries += 1
        return True


def generate_pairs(
    db: Database,
    n: int = 500,
    seed: int = 7,
    info: SchemaInfo | None = None,
    dialect: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[GeneratedPair]:
    """Up to `n` executed, deduplicated pairs in the mix people ask. Fewer when the schema offers fewer queries."""
    return generate(db, n, seed, info, dialect, progress).pairs


def generate(
    db: Database,
    n: int = 500,
    seed: int = 7,
    info: SchemaInfo | None = None,
    dialect: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Generation:
    """The pairs of `generate_pairs`, with what happened on the way (GenerationStats)."""
    if not 1 <= n <= MAX_PAIRS:
        raise ValueError(f"Ask for between 1 and {MAX_PAIRS:,} pairs (got {n}).")
    info = info or introspect(db)
    dialect = dialect or db.dialect
    if not any(t.rows for t in info.tables):
        raise ValueError(
            "The database has no rows: pairs are made from real values, so load some data first."
        )
    run = _Run(db, info, dialect, seed)
    rng = run.drafter.rng
    alive = dict(WEIGHTS)
    misses: Counter = Counter()
    reported = 0
    while len(run.out) < n and alive:
        name = rng.choices(list(alive), weights=list(alive.values()))[0]
        wordings = rng.choices(list(WORDINGS), weights=list(WORDINGS.values()))[0]
        if not run.draw(TEMPLATE_FUNCTIONS[name], wordings):
            misses[name] += 1
            if misses[name] >= MISSES_TO_DROP:
                del alive[name]
            continue
        misses[name] = 0
        if progress is not None and len(run.out) - reported >= 50:
            reported = len(run.out)
            progress(min(reported, n), n)
    # Every table and column named a few times: the name pass takes up to NAME_SHARE of the pairs, in place of the
    # last ones drawn, and has its own share of the scan budget.
    drawn, run.out = run.out, []
    run.scan_budget += SCAN_BUDGET // 2
    for draft in name_drafts(run.drafter, mentions(drawn, info)):
        if len(run.out) >= NAME_SHARE * n:
            break
        run.take(draft, 2)
    run.out = drawn[: n - len(run.out)] + run.out
    if len(run.out) < n and run.spare:  # a small database: more wordings of the same queries fill the count
        extra = run.spare[: n - len(run.out)]
        run.out.extend(extra)
        run.stats.extra_wordings = len(extra)
    out = run.out[:n]
    run.stats.mentions = mentions(out, info)
    return Generation(out, run.stats)


def mentions(pairs: list[GeneratedPair], info: SchemaInfo) -> dict[str, int]:
    """How many pairs name each table and each column (`table.column`) of the tables with rows."""
    names = {t.name.lower(): t.name for t in info.tables if t.rows}
    columns = {
        (t.name.lower(), c.name.lower()): f"{t.name}.{c.name}"
        for t in info.tables
        if t.rows
        for c in t.columns
    }
    count = Counter({name: 0 for name in [*names.values(), *columns.values()]})
    for pair in pairs:
        sql = _SQL_WORDS.sub(" ", pair.sql).lower()  # "GROUP BY" never names a column "group"
        words = set(re.findall(r"\w+", sql))
        tables = {t for t in names if _named(t, sql, words)}
        count.update({names[t] for t in tables})
        count.update({columns[(t, c)] for (t, c) in columns if t in tables and _named(c, sql, words)})
    return dict(count)


# The words of SQL itself, as sqlglot writes them (upper case): a column named like one is quoted, in its own case
_SQL_WORDS = re.compile(
    r"\b(?:SELECT|DISTINCT|FROM|WHERE|GROUP|ORDER|BY|HAVING|LIMIT|JOIN|ON|AS|AND|OR|NOT|IN|IS|NULL|LIKE|"
    r"UNION|INTERSECT|EXCEPT|ASC|DESC|NULLS|FIRST|LAST|COUNT|SUM|AVG|MIN|MAX|CAST|BETWEEN)\b"
)


def _named(name: str, sql: str, words: set[str]) -> bool:
    """A plain name is one of the SQL's words; a name like "unit price" is a part of its text."""
    return name in words if re.fullmatch(r"\w+", name) else name in sql


def template_counts(pairs: list[GeneratedPair]) -> dict[str, int]:
    return dict(sorted(Counter(p.template for p in pairs).items()))


def write_jsonl(pairs: list[GeneratedPair], path: str | Path) -> Path:
    path = Path(path)
    path.write_text(
        "".join(json.dumps(p.record(), ensure_ascii=False) + "\n" for p in pairs), encoding="utf-8"
    )
    return path


def timed_generation(db: Database, n: int, seed: int) -> tuple[list[GeneratedPair], float]:
    """(pairs, seconds): generation including introspection, as the benchmark measures it."""
    start = time.perf_counter()
    pairs = generate_pairs(db, n, seed)
    return pairs, time.perf_counter() - start
