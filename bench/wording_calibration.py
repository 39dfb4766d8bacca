"""Benchmark: do people name tables and columns the way the pair generator's questions do? Spider's train split.

    .venv/bin/python bench/wording_calibration.py --spider SPIDER_TRAIN

SPIDER_TRAIN as in bench/generator_coverage.py (train split only: spider_mini is for measuring). Counts, over the
human questions whose SQL uses such a name:
- a column named with its table's noun in front (`pets.pet_age`): how often the question says only the short words
  ("age", as core.pairgen.phrasing.table_column_words names it) rather than the whole name ("pet age");
- a table named as a list of things (`cars_data`): the whole name ("cars data") or the things ("cars");
- a sort by an age column: "oldest"/"youngest"/"older"/"younger"; an equality on a place column: "from";
- a person matched by name: by the first or last name alone, or by both (core.pairgen.templates.filters.FULL_NAME);
- the first word of every question (core.pairgen.draft.OPENINGS).
Prints the counts as JSON.
"""

import argparse
import json
import re
import sqlite3
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from core.data.english import words_of  # noqa: E402
from core.pairgen.phrasing import CONTAINER_WORDS, PLACE_WORDS, schema_nouns, table_column_words  # noqa: E402

AGE_SORT = re.compile(r"ORDER BY\s+(?:\w+\.)?(?:\w+_)?age\b", re.I)  # age, pet_age; not average
FIRST_NAME_EQ = re.compile(r"\b\w*(f|first_?)name\s*=\s*['\"]", re.I)
LAST_NAME_EQ = re.compile(r"\b\w*(l|last_?)name\s*=\s*['\"]", re.I)
PLACE_EQ = re.compile(rf"WHERE\s+(?:\w+\.)?({'|'.join(sorted(PLACE_WORDS))})\s*=", re.I)


def _uses(name: str, sql: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\b", sql, re.I) is not None


def count(folder: Path) -> Counter:
    by_db: dict[str, list[dict]] = {}
    for pair in json.loads((folder / "train_spider.json").read_text()):
        by_db.setdefault(pair["db_id"], []).append(pair)
    found = Counter()
    for db_id, pairs in sorted(by_db.items()):
        path = folder / "database" / db_id / f"{db_id}.sqlite"
        try:
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            columns = {t: [r[1] for r in con.execute(f"PRAGMA table_info('{t}')")] for t in tables}
        except sqlite3.Error:
            continue
        nouns = schema_nouns(tables)
        for table in tables:
            whole = words_of(table)
            if len(whole) > 1 and whole[-1] in CONTAINER_WORDS:
                found["list-named tables"] += 1
                for pair in (p for p in pairs if _uses(table, p["query"])):
                    question = pair["question"].lower()
                    found["their questions"] += 1
                    found["... saying the whole name"] += " ".join(whole) in question
                    found["... saying the things"] += (
                        nouns[table][0] in question and " ".join(whole) not in question
                    )
            for column, short in zip(
                columns[table], table_column_words(nouns[table], columns[table]), strict=True
            ):
                full = " ".join(words_of(column))
                if short == full:
                    continue
                found["columns named with their table's noun"] += 1
                for pair in (p for p in pairs if _uses(column, p["query"])):
                    question = pair["question"].lower()
                    if short in question or full in question:
                        found["questions naming one"] += 1
                        found["... with the whole name"] += full in question
    for pair in (p for ps in by_db.values() for p in ps):
        question = pair["question"].lower()
        found["questions beginning '" + re.findall(r"[a-z']+", question)[0] + "'"] += 1
        first, last = FIRST_NAME_EQ.search(pair["query"]), LAST_NAME_EQ.search(pair["query"])
        if first or last:
            found["equalities on a first or last name"] += 1
            found["... on both"] += bool(first and last)
        if AGE_SORT.search(pair["query"]):
            found["sorts by an age column"] += 1
            found["... saying oldest/youngest/older/younger"] += bool(
                re.search(r"oldest|youngest|older|younger", question)
            )
        if PLACE_EQ.search(pair["query"]):
            found["equalities on a place column"] += 1
            found["... saying 'from'"] += " from " in question
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spider", required=True, help="a folder with train_spider.json and database/")
    print(json.dumps(count(Path(parser.parse_args().spider)), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
