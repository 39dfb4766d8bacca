"""In a real browser: connect the sample database, see its schema, generate 200 pairs from it, add them to the
training set (each checked on the database), and train 5 steps on them. Screenshots go to artifacts/e2e/; the
README's picture of the Data tab (docs/screenshots/data-generated.png) is taken here."""

import time

import pytest

from tests.app.test_browser import (  # noqa: F401 - `page` is a fixture
    fast_settings,
    open_tab,
    page,
    readme_shot,
    set_number,
    shot,
    sql_header_inside,
    studio_with_own_data,
    wait_for_run,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def app_url(mlflow_server, tmp_path_factory):
    """`python -m app` for this module (the page-load time is test_browser.py's to check)."""
    yield from studio_with_own_data(mlflow_server, tmp_path_factory.mktemp("app-db"))


def text_of(page, selector: str) -> str:  # noqa: F811 - `page` is the fixture's object here
    return page.locator(selector).inner_text()


def test_connect_generate_add_and_train_on_generated_pairs(page, mlflow_server):  # noqa: F811
    started = time.time()
    page.locator("#db-sample").click()
    page.wait_for_function(
        "() => (document.querySelector('#schema-panel')?.innerText || '').includes('sales (600 rows')",
        timeout=120_000,
    )
    assert "4 tables" in text_of(page, "#db-message") and "duckdb" in text_of(page, "#db-message")
    shot(page, "9-database-connected")

    page.get_by_text("Generate pairs from my database").first.click()
    assert page.locator("#gen-n input").input_value() == "500"  # this machine's default (a CPU: 500)
    set_number(page, "gen-n", 200)
    page.locator("#gen-btn").click()
    page.wait_for_function(
        "() => (document.querySelector('#gen-message')?.innerText || '').includes('200 pairs (')",
        timeout=120_000,
    )
    shown = text_of(page, "#gen-table")
    assert any(
        kind in shown for kind in ("list", "count", "order", "superlative")
    )  # each row names its template
    readme_shot(page, "data-generated", "#gen-table")
    assert sql_header_inside(page, "gen-table", "sql") and sql_header_inside(page, "gen-table", "rows")
    page.locator("#gen-add").click()
    page.wait_for_function(
        "() => (document.querySelector('#preflight')?.innerText || '').includes(' of 200 run on')",
        timeout=300_000,
    )  # the first check waits for the tokenizer
    assert text_of(page, "#preflight").startswith("200 of 200 run on"), text_of(page, "#preflight")
    assert "200 of 200 rows will train" in text_of(page, "#train-count")
    shot(page, "10-generated-added")
    # one prompt everywhere: Preview renders the prompt the run will use, which names the connected database
    open_tab(page, "2. Preview")
    page.wait_for_function(
        "() => (document.querySelector('#preview')?.innerText || '').includes('<|im_start|>')"
    )
    preview = text_of(page, "#preview")
    assert "company_sales" in preview and "dataset-" not in preview, preview[:400]
    assert "dataset-" not in text_of(page, "#data-message") + text_of(page, "#train-count")
    open_tab(page, "1. Data")

    fast_settings(page, 5)
    page.get_by_label(
        "Evaluate when training ends"
    ).uncheck()  # test_browser.py covers that; this is about the data
    # this studio's own data folder has no run yet: the estimate says it is rough, until the run ends
    page.wait_for_function("() => (document.querySelector('#plan')?.innerText || '').includes('rough')")
    page.locator("#start").click()
    status = wait_for_run(
        page, "document.querySelector('#train-status')?.innerText.includes('Completed')", 600_000
    )
    shot(page, "11-trained-on-generated")
    assert "Completed" in status, status
    page.wait_for_function(
        "() => (document.querySelector('#plan')?.innerText || '').includes('from 1 earlier run of this model here')",
        timeout=30_000,
    )  # the plan line learned from the run that just ended, without a reload

    from mlflow.tracking import MlflowClient

    runs = MlflowClient(mlflow_server).search_runs(
        [e.experiment_id for e in MlflowClient(mlflow_server).search_experiments()],
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    assert runs and runs[0].data.params["cfg.database"] == "sample"  # the run remembers its database
    held, trained = int(runs[0].data.tags["eval_rows"]), int(runs[0].data.tags["train_rows"])
    assert (
        held >= 20 and trained + held <= 200
    )  # whole wording families held out; their twins never trained on
    print(f"\nconnect, generate 200, add, train 5 steps: {time.time() - started:.0f} s")
