"""The generator's output, byte for byte: 500 pairs for seed 7 on the sample database (DuckDB) and on two Spider dev
databases (SQLite), as SHA-256 digests of the JSONL file `write_jsonl` writes.

A move or a split of the generator's modules must not change one byte of what it makes. A change made on purpose
(a new template, another wording) changes these digests: then check the new pairs and put their digests here.
"""

import hashlib
import sqlite3

import pytest

from core.db import connect
from core.pairgen import generate_pairs, write_jsonl
from tests.conftest import SPIDER

DIGESTS = {
    "sample": "b818e7b5c745e616db3ae8b5cc80006273385f86c6c5201829f131b2a828d9df",
    "concert_singer": "4d14c1f5656fcec0131ffd5f41a4129c1b101479d5b5f2b2e1f8b0aa2354a01e",
    "car_1": "957058acc2b6936b12e736db7a21403a30c9ecb1aa9c2915f07ee722b2feb4cd",
}


@pytest.mark.parametrize("name", list(DIGESTS))
def test_the_same_seed_gives_the_same_bytes(name, tmp_path):
    if name == "sample":
        db = connect("sample")
    else:
        if not (SPIDER / name / "schema.sql").is_file():
            pytest.skip(f"spider_mini is not at {SPIDER}")
        path = tmp_path / f"{name}.sqlite"
        con = sqlite3.connect(path)
        con.executescript((SPIDER / name / "schema.sql").read_text())
        con.close()
        db = connect(str(path))
    text = write_jsonl(generate_pairs(db, n=500, seed=7), tmp_path / "pairs.jsonl").read_bytes()
    assert hashlib.sha256(text).hexdigest() == DIGESTS[name], (
        f"the pairs generated on {name} changed: a move must not change them"
    )
