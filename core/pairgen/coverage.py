"""Every table and every column named a few times: a model that learns the schema from the pairs alone (the prompt
names only the database) has to have seen each name, spelled as the database spells it, several times.

`name_drafts` gives, for each table and column named fewer than MIN_MENTIONS times, plain questions that name it:
its values listed, sorted or counted, or a filter on it, as people ask them.
"""

from collections.abc import Iterator

from sqlglot import exp

from core.db.schema_info import Column, Table
from core.pairgen.draft import Drafter
from core.pairgen.literals import literal
from core.pairgen.phrasing import spoken_value
from core.pairgen.scope import Draft, Scope

MIN_MENTIONS = 3
TOP = 5  # a big table's column is asked for as "the 5 highest", not listed whole


def _variants(d: Drafter, table: Table, column: Column) -> list[Draft]:
    scope = Scope([table])
    many, cs, c = d.nouns(table)[1], d.words_plural(column), d.words(column)
    label = d.label(table)
    drafts = []
    if d.big(table):
        query = d.from_(scope, d.col(column)).order_by(d.ordered(d.col(column), True, column)).limit(TOP)
        drafts.append(
            Draft(
                "name_top",
                d.say(
                    ["What are the {n} highest {cs} of {s}?", "List the top {n} {cs} of {s}."],
                    n=TOP,
                    cs=cs,
                    s=many,
                ),
                query,
            )
        )
    else:
        drafts.append(
            Draft(
                "name_list",
                d.say(
                    [
                        "List the {cs} of all {s}.",
                        "What are the {cs} of all {s}?",
                        "Show the {cs} of every {s1}.",
                    ],
                    cs=cs,
                    s=many,
                    s1=d.nouns(table)[0],
                ),
                d.from_(scope, d.col(column)),
            )
        )
        drafts.append(
            Draft(
                "name_distinct",
                d.say(
                    ["What are the distinct {cs} of {s}?", "List the different {cs} of the {s}."],
                    cs=cs,
                    s=many,
                ),
                d.from_(scope, d.col(column)).distinct(),
            )
        )
    drafts.append(
        Draft(
            "name_count",
            d.say(
                ["How many different {cs} do the {s} have?", "Count the distinct {cs} of {s}."], cs=cs, s=many
            ),
            d.from_(scope, exp.Count(this=exp.Distinct(expressions=[d.col(column)]))),
        )
    )
    if label is not None and label is not column and column.examples:
        value = d.pick(column.examples)
        query = d.from_(scope, d.col(label)).where(exp.EQ(this=d.col(column), expression=literal(value)))
        drafts.append(
            Draft(
                "name_filter",
                d.say(
                    ["What are the {l} of the {s} whose {c} is {v}?", "List the {l} of {s} with {c} {v}."],
                    l=d.words_plural(label),
                    s=many,
                    c=c,
                    v=spoken_value(value),
                ),
                query,
            )
        )
    return drafts


def name_drafts(d: Drafter, counts: dict[str, int]) -> Iterator[Draft]:
    """Drafts that name each under-named table and column (`counts`: name -> pairs naming it)."""
    for table in d.tables:
        for column in table.columns:
            if not column.examples:
                continue  # no value to ask about (every row is NULL)
            short = MIN_MENTIONS - counts.get(f"{table.name}.{column.name}", 0)
            if short > 0:
                yield from _variants(d, table, column)[: short + 1]
        if counts.get(table.name, 0) < MIN_MENTIONS:
            query = d.from_(Scope([table]), exp.Count(this=exp.Star()))
            many = d.nouns(table)[1]
            yield Draft(
                "name_count_rows",
                d.say(["How many {s} are there?", "Count the {s}.", "What is the number of {s}?"], s=many),
                query,
            )
