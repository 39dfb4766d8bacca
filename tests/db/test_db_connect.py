"""Connect and introspect: SQLite, DuckDB, CSV/Parquet files and a real PostgreSQL; keys declared and inferred,
a composite primary key, quoted names and reserved words, an empty table, a 200-table schema."""

import time

import pytest

from core.db import SourceError, connect, describe_source, introspect
from tests.db_samples import (
    LIBRARY,
    library_duckdb,
    library_rows,
    library_sqlite,
    postgres_schema,
    sqlite_file,
)


def keys(info, inferred=None):
    return {
        k.label.replace(" (inferred)", "")
        for k in info.foreign_keys
        if inferred is None or k.inferred == inferred
    }


def check_library(info):
    assert {t.name for t in info.tables} >= {
        "authors",
        "books",
        "loans",
        "members",
        "shelves",
        "order",
        "archive",
    }
    assert keys(info, inferred=False) >= {
        "books(author_id) -> authors(author_id)",
        "loans(member_id) -> members(member_id)",
        "loans(book_id) -> books(book_id)",
    }
    assert keys(info, inferred=True) == {"books(shelf_id) -> shelves(shelf_id)"}  # a name, not a REFERENCES
    assert info.table("loans").primary_key == ["member_id", "book_id"]  # composite
    assert info.table("archive").rows == 0 and info.table("books").rows == 40
    genre = info.table("books").column("genre")
    assert genre.kind == "text" and set(genre.examples) == {
        "Poetry",
        "History",
        "Science",
        "Fiction",
        "Travel",
    }
    assert info.table("books").column("pages").kind == "number"
    ddl = info.ddl()
    assert (
        '"order"' in ddl and '"group"' in ddl and '"unit price"' in ddl
    )  # quoted where the dialect needs it
    assert "CREATE TABLE books (book_id" in ddl


def test_sqlite_file_is_read_only_and_introspected(tmp_path):
    db = connect(str(library_sqlite(tmp_path)))
    assert db.dialect == "sqlite"
    check_library(introspect(db))
    result = db.execute('SELECT COUNT(*) FROM "order" WHERE "group" = \'a\'', "sqlite")
    assert result.ok and result.rows == [(2,)]
    assert not db.execute("DELETE FROM books", "sqlite").ok
    assert db.con.execute("SELECT COUNT(*) FROM books").fetchone() == (40,)
    with pytest.raises(
        Exception, match="readonly|read-only"
    ):  # even past our check, the file is opened read-only
        db.con.execute("DELETE FROM books")


def test_duckdb_file_is_read_only_and_introspected(tmp_path):
    db = connect(str(library_duckdb(tmp_path)))
    assert db.dialect == "duckdb" and "DuckDB file" in db.label
    check_library(introspect(db))


def test_csv_and_parquet_files_become_tables(tmp_path):
    import duckdb

    folder = tmp_path / "tables"
    folder.mkdir()
    (folder / "Customers.csv").write_text("customer_id,name,city\n1,Ana,Lyon\n2,Bo,Osaka\n3,Cy,Lyon\n")
    (folder / "2024 Price List.tsv").write_text("item\tprice\npen\t1.5\n")
    duckdb.sql(
        "SELECT * FROM (VALUES (1, 1, 9.5), (2, 3, 3.0)) t(order_id, customer_id, amount)"
    ).write_parquet(str(folder / "orders.parquet"))
    db = connect(str(folder))
    info = introspect(db)
    assert {t.name for t in info.tables} == {"customers", "orders", "t_2024_price_list"}
    assert info.table("customers").rows == 3 and info.table("orders").column("amount").kind == "number"
    assert info.table("t_2024_price_list").column("price").kind == "number"
    assert keys(info, inferred=True) == {"orders(customer_id) -> customers(customer_id)"}
    assert db.execute("SELECT COUNT(*) FROM read_csv_auto('/etc/passwd')", "duckdb").ok is False
    single = connect(str(folder / "orders.parquet"))
    assert [t.name for t in introspect(single).tables] == ["orders"]


