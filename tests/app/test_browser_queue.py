"""The queue in a real browser: two configurations and a third that fails, Run all; the failed one shows its reason,
the leaderboard marks the best run, and its adapter downloads as a zip."""

import pytest

from tests.app.test_browser import (  # noqa: F401 - `page` is a fixture
    fast_settings,
    load_sample_by_upload,
    open_tab,
    page,
    shot,
    studio_with_own_data,
)
from tests.train.test_queue import SMALL, scored

pytestmark = [pytest.mark.browser, pytest.mark.slow]
UNSETTLED = ("queued", "starting", "running", "stopping", "evaluating")


@pytest.fixture(scope="module")
def app_url(mlflow_server, tmp_path_factory):
    yield from studio_with_own_data(mlflow_server, tmp_path_factory.mktemp("app-queue"))


def add(page, label: str, value: str) -> None:  # noqa: F811 - `page` is the fixture's object here
    if label:
        field = page.get_by_label(label, exact=True)
        field.fill(value)
        field.press("Tab")
    page.locator("#queue-add").click()
    page.wait_for_function(
        "() => (document.querySelector('#queue-message')?.innerText || '').includes('Added')"
    )


def test_queue_two_configurations_and_a_failing_one_then_export_the_best(page):  # noqa: F811
    scored()  # writes the 8-pair file: 4 rows train, 4 are held out and scored after each run
    load_sample_by_upload(page, SMALL)
    fast_settings(page, steps=3, eval_split=0.5)
    page.locator("#queue-box").get_by_text("Queue and sweep").click()
    add(page, "", "")
    add(page, "Learning rate", "0.002")
    add(page, "Base model", "/no/such/model-folder")
    rows = page.locator("#queue-table tbody tr")
    assert rows.count() == 3
    assert "learning_rate=0.002" in rows.nth(1).inner_text()  # what differs from the first item

    page.locator("#queue-run").click()
    page.wait_for_function(
        f"""() => {{
            const rows = [...document.querySelectorAll('#queue-table tbody tr')];
            return rows.length === 3 && rows.every(r => !{list(UNSETTLED)}.some(s => r.children[2]?.innerText.trim() === s));
        }}""",
        timeout=900_000,
    )
    statuses = [rows.nth(i).locator("td").nth(2).inner_text().strip() for i in range(3)]
    shot(page, "queue-done")
    assert statuses == ["completed", "completed", "failed"], statuses
    assert "no-such" in rows.nth(2).inner_text() or "model" in rows.nth(2).inner_text().lower()

    board = page.locator("#leaderboard tbody tr")
    page.wait_for_function(
        "() => document.querySelectorAll('#leaderboard tbody tr').length >= 2", timeout=60_000
    )
    assert board.first.locator("td").first.inner_text().strip() == "best"
    page.locator("#best-export").click()
    link = page.locator("a[href*='adapter.zip']").first
    link.wait_for(timeout=120_000)
    shot(page, "queue-best-exported")
    open_tab(page, "4. Runs")
