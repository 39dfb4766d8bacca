"""Answers that vote by their results: several candidate queries for one question, each run read-only on the
database, and the result most of them agree on wins (self-consistency, as SLM-SQL, OmniSQL and CodeS use it).

    ballot = vote(["SELECT ...", "SELECT ...", ...], run)   # candidates[0] is the greedy answer
    ballot.winner.sql, ballot.winner.result, ballot.votes_of(ballot.winner)

The rules: a candidate whose SQL fails (error, timeout, not a read) has no vote; an empty result has none when some
candidate returned rows; the result shared by the most candidates wins; a tie goes to the greedy answer's result
when it is among the tied, else to the tied result met first. When no candidate runs, the greedy answer stands and
is scored as it is. The winning SQL is the greedy answer when it gave the winning result, else the first candidate
that did. Results are compared as BIRD and Spider compare them (core.data.metrics): rows as a multiset, values
normalised, column names ignored.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from core.data.metrics import normalise_rows
from core.db import QueryResult

# The candidates beyond the greedy answer are sampled at this temperature and top-p: the settings measured when
# voting was proposed (Spider dev, CPU adapters: 51.1% greedy -> 58.5% with 8 candidates).
TEMPERATURE, TOP_P = 0.8, 0.95
SAMPLING_SEED = 1234  # sampled candidates repeat for the same prompts, model and machine (and can be cached)


@dataclass
class Candidate:
    sql: str
    result: QueryResult
    greedy: bool = False


@dataclass
class Ballot:
    candidates: list[Candidate]  # in the order drawn: [0] is the greedy answer
    winner: Candidate
    groups: list[list[Candidate]] = field(default_factory=list)  # candidates that agree, the winner's first

    def votes_of(self, candidate: Candidate) -> int:
        """How many candidates gave this candidate's result (0 for one that has no vote)."""
        return next((len(g) for g in self.groups if candidate in g), 0)

    def table(self) -> list[list]:
        """One line per distinct SQL, the winner first, then by votes: [votes, times drawn, SQL, outcome]. Votes
        count the candidates whose result is this SQL's result; the outcome is the rows' count or the failure."""
        lines: dict[str, list] = {}
        for c in sorted(self.candidates, key=lambda c: (c is not self.winner, -self.votes_of(c))):
            if c.sql in lines:
                lines[c.sql][1] += 1
                continue
            rows = len(c.result.rows)
            outcome = (
                f"{rows} row{'s' if rows != 1 else ''}" if c.result.ok else c.result.category or "failed"
            )
            lines[c.sql] = [self.votes_of(c), 1, c.sql, outcome + (" (greedy)" if c.greedy else "")]
        return list(lines.values())


def result_key(result: QueryResult) -> tuple:
    """Two results are one vote when their rows are equal as multisets after normalisation."""
    return tuple(sorted(repr(row) for row in normalise_rows(result.rows)))


def vote(candidate_sqls: list[str], run: Callable[[str], QueryResult]) -> Ballot:
    """Run each candidate (the same SQL once) and count the results; `candidate_sqls[0]` is the greedy answer."""
    if not candidate_sqls:
        raise ValueError("voting needs at least one candidate")
    results: dict[str, QueryResult] = {}
    candidates = []
    for i, sql in enumerate(candidate_sqls):
        if sql not in results:
            results[sql] = run(sql) if sql else QueryResult(False, category="syntax error", error="no SQL")
        candidates.append(Candidate(sql, results[sql], greedy=i == 0))
    ran = [c for c in candidates if c.result.ok]
    if any(c.result.rows for c in ran):
        ran = [c for c in ran if c.result.rows]
    by_result: dict[tuple, list[Candidate]] = {}
    for c in ran:
        by_result.setdefault(result_key(c.result), []).append(c)
    groups = sorted(
        by_result.values(),
        # most votes first; among equals the greedy answer's group, then the one met first
        key=lambda g: (-len(g), not any(c.greedy for c in g), candidates.index(g[0])),
    )
    if not groups:
        return Ballot(candidates, candidates[0], [])
    winning = groups[0]
    winner = next((c for c in winning if c.greedy), winning[0])
    return Ballot(candidates, winner, groups)
