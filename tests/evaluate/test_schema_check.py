"""The schema check repairs a near-miss table or column name to the schema's, only when the match is unambiguous,
each name in its own scope, and leaves a correct query as it was, character for character."""

from core.evaluate import check_names

TABLES = {
    "singer": ["Singer_ID", "Name", "Country", "Age"],
    "Final_Score": ["id", "score", "person"],
    "concert": ["concert_ID", "concert_Name", "Year", "Stadium_ID"],
    "stadium": ["Stadium_ID", "Name", "Capacity"],
    "singer_in_concert": ["concert_ID", "Singer_ID"],
    "Professionals": ["professional_id", "role_code", "email_address", "cell_number"],
}


def test_a_near_miss_table_and_column_are_repaired():
    check = check_names("SELECT count(*) FROM Final_Scores WHERE scor > 3", TABLES, "sqlite")
    assert check.sql == "SELECT COUNT(*) FROM Final_Score WHERE score > 3"
    assert check.changes == [("Final_Scores", "Final_Score"), ("scor", "score")]
    aliased = check_names("SELECT T1.Nam FROM singers AS T1", TABLES, "sqlite")
    assert (
        aliased.sql == "SELECT T1.Name FROM singer AS T1"
        and aliased.describe() == "singers -> singer, Nam -> Name"
    )
    twice = check_names("SELECT Nam FROM singer ORDER BY Nam", TABLES, "sqlite")
    assert (
        twice.sql == "SELECT Name FROM singer ORDER BY Name" and twice.describe() == "Nam -> Name"
    )  # said once


def test_a_name_said_without_its_other_words_is_repaired():
    # the question said "role" and "email"; the columns are role_code and email_address
    check = check_names("SELECT role, email FROM Professionals", TABLES, "sqlite")
    assert check.sql == "SELECT role_code, email_address FROM Professionals"
    named = check_names("SELECT Name FROM concert", TABLES, "sqlite")
    assert named.sql == "SELECT concert_Name FROM concert"


def test_an_ambiguous_name_is_left_alone():
    two = {"a": ["cost_2023", "cost_2024"]}
    assert not check_names("SELECT cost_202 FROM a", two, "sqlite").changed  # 2023 or 2024? as near: no guess
    both = "SELECT Nme FROM singer AS T1 JOIN stadium AS T2 ON T1.Singer_ID = T2.Stadium_ID"
    assert not check_names(
        both, TABLES, "sqlite"
    ).changed  # singer.Name or stadium.Name: unqualified, ambiguous
    assert not check_names("SELECT zzz FROM singer", TABLES, "sqlite").changed  # nothing near
    codes = {"a": ["role_code", "role_name"]}
    assert not check_names("SELECT role FROM a", codes, "sqlite").changed  # the code or the name? no guess


def test_a_correct_query_is_untouched():
    sql = "select  name ,  country FROM singer WHERE age > 20 order by age desc"  # Spider's own spacing and case
    check = check_names(sql, TABLES, "sqlite")
    assert check.sql == sql and not check.changed
    counted = (
        "SELECT count(*) AS n FROM concert GROUP BY Year ORDER BY n DESC"  # an output alias is not a column
    )
    assert check_names(counted, TABLES, "sqlite").sql == counted
    assert (
        check_names("SELEC nonsense", TABLES, "sqlite").sql == "SELEC nonsense"
    )  # does not parse: left alone


def test_a_subquery_alias_is_not_repaired_against_a_table():
    # T1 outside is the derived table, whose column is Nme; the T1 inside is singer
    derived = "SELECT T1.Nme FROM (SELECT T1.Name AS Nme FROM singer AS T1) AS T1"
    assert check_names(derived, TABLES, "sqlite").sql == derived
    named_as_a_table = "SELECT singer.Nme FROM (SELECT Name AS Nme FROM singer) AS singer"
    assert check_names(named_as_a_table, TABLES, "sqlite").sql == named_as_a_table
    # T1 is singer outside and concert inside: the outer T1.Name is singer's, no concert_Name
    reused = (
        "SELECT T1.Name FROM singer AS T1 WHERE T1.Singer_ID IN (SELECT T2.Singer_ID FROM concert AS T1 JOIN "
        "singer_in_concert AS T2 ON T1.concert_ID = T2.concert_ID WHERE T1.Year = 2014)"
    )
    assert check_names(reused, TABLES, "sqlite").sql == reused


def test_a_correlated_column_is_resolved_in_the_scope_it_names():
    # T1.Name inside EXISTS is the enclosing stadium's (a later subquery's T1 is concert): not concert_Name
    sql = (
        "SELECT T1.Capacity FROM stadium AS T1 WHERE EXISTS (SELECT 1 FROM singer AS T2 WHERE T2.Name = {}) "
        "AND T1.Stadium_ID IN (SELECT T1.Stadium_ID FROM concert AS T1 WHERE T1.Year = 2014)"
    )
    assert check_names(sql.format("T1.Name"), TABLES, "sqlite").sql == sql.format("T1.Name")
    near = check_names(sql.format("T1.Nme"), TABLES, "sqlite")  # a near miss: repaired against stadium
    assert near.changes == [("Nme", "Name")] and "T2.Name = T1.Name" in near.sql
    # unqualified: its own FROM first, then the enclosing one (a correlated subquery sees it)
    inner = check_names(
        "SELECT Name FROM stadium WHERE EXISTS (SELECT 1 FROM concert WHERE Yer = 2014 AND Capacty > 9)",
        TABLES,
        "sqlite",
    )
    assert inner.changes == [("Yer", "Year"), ("Capacty", "Capacity")]
    # the outer query does not see a subquery's tables: Capacity is no column of singer
    outer = "SELECT Capacty FROM singer WHERE Singer_ID IN (SELECT Stadium_ID FROM stadium)"
    assert check_names(outer, TABLES, "sqlite").sql == outer
