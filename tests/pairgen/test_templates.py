"""The templates and what they draw from: the drafter's categories, the shapes of Spider train's questions each
template makes (superlatives from a parent to its children, parents without a linked row, two bounds on one number,
comparisons with the extremes of some rows, no DISTINCT where a link meets one row), and thresholds from values that
read as numbers."""

import re

from core.db import connect, introspect
from core.pairgen import generate_pairs
from tests.pairgen.campus import campus_file, campus_pairs


def test_a_small_table_groups_on_a_text_column_with_a_repeated_value(tmp_path):
    """Five investors among six rows is a category ("how many entrepreneurs per investor"); a column whose every
    value is met once is not ("the number of continents for each continent" is always one)."""
    import random
    import sqlite3

    from core.pairgen.draft import Drafter

    path = tmp_path / "small.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE entrepreneur (id INTEGER PRIMARY KEY, name TEXT, investor TEXT)")
    con.executemany(
        "INSERT INTO entrepreneur VALUES (?, ?, ?)",
        [(i, f"person {i}", ["Ann", "Bo", "Cy", "Di", "Ed", "Ann"][i]) for i in range(6)],
    )
    con.commit()
    con.close()
    drafter = Drafter(introspect(connect(str(path))), "sqlite", random.Random(7))
    table = drafter.tables[0]
    assert [c.name for c in drafter.categories(table)] == ["investor"]


def test_without_a_linked_row_of_a_value(tmp_path):
    """Spider train asks "the students who do not have a cat" through the link table (NOT IN over the link joined to
    the far table, or EXCEPT over all three), and never about the join's own key ("pets with no student whose
    student id is 1001")."""
    import random

    from core.pairgen.draft import Drafter
    from core.pairgen.templates.without import without

    db = connect(str(campus_file(tmp_path)))
    drafter = Drafter(introspect(db), "sqlite", random.Random(7))
    drafts = [d for d in (without(drafter) for _ in range(400)) if d]
    sqls = [d.sql.sql() for d in drafts]
    assert any(
        re.search(r"NOT \w+ IN \(SELECT T1\.\w+ FROM \w+ AS T1 JOIN \w+ AS T2 .* WHERE T2\.", s) for s in sqls
    )
    assert any(re.search(r"EXCEPT SELECT T1\.\w+ FROM .* JOIN .* JOIN .* WHERE T3\.", s) for s in sqls)
    assert not any(re.search(r"WHERE (T\d\.)?(stuid|dormid|ClubID|StuID) = ", s) for s in sqls), sqls
    for d in drafts:
        assert db.execute(d.sql.sql(dialect="sqlite"), "sqlite").ok


def test_a_superlative_may_go_from_a_parent_to_its_children(tmp_path):
    """'the name of the club whose student has the lowest age': the answer is the parent's, the order is the child's
    (Spider train asks this shape 26 times); LIMIT 1, as a parent met once per child can repeat."""
    import random

    from core.pairgen.draft import Drafter
    from core.pairgen.templates.sorting import sorted_rows

    drafter = Drafter(introspect(connect(str(campus_file(tmp_path)))), "sqlite", random.Random(7))
    drafts = [d for d in (sorted_rows(drafter) for _ in range(600)) if d and d.template == "superlative"]
    top = [(d.sql.sql(), q) for d in drafts for _, q in d.questions if " JOIN " in d.sql.sql()]
    from_parent = [
        (sql, q)
        for sql, q in top
        if re.search(r"FROM (Dorm|Club|Student) AS T1 JOIN (Lives_in|Member_of_club) .*ORDER BY T[23]\.", sql)
    ]
    assert from_parent, top
    assert all(sql.endswith("LIMIT 1") for sql, _ in from_parent)
    # the child's noun, or (for a link table such as Lives_in) its column as the parent's own: never "life in"
    assert all(
        re.search(r"whose \w+ has the|has the \w+ with the|(dorm|club|student) (with|that has|has) the", q)
        for _, q in from_parent
    ), [q for _, q in from_parent]
    assert not [q for _, q in from_parent if "life in" in q]


