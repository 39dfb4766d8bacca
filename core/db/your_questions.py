"""Your questions: questions a person asked in the playground, worded in their own words, with SQL they checked (an
answer they marked right, or one they corrected). They form an evaluation set of their own, kept per database in
the data folder, scored beside the held-out rows and never trained on (core.train.dataset leaves them out).

    add_question("shop.sqlite", "Which customers never ordered?", "SELECT ...")
    your_questions("shop.sqlite")    # -> [Pair, ...]

Generated held-out rows only measure template wording; these measure what a person actually asks.
"""

import hashlib
import json
from pathlib import Path

from core.data import Pair, load_pairs
from core.data.split import normalise_question
from core.defaults import database_name_of
from core.files import locked, write_atomic
from core.paths import data_dir, safe_name
from core.redact import redact

SET_NAME = "your questions"
ENOUGH = 5  # below this many, the Evaluate tab asks for more


def database_of(cfg) -> str:
    """Which database a run's questions belong to: its connected database, else its schema (or data) file."""
    return cfg.database or cfg.schema_path or cfg.data_path


def questions_file(database: str) -> Path:
    """The file of a database's own questions: named after the database, keyed by its source (password masked)."""
    source = redact(database or "")
    digest = hashlib.sha256(source.encode()).hexdigest()[:10]
    try:
        name = safe_name(database_name_of(source) or "database", 40)
    except ValueError:
        name = "database"
    return data_dir() / "questions" / f"{name}-{digest}.jsonl"


def your_questions(database: str) -> list[Pair]:
    path = questions_file(database)
    return load_pairs(path) if path.exists() else []


def add_question(database: str, question: str, sql: str) -> tuple[int, bool]:
    """Keep a question and its checked SQL; (how many the database has now, whether it was new). A question asked
    again replaces the SQL it had."""
    question, sql = question.strip(), sql.strip()
    if not question or not sql:
        raise ValueError("A question and its SQL are both needed.")
    path = questions_file(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path):  # two sessions (or the studio and a CLI) adding at once: neither question is lost
        had = your_questions(database)
        kept = [
            {"question": p.question, "sql": p.sql}
            for p in had
            if normalise_question(p.question) != normalise_question(question)
        ]
        new = len(kept) == len(had)
        kept.append({"question": question, "sql": sql})
        write_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept))
    return len(kept), new


def leave_out(pairs: list[Pair], database: str) -> tuple[list[Pair], int]:
    """The pairs without those that ask one of the database's own questions or give one of their SQL (they would
    give the answer away); and how many were left out."""
    own = your_questions(database)
    if not own:
        return pairs, 0
    given = {normalise_question(p.question) for p in own} | {" ".join(p.sql.split()).lower() for p in own}
    kept = [
        p
        for p in pairs
        if normalise_question(p.question) not in given and " ".join(p.sql.split()).lower() not in given
    ]
    return kept, len(pairs) - len(kept)
