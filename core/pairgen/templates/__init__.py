"""The kinds of question the generator asks, each a function `(Drafter) -> Draft | None` (None: nothing fits this
draw; the generator draws again). core.pairgen.generator draws them by name with the weights of WEIGHTS.

    rows.py          lists (with up to two conditions, DISTINCT), counts, aggregates
    sorting.py       sorted lists, superlatives ("the youngest"), top-N
    groups.py        per group: counts and aggregates, the most common value, HAVING
    compound.py      a query inside a query: above the average, INTERSECT / UNION / EXCEPT
    child_counts.py  along a foreign key: each parent with its children counted, the parent with the most, HAVING
    without.py       parents without children: NOT IN, EXCEPT, through a link table
    join_values.py   along a foreign key, by values: a parent's attribute for its children, IN (subquery), links

What only templates use: filters.py (one condition on a real value, with its words), conditions.py (how the subject
relates to the joined tables, up to two conditions, WHERE, HAVING on a count) and joins.py (the helpers of the
templates along one foreign key).
"""
