"""Load question/SQL pairs from JSON, JSONL or CSV files into `Pair`s.

File-level problems (unreadable, not UTF-8, not JSON, empty, too big, too many rows, no recognisable or
duplicate columns) raise `DataError` with one message naming the file (and the line, where there is one). Row-level problems never raise: a row with a missing or
odd field is still loaded (with its 1-based row number) so that the validation report can name it.
"""

import csv
import functools
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_MAX_BYTES = 200_000_000  # sizes of files and disks are said in MB (10^6 bytes), memory in GiB
# Validation parses every SQL and counts tokens; past this many rows the report would take many minutes.
DEFAULT_MAX_ROWS = 200_000

# Accepted column names, most specific first. Keys are compared case-insensitively.
QUESTION_FIELDS = ("question", "prompt", "instruction", "nl", "input")
SQL_FIELDS = ("sql", "query", "answer", "output", "completion")
SCHEMA_FIELDS = ("schema", "context", "sql_context", "ddl")


class DataError(ValueError):
    """A file that cannot be read as pairs. The message is meant for the user, as is."""


@dataclass
class Pair:
    question: str
    sql: str
    row: int  # 1-based position in the file (line for JSONL, record for JSON/CSV)
    schema: str = ""  # per-row schema/context, when the file has one
    problems: list[str] = field(default_factory=list)  # field-type problems found while loading
    source: str = (
        ""  # "generated" for pairs made from the database (core.pairgen); "" or "user" for the user's
    )
    template: str = ""  # the generator's template id, for generated pairs
    phrasing: str = ""  # which of the template's wordings the question is (a generated pair's wording family)

    @property
    def family(self) -> str:
        """A generated question's template and wording: the held-out split keeps each family on one side."""
        return f"{self.template}:{self.phrasing}"

    @property
    def generated(self) -> bool:
        return self.source == "generated"


def _as_text(value, name: str, problems: list[str]) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    problems.append(f"{name} is a {type(value).__name__}, expected text")
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def _pick(lowered: dict, names: tuple[str, ...], taken: set[str]) -> str | None:
    for name in names:
        if name in lowered and lowered[name] not in taken:
            return lowered[name]
    return None


@functools.lru_cache(maxsize=64)
def _field_keys(keys: tuple) -> tuple:
    """A record's keys for question, SQL, schema, source, template and phrasing (None where absent). Every row of a file
    usually has the same keys, so this runs once per file, not once per row."""
    lowered = {str(k).strip().lower(): k for k in keys}
    taken: set[str] = set()
    q_key = _pick(lowered, QUESTION_FIELDS, taken)
    taken.add(q_key)
    s_key = _pick(lowered, SQL_FIELDS, taken)
    taken.add(s_key)
    c_key = _pick(lowered, SCHEMA_FIELDS, taken) or _pick(lowered, ("input",), taken)
    return q_key, s_key, c_key, lowered.get("source"), lowered.get("template"), lowered.get("phrasing")


def _from_messages(messages, row: int) -> Pair:
    problems: list[str] = []
    by_role: dict[str, str] = {}
    if not isinstance(messages, list):
        return Pair("", "", row, problems=["messages is not a list of {role, content} objects"])
    for message in messages:
        if isinstance(message, dict) and message.get("role") in ("system", "user", "assistant"):
            by_role.setdefault(message["role"], _as_text(message.get("content"), message["role"], problems))
    return Pair(
        by_role.get("user", ""), by_role.get("assistant", ""), row, by_role.get("system", ""), problems
    )


def pair_from_record(record, row: int) -> Pair | None:
    """One record (a dict) as a Pair; None when it has none of the known fields."""
    if not isinstance(record, dict):
        return Pair("", "", row, problems=[f"row is a {type(record).__name__}, expected an object"])
    if "messages" in record:
        return _from_messages(record["messages"], row)
    q_key, s_key, c_key, source_key, template_key, phrasing_key = _field_keys(tuple(record))
    if q_key is None and s_key is None:
        return None
    problems: list[str] = []
    question = _as_text(record.get(q_key), "question", problems) if q_key else ""
    sql = _as_text(record.get(s_key), "sql", problems) if s_key else ""
    schema = _as_text(record.get(c_key), "schema", problems) if c_key else ""
    source, template, phrasing = (
        str(record.get(k) or "").strip() if k is not None else ""
        for k in (source_key, template_key, phrasing_key)
    )
    return Pair(question, sql, row, schema, problems, source, template, phrasing)


