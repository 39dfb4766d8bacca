"""One question in a person's own words, answered by a model and run on the database: what the playground shows for
each side and what `python -m core ask` prints.

    answer = ask_model(generator, record, adapter, "How many dogs are there?", db, candidates=8)
    answer.sql, answer.result.rows, answer.ballot.table()

With `candidates` > 1 the model draws that many answers (the greedy one first) and they vote by their results
(core.evaluate.vote). With `tables` (the schema's tables and columns) every candidate goes through the schema check
before it runs, as the playground's checkbox asks.
"""

from dataclasses import dataclass

from core.data.metrics import extract_sql
from core.db import Database, QueryResult
from core.evaluate.schema_check import SchemaCheck, check_names
from core.evaluate.vote import Ballot, vote
from core.prompt_record import PromptRecord

MAX_NEW_TOKENS = 200


@dataclass
class Answer:
    raw: str  # the greedy answer as the model wrote it
    sql: str  # the SQL that ran (the vote's winner, after the schema check): "" when the model wrote none
    shown: str  # the SQL as shown: under a comment naming what the schema check changed
    result: QueryResult | None
    ballot: Ballot | None = None  # with voting


def checked(sql: str, tables: dict, dialect: str) -> SchemaCheck:
    return check_names(sql, tables, dialect) if sql and tables else SchemaCheck(sql)


def ask_model(
    generator,
    record: PromptRecord,
    adapter: str | None,
    question: str,
    db: Database,
    trust_remote_code: bool = False,
    candidates: int = 1,
    tables: dict | None = None,
) -> Answer:
    """The model's answer to `question` (prompted by `record`), run read-only on `db`. `generator` is a
    GeneratorProcess (the model loads in its child process)."""
    prompt = record.prompt_messages(question.strip())
    [drawn] = generator.generate(
        record.base_model,
        adapter,
        trust_remote_code,
        [prompt],
        max_new_tokens=MAX_NEW_TOKENS,
        candidates=candidates,
    )
    raws = drawn if candidates > 1 else [drawn]
    checks = {sql: checked(sql, tables or {}, record.dialect) for sql in map(extract_sql, raws)}
    ballot = None
    if candidates > 1:
        ballot = vote([checks[extract_sql(r)].sql for r in raws], lambda sql: db.execute(sql, record.dialect))
        sql, result = ballot.winner.sql, ballot.winner.result
        check = next((c for c in checks.values() if c.sql == sql), SchemaCheck(sql))
    else:
        check = checks[extract_sql(raws[0])]
        sql = check.sql
        result = db.execute(sql, record.dialect) if sql else None
    shown = f"-- schema check: {check.describe()}\n{check.sql}" if check.changed else sql
    return Answer(raws[0], sql, shown, result if sql else None, ballot)