def test_shapes_people_ask_that_the_generator_lacked(tmp_path):
    """Human shapes of Spider train the generator could not produce on any database (bench/generator_coverage.py
    lists them): parents by the total or average of their children's number, the value with its count in a HAVING,
    the average over the rows without children, a sort on two columns, the aggregate beside the most common value."""
    import random

    from core.pairgen.draft import Drafter
    from core.pairgen.templates.child_counts import parent_having
    from core.pairgen.templates.without import without

    pairs = campus_pairs(tmp_path) + generate_pairs(connect("sample"), n=1500, seed=7)
    sqls = [p.sql for p in pairs]
    for pattern in (
        r"^SELECT \w+, COUNT\(\*\) FROM \w+ GROUP BY \w+ HAVING COUNT",
        r"ORDER BY \w+( DESC| ASC)?(?: NULLS \w+)?, \w+",
        r"^SELECT \w+, (SUM|AVG)\(\w+\) FROM \w+ GROUP BY \w+ ORDER BY (SUM|AVG)",
    ):
        assert any(re.search(pattern, s) for s in sqls), pattern
    # rare by its weight (as people ask it): drawn from the template itself
    drafter = Drafter(introspect(connect("sample")), "duckdb", random.Random(7))
    for template, pattern in (
        (without, r"SELECT AVG\(\w+\) FROM \w+ WHERE NOT \w+ IN \(SELECT"),
        (parent_having, r"GROUP BY T2\.\w+(, T2\.\w+)* HAVING (SUM|AVG)\(T1\.\w+\) [<>] "),
    ):
        drafts = [template(drafter) for _ in range(300)]
        assert any(re.search(pattern, d.sql.sql()) for d in drafts if d), pattern


def test_the_smallest_or_largest_compared_with_is_mostly_of_some_rows():
    """'a resolution higher than the lowest of the English songs': Spider train compares with the MIN or MAX of rows
    that meet a condition in 46 of 59 queries, with the average of all rows in 88 of 94."""
    import random

    from core.pairgen.draft import Drafter
    from core.pairgen.templates.compound import above_average

    drafter = Drafter(introspect(connect("sample")), "duckdb", random.Random(7))
    sqls = [d.sql.sql() for d in (above_average(drafter) for _ in range(1500)) if d]
    nested = [re.search(r"[<>] \(SELECT (MIN|MAX|AVG)\(\w+\) FROM \w+( WHERE)?", s) for s in sqls]
    extremes = [m for m in nested if m and m.group(1) != "AVG"]
    averages = [m for m in nested if m and m.group(1) == "AVG"]
    assert len(extremes) >= 10 and sum(bool(m.group(2)) for m in extremes) > 0.5 * len(extremes)
    assert sum(bool(m.group(2)) for m in averages) < 0.25 * len(averages)


def test_two_bounds_on_one_number():
    """'height above 200 or below 190', 'year >= 1935 AND year <= 1939': Spider train asks 22 such queries."""
    import random

    from core.pairgen.draft import Drafter
    from core.pairgen.templates.rows import count_rows, list_rows

    drafter = Drafter(introspect(connect("sample")), "duckdb", random.Random(7))
    drafts = [d for t in (list_rows, count_rows) for d in (t(drafter) for _ in range(1500)) if d]
    sqls = [d.sql.sql() for d in drafts]
    inside = [s for s in sqls if re.search(r"([\w.]+) >= \S+ AND \1 <= ", s)]
    outside = [s for s in sqls if re.search(r"([\w.]+) > \S+ OR \1 < ", s)]
    assert inside and outside
    said = {s: q for d in drafts for s in [d.sql.sql()] for _, q in d.questions}
    assert all(re.search(r" from \S+ to ", said[s]) for s in inside)
    assert all(re.search(r" above \S+ or below ", said[s]) for s in outside)


