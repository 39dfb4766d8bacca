"""The Data tab's database box, through its handlers: connect (upload, several CSVs, a bad file), the schema panel,
the schema-length offer, generate / filter / remove / see a row's result, add to the training set (the user's pairs
win), the pre-flight in the report, and the run's config recording the database."""

import json

from app import data_tab, db_panel, generate_panel, train_form
from core.defaults import BUNDLED_MODEL
from core.train import load_tokenizer
from tests.app.test_app_handlers import TEMPLATE, Upload
from tests.db_samples import library_sqlite

SQLITE_SETTINGS = ("sqlite", BUNDLED_MODEL, 2048, TEMPLATE, True)


def connected(tmp_path):
    path = library_sqlite(tmp_path)
    conn, message, panel, keys, ddl, dialect = db_panel.on_connect(
        [Upload(path, "library.sqlite")], "", db_panel.Connection()
    )
    assert conn.connected and "msg-ok" in message and dialect == "sqlite"
    return conn, panel, keys, ddl


def test_connect_shows_the_schema_and_keeps_the_old_connection_on_a_bad_file(tmp_path):
    conn, panel, keys, ddl = connected(tmp_path)
    assert "books (40 rows" in panel and "author_id" in panel and "PK" in panel and "(inferred)" in panel
    assert keys.value == ["books(shelf_id) -> shelves(shelf_id) (inferred)"]
    assert "CREATE TABLE books" in ddl
    conn2, panel2 = db_panel.on_keys(conn, [])  # untick the inferred key
    assert "(inferred)" not in panel2 and conn2.unticked
    bad = tmp_path / "bad.db"
    bad.write_text("not a database")
    kept, message, *rest = db_panel.on_connect([Upload(bad, "bad.db")], "", conn)
    assert kept is conn and "msg-error" in message and "Still connected" in message


def test_several_csv_files_become_one_database(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("customer_id,name\n1,Ana\n2,Bo\n")
    b.write_text("order_id,customer_id,total\n1,1,9.5\n2,2,3\n")
    conn, message, panel, *_ = db_panel.on_connect(
        [Upload(a, "customers.csv"), Upload(b, "orders.csv")], "", db_panel.Connection()
    )
    assert (
        conn.connected
        and conn.dialect == "duckdb"
        and "customers (2 rows" in panel
        and "orders (2 rows" in panel
    )


def test_generate_filter_remove_pick_and_add(tmp_path):
    conn, *_ = connected(tmp_path)
    rows, message, table, choices, download = generate_panel.on_generate(conn, 60, 7, "sqlite")
    assert len(rows) == 60 and "msg-ok" in message and download.visible
    kind = rows[0]["template"]
    assert all(r[1] == kind for r in generate_panel.table_rows(rows, kind))
    kept, message, table, _, _ = generate_panel.on_remove(rows, "1, 3-4", "all templates")
    assert len(kept) == 57 and kept[0] == rows[1]
    assert "not a row number" in generate_panel.on_remove(rows, "two", "all templates")[1]
    picked = generate_panel.on_pick(
        conn, kept, 1
    )  # the result of a row, run on the database, under its column names
    assert picked.visible and len(picked.value["data"]) and "error" not in picked.value["headers"]
    assert generate_panel.on_pick(conn, kept, None).visible is False  # no empty grid headed "1 2 3"
    user = tmp_path / "mine.jsonl"
    user.write_text(
        json.dumps({"question": kept[0]["question"], "sql": "SELECT 1"})
        + "\n"
        + json.dumps({"question": "How many books?", "sql": "SELECT COUNT(*) FROM books"})
        + "\n"
    )
    ds, _ = data_tab.load_dataset(
        str(user), "mine.jsonl", "", "sqlite", BUNDLED_MODEL, 2048, TEMPLATE, None, conn.source
    )
    merged, message = generate_panel.on_add(ds, kept, conn)
    assert len(merged.pairs) == 2 + 56 and "already in your pairs" in message  # the user's question won
    assert merged.pairs[0].sql == "SELECT 1" and merged.pairs[-1].source == "generated"
    written = [json.loads(line) for line in open(merged.path, encoding="utf-8")]
    assert written[-1]["source"] == "generated" and written[-1]["template"]
    ds2, message, summary, findings, _ = data_tab.on_revalidate(
        conn.schema().ddl("sqlite"), *SQLITE_SETTINGS, merged, conn
    )
    assert "58 of 58 run on" in summary
    cfg = train_form.make_config(
        ds2,
        True,
        TEMPLATE,
        {f: None for f in train_form.FIELDS}
        | {
            "model": BUNDLED_MODEL,
            "target_modules": ["q_proj"],
            "load_in_4bit": "auto",
            "packing": "auto",
            "run_name": "",
            "answer_only_loss": True,
            "evaluate_after": False,
            "trust_remote_code": False,
        },
    )
    assert cfg.database == conn.source and cfg.dialect == "sqlite"


def test_a_long_schema_offers_only_the_tables_the_pairs_use(tmp_path):
    conn, *_ = connected(tmp_path)
    tokenizer = load_tokenizer(BUNDLED_MODEL)

    def count(text):
        return len(tokenizer(text)["input_ids"])

    user = tmp_path / "mine.jsonl"
    user.write_text(json.dumps({"question": "How many books?", "sql": "SELECT COUNT(*) FROM books"}) + "\n")
    ds, _ = data_tab.load_dataset(str(user), "mine.jsonl", "", "sqlite", BUNDLED_MODEL, 2048, TEMPLATE, None)
    text, message = db_panel.schema_fit(conn, ds, False, count, 128)
    assert "of the max sequence length (128)" in message and "Only the 1 tables" in message
    text, message = db_panel.schema_fit(conn, ds, True, count, 128)
    assert text.count("CREATE TABLE") == 1 and "CREATE TABLE books" in text
    assert db_panel.schema_fit(conn, ds, False, count, 100_000)[1] == ""  # short enough: nothing to say


def test_a_path_is_typed_in_plain_sight_and_a_urls_password_moves_to_the_masked_box(postgres):
    """The URL/path box shows what is typed (a path in dots helps nobody); a PostgreSQL password typed into the URL
    moves to the masked password box before connecting, and the two together connect."""
    from core.db import split_password, with_password
    from tests.db_samples import LIBRARY, library_rows, postgres_schema

    url = postgres_schema(postgres, "library", LIBRARY + library_rows())
    assert ":pw-not-logged@" in url
    shown, password = db_panel.on_password(url, "")
    assert "pw-not-logged" not in shown and password == "pw-not-logged"
    conn, message, panel, *_ = db_panel.on_connect([], shown, db_panel.Connection(), password)
    assert conn.connected and "books (40 rows" in panel and "pw-not-logged" not in message
    assert db_panel.on_password("/data/shop.sqlite", "") == ("/data/shop.sqlite", "")
    # a password with URL characters in it survives the round trip
    assert split_password(with_password("postgresql://bob@localhost/shop", "p@ss:w/rd")) == (
        "postgresql://bob@localhost/shop",
        "p@ss:w/rd",
    )
    import gradio as gr

    with gr.Blocks():
        boxes = db_panel.build_connect_box()
    assert boxes["db_url"].type == "text" and boxes["db_password"].type == "password"
