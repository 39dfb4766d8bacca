"""Question/SQL pairs generated from a connected database: its schema and its real values, the questions worded as
people word them, every SQL run on the database before it is kept.

    result = generate(db, n=500, seed=7)   # the pairs, and what happened on the way (same seed, same pairs)
    write_jsonl(result.pairs, "pairs.jsonl")

A stage of its own above core.db (which connects, introspects and executes; it never needs the generator). Where to
look:

    generator.py   the entry point: templates drawn by WEIGHTS (how often people ask each kind), run, deduplicated
    templates/     the kinds of question, each a function (Drafter) -> Draft | None, and what only they share
    draft.py       the Drafter: the schema seen as roles (labels, categories, numbers, keys), join paths, wordings
    scope.py       what a draft is made of: the FROM part (Scope, Hop), a Condition, the Draft itself
    phrasing.py    names and values in plain English ("cars_data" -> cars, LName -> last name, "from France")
    literals.py    a database value as a SQL literal, thresholds as people type them, the aggregates' words
    coverage.py    the last pass: every table and column named a few times
    shapes.py      a query's shape (names and values abstracted), to spread the pairs over many kinds of query
"""

from core.pairgen.generator import (
    GeneratedPair,
    Generation,
    generate,
    generate_pairs,
    template_counts,
    write_jsonl,
)

__all__ = ["GeneratedPair", "Generation", "generate", "generate_pairs", "template_counts", "write_jsonl"]