def test_more_shapes_people_ask_drawn_from_their_templates(tmp_path):
    """Spider train shapes no database got: every value from the most common down (no LIMIT), the smallest of the
    rows that meet a condition among those rows, all the information about parents without children, EXCEPT on
    two columns, HAVING on the count of a key."""
    import random

    from core.pairgen.draft import Drafter
    from core.pairgen.templates.child_counts import parent_count, parent_having, parent_top
    from core.pairgen.templates.compound import above_average
    from core.pairgen.templates.groups import having, most_common
    from core.pairgen.templates.without import without

    drafter = Drafter(introspect(connect(str(campus_file(tmp_path)))), "sqlite", random.Random(7))
    wanted = [
        (most_common, r"GROUP BY \w+ ORDER BY COUNT\(\*\) DESC$"),
        (most_common, r"WHERE \w+ = \(SELECT \w+ FROM \w+ GROUP BY \w+ ORDER BY COUNT\(\*\) DESC LIMIT 1\)"),
        (having, r"HAVING (AVG|SUM|MAX|MIN)\(\w+\) >= "),
        (above_average, r"WHERE (\w+) = '?\w+'? AND (\w+) = \(SELECT (MIN|MAX)\(\2\) FROM \w+ WHERE \1 = "),
        (without, r"^SELECT \* FROM \w+ WHERE NOT"),
        (parent_having, r"HAVING COUNT\(T1\.\w+\)"),
        (having, r"HAVING COUNT\(\w+\)"),
        # the rows counted per parent meet a condition (Spider train: 71 of 768 grouped joins)
        (parent_count, r"JOIN \w+ AS T2 ON .* WHERE T1\.\w+ \S+ \S+ GROUP BY T2\.\w+$"),
        (parent_having, r" WHERE T1\.\w+ \S+ \S+ GROUP BY T2\.\w+ HAVING"),
        (parent_top, r"JOIN \w+ AS T3 ON .* WHERE T3\.\w+ \S+ \S+ GROUP BY T1\.\w+ ORDER BY COUNT"),
        # compared with the average of the joined table (Spider train: 62 of 203 such comparisons join)
        (
            above_average,
            r"FROM \w+ AS T1 JOIN \w+ AS T2 ON .* WHERE T2\.\w+ [<>=] \(SELECT (AVG|MAX|MIN)\(\w+\) FROM \w+\)$",
        ),
        (
            above_average,
            r"FROM Student AS T1 JOIN \w+ AS T2 .* JOIN (Dorm|Club) AS T3 .* WHERE T3\.\w+ [<>=] \(SELECT",
        ),
    ]
    for template, pattern in wanted:
        sqls = [d.sql.sql() for d in (template(drafter) for _ in range(800)) if d]
        assert any(re.search(pattern, s) for s in sqls), (template.__name__, pattern)
    excepts = [d.sql.sql() for d in (without(drafter) for _ in range(800)) if d]
    assert any(re.match(r"SELECT \w+, \w+ FROM \w+ EXCEPT SELECT T2\.\w+, T2\.\w+ FROM", s) for s in excepts)


def test_through_a_link_to_one_row_needs_no_distinct(tmp_path):
    """'the average age of the members of the club Bootup Baltimore': through a link table to one row of the far
    table (an equality on a column no two rows share) each student is met once, so AVG and COUNT(*) are right as
    Spider train writes them; without that equality an average over the link is never drawn."""
    import random

    from core.pairgen.draft import Drafter
    from core.pairgen.templates.rows import aggregate, count_rows

    db = connect(str(campus_file(tmp_path)))
    drafter = Drafter(introspect(db), "sqlite", random.Random(7))
    through = r"FROM Student AS T1 JOIN (Lives_in|Member_of_club) AS T2 .* JOIN (Dorm|Club) AS T3 .*"
    unique = (
        r"WHERE (.* AND )?T3\.(dorm_name|ClubName|dormid|ClubID|student_capacity) = ('[^']*'|\d+)( AND|$)"
    )
    for template, head in (
        (aggregate, r"^SELECT (AVG|SUM|MIN|MAX)\(T1\.\w+\)"),
        (count_rows, r"^SELECT COUNT\(\*\)"),
    ):
        sqls = [d.sql.sql() for d in (template(drafter) for _ in range(1500)) if d]
        linked = [s for s in sqls if re.search(through, s)]
        assert any(re.search(head + " " + through + unique, s) for s in linked), (template.__name__, linked)
        assert not [s for s in linked if not re.search(unique, s) and "DISTINCT" not in s]


def test_thresholds_are_drawn_only_from_values_that_read_as_numbers():
    """SQLite lets an INTEGER column hold '' (Spider's bike_1: weather.max_visibility_miles, where '' is among the
    most frequent values): the set-operation template drew two of its examples and stopped on float('')."""
    from core.pairgen.literals import numeric

    assert numeric([10, "", "2.5", None, "x", 20]) == [10, "2.5", 20]
