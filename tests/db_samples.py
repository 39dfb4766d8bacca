"""Small databases for the connect/introspect/pre-flight/generation tests, built on the spot (SQLite, DuckDB,
CSV/Parquet, PostgreSQL) from one script, so every engine holds the same tables and rows."""

import sqlite3
from pathlib import Path

from core.paths import SAMPLE_DATA, SAMPLE_SCHEMA

# A lending library: declared keys, an inferred one (books.shelf_id has no REFERENCES), a link table with a
# composite primary key (loans), quoted names with spaces and reserved words ("order", "group"), dates, categories,
# numbers, authors without books (for NOT IN / NOT EXISTS) and an empty table.
LIBRARY = """
CREATE TABLE authors (author_id INTEGER PRIMARY KEY, name TEXT NOT NULL, country TEXT, born INTEGER);
CREATE TABLE shelves (shelf_id INTEGER PRIMARY KEY, room TEXT NOT NULL);
CREATE TABLE books (book_id INTEGER PRIMARY KEY, title TEXT NOT NULL, genre TEXT, pages INTEGER, price NUMERIC(8, 2),
                    author_id INTEGER REFERENCES authors (author_id), shelf_id INTEGER, published DATE);
CREATE TABLE members (member_id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT, joined DATE);
CREATE TABLE loans (member_id INTEGER REFERENCES members (member_id), book_id INTEGER REFERENCES books (book_id),
                    loaned DATE, days INTEGER, PRIMARY KEY (member_id, book_id));
CREATE TABLE "order" ("group" TEXT, "unit price" NUMERIC(8, 2));
CREATE TABLE archive (note TEXT);
"""


def library_rows() -> str:
    countries = ["France", "Japan", "Chile", "Kenya"]
    genres = ["Poetry", "History", "Science", "Fiction", "Travel"]
    cities = ["Lyon", "Osaka", "Quito", "Turin"]
    lines = []
    for i in range(1, 13):
        lines.append(
            f"INSERT INTO authors VALUES ({i}, 'Author {chr(64 + i)}', '{countries[i % 4]}', {1900 + 7 * i});"
        )
    for i in range(1, 5):
        lines.append(f"INSERT INTO shelves VALUES ({i}, 'Room {i}');")
    for i in range(1, 41):
        lines.append(
            f"INSERT INTO books VALUES ({i}, 'Book {i} of {genres[i % 5]}', '{genres[i % 5]}', {80 + 13 * i}, "
            f"{5 + (i * 7) % 40}.50, {1 + i % 9}, {1 + i % 4}, '20{10 + i % 14:02d}-0{1 + i % 9}-1{i % 9}');"
        )
    for i in range(1, 21):
        lines.append(
            f"INSERT INTO members VALUES ({i}, 'Member {i}', '{cities[i % 4]}', '2023-0{1 + i % 9}-2{i % 8}');"
        )
    pairs = sorted({(1 + (i * 3) % 20, 1 + (i * 7) % 40) for i in range(60)})
    for member, book in pairs:
        lines.append(
            f"INSERT INTO loans VALUES ({member}, {book}, '2024-0{1 + (member + book) % 9}-1{book % 9}', "
            f"{1 + (member * book) % 30});"
        )
    lines.append("INSERT INTO \"order\" VALUES ('a', 1.50), ('b', 2.25), ('a', 3.00);")
    return "\n".join(lines)


def sqlite_file(path: Path, script: str) -> Path:
    con = sqlite3.connect(path)
    con.executescript(script)
    con.commit()
    con.close()
    return path


def library_sqlite(folder: Path) -> Path:
    return sqlite_file(folder / "library.sqlite", LIBRARY + library_rows())


def library_duckdb(folder: Path) -> Path:
    import duckdb

    path = folder / "library.duckdb"
    con = duckdb.connect(str(path))
    for statement in (LIBRARY + library_rows()).split(";\n"):
        if statement.strip():
            con.execute(statement)
    con.close()
    return path


def sample_sqlite(folder: Path) -> Path:
    return sqlite_file(folder / "sample.sqlite", SAMPLE_SCHEMA.read_text() + SAMPLE_DATA.read_text())


def postgres_schema(url: str, name: str, script: str) -> str:
    """Load a script into its own PostgreSQL schema; the URL whose search_path points there."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        con.execute(f"CREATE SCHEMA {name}")
        con.execute(f"SET search_path TO {name}")
        con.execute(script)
    return f"{url}?options=-csearch_path%3D{name}"
