"""Loading pairs: every format, field aliases, and every bad-file case gives one clear message."""

import json

import pytest

from core.data import DataError, load_pairs
from tests.conftest import write


def test_jsonl_json_and_csv_give_the_same_pairs(tmp_path):
    rows = [
        {"question": "How many sales?", "sql": "SELECT COUNT(*) FROM sales"},
        {"question": "List regions", "sql": "SELECT name FROM regions"},
    ]
    jsonl = write(tmp_path / "a.jsonl", "\n".join(json.dumps(r) for r in rows))
    array = write(tmp_path / "a.json", json.dumps(rows))
    csv = write(
        tmp_path / "a.csv",
        "question,sql\nHow many sales?,SELECT COUNT(*) FROM sales\nList regions,SELECT name FROM regions\n",
    )
    for path in (jsonl, array, csv):
        pairs = load_pairs(path)
        assert [(p.question, p.sql, p.row) for p in pairs] == [
            (r["question"], r["sql"], i) for i, r in enumerate(rows, 1)
        ]


@pytest.mark.parametrize(
    "q,s",
    [
        ("prompt", "completion"),
        ("instruction", "output"),
        ("nl", "query"),
        ("input", "answer"),
        ("Question", "SQL"),
    ],
)
def test_field_aliases(tmp_path, q, s):
    pairs = load_pairs(write(tmp_path / "a.jsonl", json.dumps({q: "How many?", s: "SELECT 1"})))
    assert (pairs[0].question, pairs[0].sql) == ("How many?", "SELECT 1")


def test_context_column_becomes_row_schema(tmp_path):
    row = {"question": "q", "answer": "SELECT a FROM t", "context": "CREATE TABLE t (a INT)"}
    assert load_pairs(write(tmp_path / "a.jsonl", json.dumps(row)))[0].schema == "CREATE TABLE t (a INT)"


def test_instruction_with_input_keeps_input_as_context(tmp_path):
    row = {"instruction": "How many?", "input": "CREATE TABLE t (a INT)", "output": "SELECT COUNT(*) FROM t"}
    p = load_pairs(write(tmp_path / "a.jsonl", json.dumps(row)))[0]
    assert (p.question, p.schema, p.sql) == ("How many?", "CREATE TABLE t (a INT)", "SELECT COUNT(*) FROM t")


def test_chat_messages_rows(tmp_path):
    row = {
        "messages": [
            {"role": "system", "content": "CREATE TABLE t (a INT)"},
            {"role": "user", "content": "How many?"},
            {"role": "assistant", "content": "SELECT COUNT(*) FROM t"},
        ]
    }
    p = load_pairs(write(tmp_path / "a.jsonl", json.dumps(row)))[0]
    assert (p.question, p.sql, p.schema) == ("How many?", "SELECT COUNT(*) FROM t", "CREATE TABLE t (a INT)")


def test_csv_with_bom_quotes_and_embedded_newlines(tmp_path):
    text = '\ufeffquestion,sql\n"Names, sorted","SELECT name\nFROM t ORDER BY name"\n'
    p = load_pairs(write(tmp_path / "a.csv", text))[0]
    assert p.question == "Names, sorted" and p.sql == "SELECT name\nFROM t ORDER BY name"


def test_wrong_types_are_loaded_and_flagged(tmp_path):
    pairs = load_pairs(write(tmp_path / "a.jsonl", json.dumps({"question": 42, "sql": ["SELECT 1"]})))
    assert pairs[0].problems == ["question is a int, expected text", "sql is a list, expected text"]


def test_rows_without_known_fields_are_kept_for_the_report(tmp_path):
    text = json.dumps({"question": "q", "sql": "SELECT 1"}) + "\n" + json.dumps({"foo": 1})
    pairs = load_pairs(write(tmp_path / "a.jsonl", text))
    assert [p.row for p in pairs] == [1, 2] and pairs[1].problems


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("empty.jsonl", "", "the file is empty"),
        ("blank.csv", "\n\n  \n", "the file is empty"),
        ("latin1.csv", "question,sql\nQuelle r\xe9gion?,SELECT 1\n".encode("latin-1"), "not UTF-8"),
        ("broken.json", '[{"question": "q", "sql": ', "not valid JSON"),
        ("broken.jsonl", '{"question": "q", "sql": "SELECT 1"}\n{"question": ', "line 2 is not valid JSON"),
        ("cols.csv", "foo,bar\n1,2\n", "no recognisable columns"),
        ("cols.jsonl", '{"foo": 1}\n', "no recognisable columns"),
        ("empty_array.json", "[]", "holds no pairs"),
        ("binary.json", b"\x00\x01\x02\x03", "binary"),
        ("noheader.csv", ",\n1,2\n", "no header"),
    ],
)
def test_bad_files_give_one_clear_message_naming_the_file(tmp_path, name, content, message):
    path = write(tmp_path / name, content)
    with pytest.raises(DataError) as err:
        load_pairs(path)
    assert message in str(err.value) and name in str(err.value)


def test_size_limit(tmp_path):
    path = write(tmp_path / "big.jsonl", json.dumps({"question": "q", "sql": "SELECT 1"}) * 100)
    with pytest.raises(DataError, match=r"big.jsonl: the file is .* over the .* limit"):
        load_pairs(path, max_bytes=1000)


def test_the_default_size_limit_is_said_in_the_unit_it_is_counted_in(tmp_path):
    # sizes are MB of 10^6 bytes everywhere the studio says one: a limit of 200 * 2^20 bytes read "210 MB limit"
    path = tmp_path / "huge.jsonl"
    with open(path, "wb") as f:
        f.truncate(200_000_001)  # sparse: nothing is written
    with pytest.raises(DataError, match=r"huge.jsonl: the file is 200.0 MB, over the 200 MB limit"):
        load_pairs(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="cannot be opened"):
        load_pairs(tmp_path / "nope.csv")
