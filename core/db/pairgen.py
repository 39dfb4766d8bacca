"""Generate training pairs from a connected database: question/SQL pairs grounded in its schema and real values.

    pairs = generate_pairs(db, n=500, seed=7)          # the same seed gives the same pairs
    write_jsonl(pairs, "pairs.jsonl")                  # {"question", "sql", "source": "generated", "template"}

Templates (core.db.templates, core.db.join_templates) take turns, so no kind dominates; each candidate's SQL is
rendered in the chosen dialect and executed read-only, and only pairs that run within the timeout and return rows
are kept. Duplicates (same SQL after normalising, or the same question) are dropped. A template that keeps failing
(nothing in this schema fits it) drops out and leaves its share to the others.
"""

import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.db.draft import Drafter
from core.db.execute import Database
from core.db.introspect import SchemaInfo, introspect
from core.db.join_templates import JOIN_TEMPLATES
from core.db.templates import TEMPLATES

ALL_TEMPLATES = [*TEMPLATES, *JOIN_TEMPLATES]
TRIES_PER_TURN = 12  # candidates a template may draw in one turn before it counts a miss
MISSES_TO_DROP = 3  # turns in a row without a usable pair: the schema has nothing more for this template
MAX_PAIRS = 20_000
CAP_SHARE, MIN_CAP = 3.0, 5  # one template makes at most 3x its fair share of the pairs


@dataclass
class GeneratedPair:
    question: str
    sql: str
    template: str
    rows: int  # how many rows its SQL returned on the database

    def record(self) -> dict:
        return {"question": self.question, "sql": self.sql, "source": "generated", "template": self.template}


def _key(sql: str) -> str:
    return " ".join(sql.lower().split())


def _answers(rows: list[tuple]) -> bool:
    """A result worth learning from: at least one row with a value in it."""
    return any(any(v is not None for v in row) for row in rows)


def generate_pairs(db: Database, n: int = 500, seed: int = 7, info: SchemaInfo | None = None, dialect: str | None = None,
                   progress: Callable[[int, int], None] | None = None) -> list[GeneratedPair]:
    """Up to `n` executed, deduplicated, balanced pairs. Fewer when the schema offers fewer distinct queries."""
    if not 1 <= n <= MAX_PAIRS:
        raise ValueError(f"Ask for between 1 and {MAX_PAIRS:,} pairs (got {n}).")
    info = info or introspect(db)
    dialect = dialect or db.dialect
    if not any(t.rows for t in info.tables):
        raise ValueError("The database has no rows: pairs are made from real values, so load some data first.")
    drafter = Drafter(info, dialect, random.Random(seed))
    seen_sql: set[str] = set()
    seen_questions: set[str] = set()
    misses, made = Counter(), Counter()
    alive = list(ALL_TEMPLATES)
    cap = max(MIN_CAP, round(CAP_SHARE * n / len(ALL_TEMPLATES)))  # no kind dominates
    out: list[GeneratedPair] = []
    while len(out) < n and alive:
        for template in list(alive):
            if len(out) >= n:
                break
            pair = _one(template, drafter, db, dialect, seen_sql, seen_questions)
            if pair is None:
                misses[template] += 1
                if misses[template] >= MISSES_TO_DROP:
                    alive.remove(template)
                continue
            misses[template] = 0
            made[template] += 1
            if made[template] >= cap:
                alive.remove(template)
            out.append(pair)
            if progress and len(out) % 50 == 0:
                progress(len(out), n)
    return out


def _one(template, drafter: Drafter, db: Database, dialect: str, seen_sql: set, seen_questions: set):
    for _ in range(TRIES_PER_TURN):
        draft = template(drafter)
        if draft is None:
            continue
        sql = draft.sql.sql(dialect=dialect)
        key, question_key = _key(sql), draft.question.lower()
        if key in seen_sql or question_key in seen_questions:
            continue
        seen_sql.add(key)
        result = db.execute(sql, dialect)
        if result.ok and _answers(result.rows):
            seen_questions.add(question_key)
            return GeneratedPair(draft.question, sql, draft.template, len(result.rows))
    return None


def template_counts(pairs: list[GeneratedPair]) -> dict[str, int]:
    return dict(sorted(Counter(p.template for p in pairs).items()))


def write_jsonl(pairs: list[GeneratedPair], path: str | Path) -> Path:
    path = Path(path)
    path.write_text("".join(json.dumps(p.record(), ensure_ascii=False) + "\n" for p in pairs), encoding="utf-8")
    return path


def timed_generation(db: Database, n: int, seed: int) -> tuple[list[GeneratedPair], float]:
    """(pairs, seconds): generation including introspection, as the benchmark measures it."""
    start = time.perf_counter()
    pairs = generate_pairs(db, n, seed)
    return pairs, time.perf_counter() - start
