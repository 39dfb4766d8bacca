"""Voting by results (core.evaluate.vote): the majority result wins, failures and (beside rows) empty results have
no vote, a tie goes to the greedy answer; and an evaluation with candidates carries a 'with voting' line for the
base model and the adapter alike. The generator here is a stand-in that returns fixed candidates (no model)."""

import pytest

from core.data import Pair
from core.db import open_database
from core.evaluate.ask import ask_model
from core.evaluate.evaluate import _evaluate, sides_for
from core.evaluate.vote import vote
from core.paths import SAMPLE_DATA, SAMPLE_SCHEMA
from core.prompt_record import PromptRecord

COUNT = "SELECT COUNT(*) FROM regions"
COUNT_AGAIN = "SELECT COUNT(region_id) FROM regions"  # other SQL, the same result: one vote with COUNT
ALL = "SELECT name FROM regions"
NONE = "SELECT name FROM regions WHERE 1 = 0"
BROKEN = "SELECT nope FROM regions"


@pytest.fixture(scope="module")
def duck():
    return open_database("duckdb", SAMPLE_SCHEMA.read_text(), SAMPLE_DATA, timeout_s=2)


def run_on(db):
    return lambda sql: db.execute(sql, "postgres")


def test_the_result_most_candidates_give_wins(duck):
    ballot = vote([ALL, COUNT, COUNT_AGAIN, ALL, COUNT], run_on(duck))
    assert ballot.winner.result.rows == duck.execute(COUNT).rows
    assert ballot.votes_of(ballot.winner) == 3  # COUNT twice and COUNT_AGAIN: one result
    assert ballot.winner.sql == COUNT  # the first candidate that gave it (the greedy answer did not)
    assert ballot.table()[0][:3] == [3, 2, COUNT]


def test_failures_have_no_vote(duck):
    ballot = vote([BROKEN, BROKEN, BROKEN, COUNT], run_on(duck))
    assert ballot.winner.sql == COUNT and ballot.votes_of(ballot.winner) == 1
    assert [line[0] for line in ballot.table()] == [1, 0]  # the broken SQL is listed, with no vote


def test_an_empty_result_has_no_vote_beside_rows(duck):
    assert vote([NONE, NONE, NONE, ALL], run_on(duck)).winner.sql == ALL
    # only empty results: the empty one is an answer after all
    assert vote([BROKEN, NONE], run_on(duck)).winner.sql == NONE


def test_a_tie_goes_to_the_greedy_answer(duck):
    assert vote([ALL, COUNT, ALL, COUNT], run_on(duck)).winner.sql == ALL
    assert vote([COUNT, ALL, ALL, COUNT], run_on(duck)).winner.sql == COUNT
    # the greedy answer failed: the tied result met first
    assert vote([BROKEN, ALL, COUNT], run_on(duck)).winner.sql == ALL


def test_when_nothing_runs_the_greedy_answer_stands(duck):
    ballot = vote([BROKEN, "", "SELEC"], run_on(duck))
    assert ballot.winner.sql == BROKEN and not ballot.winner.result.ok and ballot.votes_of(ballot.winner) == 0


def test_the_same_sql_runs_once(duck):
    calls = []

    def run(sql):
        calls.append(sql)
        return duck.execute(sql, "postgres")

    vote([COUNT, COUNT, COUNT, ALL], run)
    assert calls == [COUNT, ALL]


RECORD = PromptRecord(
    "bundled",
    "You are a {dialect} SQL expert for the {database} database.",
    "postgres",
    SAMPLE_SCHEMA.read_text(),
    schema_mode="none",
    database="shop",
)


class FixedCandidates:
    """A stand-in for GeneratorProcess: every prompt gets the same candidates (greedy first)."""

    def __init__(self, by_side: dict[str | None, list[str]]):
        self.by_side = by_side  # adapter path (None: the base model) -> candidates

    def generate(self, model, adapter, trust, prompts, candidates=1, **kw):
        drawn = self.by_side[adapter][:candidates]
        return [drawn if candidates > 1 else drawn[0] for _ in prompts]


def test_an_evaluation_with_candidates_has_a_voting_line_for_both_sides(duck):
    pairs = [Pair("How many regions are there?", COUNT, 1), Pair("Name every region.", ALL, 2)]
    record = RECORD
    generator = FixedCandidates(
        {
            None: [BROKEN, COUNT, COUNT],
            "adapter": [ALL, COUNT, COUNT, ALL, ALL],
        }  # base: greedy fails, votes count
    )
    sides = sides_for(record, "adapter", include_base=True, base_prompt=False)
    report = _evaluate(pairs, duck, record, sides, lambda _: None, 0, False, generator, {}, candidates=3)
    base, tuned = report.summaries["base"], report.summaries["adapter"]
    assert base["exec_accuracy"] == 0 and base["exec_accuracy_voted"] == 0.5  # COUNT wins both questions
    assert tuned["exec_accuracy"] == 0.5 and tuned["exec_accuracy_voted"] == 0.5
    assert base["candidates"] == tuned["candidates"] == 3
    row = report.results["base"][0]
    assert (row.category, row.voted_sql, row.voted_category, row.votes) == (
        "unknown table/column",
        COUNT,
        "correct",
        "2 of 3",
    )
    assert (
        "with voting (3 candidates): base with schema 50% (1 of 2), fine-tuned 50% (1 of 2)"
        in report.headline()
    )
    greedy_only = _evaluate(pairs, duck, record, sides, lambda _: None, 0, False, generator, {})
    assert "exec_accuracy_voted" not in greedy_only.summaries["adapter"]
    assert "voting" not in greedy_only.headline()


def test_a_question_asked_with_candidates_shows_the_winner_and_the_votes(duck):
    record = RECORD
    generator = FixedCandidates({"adapter": [ALL, "SELECT COUNT(*) FROM region", COUNT]})
    tables = {"regions": ["region_id", "name", "country"]}
    answer = ask_model(generator, record, "adapter", "How many regions?", duck, candidates=3, tables=tables)
    # the schema check repaired the second candidate (region -> regions), so two candidates agree on the count
    assert answer.result.rows == duck.execute(COUNT).rows
    assert answer.ballot.votes_of(answer.ballot.winner) == 2
    assert answer.shown.startswith("-- schema check: region -> regions")
    single = ask_model(generator, record, "adapter", "Name them.", duck, candidates=1, tables=tables)
    assert single.sql == ALL and single.ballot is None and len(single.result.rows) == 8