def test_postgres_is_introspected_read_only_and_the_password_is_masked(postgres):
    url = postgres_schema(postgres, "library", LIBRARY + library_rows())
    db = connect(url)
    assert db.dialect == "postgres"
    check_library(introspect(db))
    assert "pw-not-logged" not in describe_source(url) and "***" in describe_source(url)
    assert not db.execute("SELECT 1 FROM books; DROP TABLE books", "postgres").ok
    with pytest.raises(SourceError) as bad:
        connect(postgres.replace("/shop", "/no_such_db"))  # the right password, a wrong database
    assert "no_such_db" in str(bad.value) and "pw-not-logged" not in str(bad.value)


def test_a_200_table_schema_is_introspected_quickly(tmp_path):
    script = "".join(
        f"CREATE TABLE t{i} (t{i}_id INTEGER PRIMARY KEY, name TEXT, t{i - 1}_id INTEGER);"
        f"INSERT INTO t{i} VALUES (1, 'x{i}', 1), (2, 'y{i}', 1);"
        for i in range(1, 201)
    )
    db = connect(str(sqlite_file(tmp_path / "wide.sqlite", script)))
    start = time.perf_counter()
    info = introspect(db)
    seconds = time.perf_counter() - start
    assert len(info.tables) == 200 and sum(t.rows for t in info.tables) == 400
    assert len([k for k in info.foreign_keys if k.inferred]) == 199  # t5.t4_id -> t4.t4_id, ...
    assert seconds < 10, f"200 tables took {seconds:.1f} s"
    assert info.ddl(tables={"t1", "t2"}).count("CREATE TABLE") == 2


def test_bad_sources_say_what_to_do(tmp_path):
    for source, words in ((str(tmp_path / "missing.db"), "no such file"), ("", "No database given")):
        with pytest.raises(SourceError, match=words):
            connect(source)
    junk = tmp_path / "notes.txt"
    junk.write_text("hello")
    with pytest.raises(SourceError, match="no CREATE TABLE"):
        connect(str(junk))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SourceError, match="no CSV or Parquet"):
        connect(str(empty))


def test_sample_database_and_a_sql_script(tmp_path):
    info = introspect(connect("sample"))
    assert {t.name for t in info.tables} == {"customers", "products", "regions", "sales"}
    assert info.table("sales").rows == 600 and len(info.foreign_keys) == 4
    script = tmp_path / "shop.sql"
    script.write_text("CREATE TABLE t (a INT, b TEXT);\nINSERT INTO t VALUES (1, 'x');")
    assert introspect(connect(str(script))).table("t").rows == 1


def test_a_script_duckdb_refuses_and_sqlite_accepts_loads_into_sqlite_read_only(tmp_path):
    # Spider's car_1 declares a foreign key from an INTEGER column to a TEXT one: SQLite allows it, DuckDB does not
    script = tmp_path / "cars.sql"
    script.write_text(
        "PRAGMA foreign_keys = ON;\n"
        "CREATE TABLE makers (id TEXT PRIMARY KEY, name TEXT);\n"
        "CREATE TABLE models (model_id INTEGER PRIMARY KEY, maker INTEGER, FOREIGN KEY (maker) REFERENCES makers (id));\n"
        "INSERT INTO makers VALUES ('1', 'amc');\nINSERT INTO models VALUES (1, 1), (2, 1);\n"
    )
    db = connect(str(script))
    assert db.dialect == "sqlite" and "embedded SQLite" in db.label
    info = introspect(db)
    assert info.table("models").rows == 2 and keys(info) == {"models(maker) -> makers(id)"}
    assert db.execute("SELECT COUNT(*) FROM models").rows == [(2,)]
    assert not db.execute("DELETE FROM models").ok  # read-only, whichever way the statement comes
    assert db.execute("SELECT COUNT(*) FROM models").rows == [(2,)]


def test_a_script_neither_engine_accepts_names_duckdbs_complaint(tmp_path):
    script = tmp_path / "broken.sql"
    script.write_text("CREATE TABLE t (a INT;\n")
    with pytest.raises(SourceError, match=r"broken\.sql: the SQL script could not be loaded"):
        connect(str(script))
