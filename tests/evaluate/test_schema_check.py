"""The schema check repairs a near-miss table or column name to the schema's, only when the match is unambiguous,
and leaves a correct query as it was, character for character."""

from core.evaluate import check_names

TABLES = {
    "singer": ["Singer_ID", "Name", "Country", "Age"],
    "Final_Score": ["id", "score", "person"],
    "concert": ["concert_ID", "concert_Name", "Year", "Stadium_ID"],
    "stadium": ["Stadium_ID", "Name", "Capacity"],
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