def _records(text: str, suffix: str, name: str):
    """Yield (row, record) from the file's text, choosing the format by extension, then by content."""
    stripped = text.lstrip()
    if suffix == ".csv" or (suffix not in (".json", ".jsonl") and not stripped.startswith(("[", "{"))):
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or all(not (f or "").strip() for f in reader.fieldnames):
            raise DataError(
                f"{name}: the CSV file has no header row. Add a first line such as 'question,sql'."
            )
        _check_header(reader.fieldnames, name)
        for i, record in enumerate(reader, start=1):
            record.pop(None, None)  # extra cells beyond the header
            yield i, record
        return
    if stripped.startswith("["):
        data = _json(text, name)
        yield from enumerate(data, start=1)
        return
    # Lines end at \n only: str.splitlines() would also cut at U+2028 and other characters JSON strings may hold.
    for i, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            yield i, json.loads(line)
        except ValueError as e:  # JSONDecodeError, or a number too long to convert
            if i == 1 and stripped.startswith("{"):  # maybe one pretty-printed JSON object
                try:
                    data = json.loads(text)
                except ValueError:
                    pass
                else:
                    rows = (
                        next((v for v in data.values() if isinstance(v, list)), None)
                        if isinstance(data, dict)
                        else None
                    )
                    if rows is None:
                        raise DataError(f"{name}: a JSON object with no list of pairs inside.") from None
                    yield from enumerate(rows, start=1)
                    return
            reason = e.msg if isinstance(e, json.JSONDecodeError) else _number_reason(e)
            raise DataError(
                f"{name}: line {i} is not valid JSON ({reason}). Each line of a JSONL file must be "
                "one JSON object."
            ) from None


def _json(text: str, name: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"{name}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg}).") from None
    except ValueError as e:
        raise DataError(f"{name}: not valid JSON ({_number_reason(e)}).") from None


def _number_reason(e: ValueError) -> str:
    return f"a number is too long to read: {str(e).split(';')[0]}; write long numbers as text in quotes"


def _check_header(fieldnames: list[str], name: str) -> None:
    """Two columns that both look like the question (or the SQL) make the row ambiguous: refuse, naming them."""
    seen: dict[str, int] = {}
    for position, column in enumerate(fieldnames, start=1):
        key = (column or "").strip().lower()
        if key in seen and key in (*QUESTION_FIELDS, *SQL_FIELDS, *SCHEMA_FIELDS, "messages"):
            raise DataError(
                f"{name}: the header has the column '{column.strip()}' twice (columns {seen[key]} and "
                f"{position}). Rename or remove one of them."
            )
        seen.setdefault(key, position)
    known = {*QUESTION_FIELDS, *SQL_FIELDS, "messages"}
    if len(fieldnames) == 1 and not known & seen.keys():
        for separator, label in (("\t", "tabs"), (";", "semicolons"), ("|", "'|'")):
            if separator in (fieldnames[0] or ""):
                raise DataError(
                    f"{name}: the columns are separated by {label}, not commas. Save the file as "
                    "comma-separated CSV (or as JSONL)."
                )


def load_pairs(
    path, max_bytes: int = DEFAULT_MAX_BYTES, name: str | None = None, max_rows: int = DEFAULT_MAX_ROWS
) -> list[Pair]:
    """Read a JSON array, JSONL or CSV file of question/SQL pairs. Raises DataError for file-level problems."""
    path = Path(path)
    name = name or path.name
    try:
        size = os.path.getsize(path)
    except OSError:
        raise DataError(f"{name}: the file cannot be opened.") from None
    if size > max_bytes:
        raise DataError(
            f"{name}: the file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit. "
            "Split it or raise the limit."
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise DataError(
            f"{name}: not UTF-8 text (line {line}, byte {e.start}). Save it as UTF-8 and upload it again."
        ) from None
    if not text.strip():
        raise DataError(f"{name}: the file is empty.")
    if "\x00" in text:
        raise DataError(f"{name}: looks like a binary file, not JSON, JSONL or CSV text.")
    pairs: list[Pair] = []
    unknown: list[int] = []
    # One cell may be as long as the file (the default limit of 128 KiB would refuse a long schema column).
    csv.field_size_limit(max(csv.field_size_limit(), max_bytes))
    try:
        for count, (row, record) in enumerate(_records(text, path.suffix.lower(), name), start=1):
            if count > max_rows:
                raise DataError(
                    f"{name}: more than {max_rows:,} rows, over the limit of {max_rows:,}. Split the file "
                    "or keep the best pairs (a few thousand good pairs usually train well)."
                )
            pair = pair_from_record(record, row)
            if pair is None:
                unknown.append(row)
            else:
                pairs.append(pair)
    except csv.Error as e:
        raise DataError(f"{name}: not a valid CSV file ({e}).") from None
    except RecursionError:
        raise DataError(f"{name}: the JSON is nested too deeply to read.") from None
    if not pairs:
        if unknown:
            raise DataError(
                f"{name}: no recognisable columns. Name them 'question' and 'sql' "
                f"(also accepted: {', '.join(QUESTION_FIELDS[1:])} / {', '.join(SQL_FIELDS[1:])}, "
                "or chat 'messages')."
            )
        raise DataError(f"{name}: the file holds no pairs.")
    # Rows with none of the fields, next to rows that have them: keep them so the report names them.
    pairs.extend(
        Pair("", "", row, problems=["row has neither a question nor a SQL field"]) for row in unknown
    )
    pairs.sort(key=lambda p: p.row)
    return pairs
