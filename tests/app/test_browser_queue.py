"""The queue in a real browser: two configurations and a third that fails, Run all; the failed one shows its reason,
the leaderboard marks the best run, and its adapter downloads as a zip."""

import pytest

from tests.app.test_browser import (  # noqa: F401 - `page` is a fixture
    fast_settings,
    load_sample_by_upload,
    page,
    shot,
    studio_with_own_data,
)
from tests.train.test_queue import SMALL, scored

pytestmark = [pytest.mark.browser, pytest.mark.slow]
UNSETTLED = ("queued", "starting", "running", "stopping", "evaluating")
ROWS = "#queue-table .virtual-row"  # Gradio 6 draws a Dataframe's rows as div[role=row]


def cell(page, table: str, row: int, col: int) -> str:  # noqa: F811 - `page` is the fixture's object here
    return page.locator(f"#{table} [data-testid=cell-{row}-{col}]").inner_text().strip()


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
    page.wait_for_function(f"() => document.querySelectorAll('{ROWS}').length === 3", timeout=10_000)
    assert cell(page, "queue-table", 1, 3) == "Learning rate 0.002"  # what differs, by the form's label

    page.locator("#queue-run").click()
    page.wait_for_function(
        f"""() => {{
            const cells = [0, 1, 2].map(r => document.querySelector(`#queue-table [data-testid=cell-${{r}}-2]`));
            return cells.every(c => c && !{list(UNSETTLED)}.includes(c.innerText.trim()));
        }}""",
        timeout=900_000,
    )
    statuses = [cell(page, "queue-table", r, 2) for r in range(3)]
    shot(page, "queue-done")
    assert statuses == ["completed", "completed", "failed"], statuses
    assert "/no/such/model-folder" in cell(page, "queue-table", 2, 4)  # the reason names what is wrong

    page.wait_for_function(
        "() => document.querySelectorAll('#leaderboard .virtual-row').length >= 2", timeout=60_000
    )
    assert cell(page, "leaderboard", 0, 0) == "best (on the held-out rows)"  # it says what it was chosen on
    page.locator("#best-export").click()
    link = page.locator("a[href*='adapter.zip']").first
    link.wait_for(timeout=120_000)
    shot(page, "queue-best-exported")
