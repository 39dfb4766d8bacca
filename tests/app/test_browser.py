"""End to end in a real browser: Debian's Chromium driven by Playwright against `python -m app`.

Screenshots of each step go to artifacts/e2e/; the README's pictures (docs/screenshots/: train-running, preview,
train-completed, runs, evaluate-result here, data-generated in test_browser_database.py) are taken on the way.
Needs /usr/bin/chromium (installed by .ci/run)."""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "artifacts" / "e2e"
README_SHOTS = ROOT / "docs" / "screenshots"  # the README's pictures, rewritten by every run of these tests
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def start_studio(env: dict, log_path: Path, wait_s: float) -> tuple[subprocess.Popen, str, float]:
    """`python -m app` on a free port, its output in `log_path`; (process, url, seconds until the first page)."""
    port = free_port()
    log = open(log_path, "w")  # noqa: SIM115 - the process writes to it until the module ends
    started = time.time()
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    while time.time() - started < wait_s:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.1)
    return process, url, time.time() - started


def studio_with_own_data(mlflow_server: str, folder: Path):
    """`python -m app` with a data folder of its own: a run or a queue another module's studio left behind must not
    re-attach to this page (the bundled model's converted copy is shared: converting it again costs ~20 s). The data
    folder is outside both the working directory and the temp folder (TMPDIR moved beside it), as STUDIO_DATA_DIR
    may be: the downloads made there (generated pairs, exports) must still be served."""
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian chromium is not installed (.ci/run installs it: apt-get install chromium)")
    (folder / "data").mkdir()
    (folder / "temp").mkdir()
    shared_models = Path(os.environ["STUDIO_DATA_DIR"]) / "models"
    shared_models.mkdir(parents=True, exist_ok=True)
    (folder / "data" / "models").symlink_to(shared_models, target_is_directory=True)
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": mlflow_server,
        "STUDIO_DATA_DIR": str(folder / "data"),
        "TMPDIR": str(folder / "temp"),
    }
    process, url, _ = start_studio(env, folder / "app.log", wait_s=120)
    yield url
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def app_url(mlflow_server, tmp_path_factory):
    """`python -m app` as a subprocess; records how long the first page took after start."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is not installed (.ci/run installs it: apt-get install chromium)")
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server}
    process, url, first_page = start_studio(env, tmp_path_factory.mktemp("app") / "app.log", wait_s=60)
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "startup.txt").write_text(f"first page after {first_page:.2f} s\n")
    print(f"\nfirst page answered {first_page:.2f} s after `python -m app` started")
    assert first_page < 15, f"the first page took {first_page:.1f} s"
    yield url
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture()
def page(app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        pg = browser.new_page(viewport={"width": 1400, "height": 1100})
        pg.set_default_timeout(60_000)
        pg.goto(app_url)
        yield pg
        browser.close()


def shot(page, name: str):
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def readme_shot(page, name: str, element: str = ""):
    """One of the README's pictures, docs/screenshots/NAME.png: the window as a person sees it (not the whole page),
    `element` scrolled into view first."""
    if element:
        page.locator(element).first.scroll_into_view_if_needed()
    page.screenshot(path=str(README_SHOTS / f"{name}.png"))


def open_tab(page, label: str):
    page.get_by_role("tab", name=label).click()


def set_number(page, elem_id: str, value: int):
    box = page.locator(f"#{elem_id} input").first
    box.fill(str(value))
    box.press("Tab")


def load_sample_by_upload(page, pairs: Path = ROOT / "assets" / "sample_pairs.jsonl"):
    page.locator("#data-file input[type=file]").set_input_files(str(pairs))
    page.wait_for_selector("#train-count", timeout=300_000)  # the first load waits for Unsloth's warm-up
    with page.expect_file_chooser() as chooser:
        page.locator("#schema-upload").click()
    chooser.value.set_files(str(ROOT / "assets" / "sample_schema.sql"))
    page.wait_for_function(
        "() => (document.querySelector('#schema')?.innerText || '').includes('CREATE TABLE sales')",
        timeout=60_000,
    )
    page.wait_for_function(
        "() => (document.querySelector('#data-message')?.innerText || '').includes('Checked')", timeout=60_000
    )


def fast_settings(page, steps: int, eval_split: float = 0.05):
    open_tab(page, "3. Train")
    set_number(page, "steps", steps)
    page.get_by_text("Advanced", exact=True).click()
    for label, value in (
        ("Batch size", 1),
        ("Gradient accumulation", 1),
        ("Max sequence length", 512),
        ("Eval split", eval_split),
    ):
        field = page.get_by_label(label, exact=True)
        field.fill(str(value))
        field.press("Tab")


def wait_for_run(page, until_js: str, timeout_ms: int) -> str:
    """Wait until `until_js` (a JS expression) is true, or the run ended otherwise (failed, died, stopped) or Start
    was refused: then return at once rather than wait out the timeout. Returns the Train tab's status line."""
    page.wait_for_function(
        f"() => ({until_js}) || /Failed|Died|Stopped/.test(document.querySelector('#train-status')"
        "?.innerText || '') || !!document.querySelector('#train-problems .msg-error')",
        timeout=timeout_ms,
    )
    problems = page.locator("#train-problems").inner_text()
    return page.locator("#train-status").inner_text() + (f" / {problems}" if problems.strip() else "")


def completed(page, timeout_ms: int) -> None:
    status = wait_for_run(
        page, "document.querySelector('#train-status')?.innerText.includes('Completed')", timeout_ms
    )
    assert "Completed" in status, status


def loss_points(page) -> int:
    return page.evaluate("""() => {
        const plot = document.querySelector('#loss-plot .js-plotly-plot');
        if (!plot || !plot.data || !plot.data.length) return 0;
        return plot.data[0].x ? plot.data[0].x.length : 0; }""")


def test_upload_validate_preview_train_to_completion(page):
    load_sample_by_upload(page)
    assert "424 of 424 rows will train" in page.locator("#train-count").inner_text()
    page.locator("#token-hist .js-plotly-plot").wait_for()
    shot(page, "1-data")
    open_tab(page, "2. Preview")
    trained = page.locator("#preview mark.trained")
    trained.wait_for()
    assert trained.inner_text().startswith("SELECT")
    shot(page, "2-preview")
    readme_shot(page, "preview")
    fast_settings(page, 5)
    assert page.locator(
        "#schema-in-prompt input[value=none]"
    ).is_checked()  # the bundled model's CPU defaults
    page.locator("#start").click()
    completed(page, 900_000)
    page.wait_for_function(
        "() => { const p = document.querySelector('#loss-plot .js-plotly-plot');"
        " return p && p.data && p.data[0] && p.data[0].x.length >= 5; }",
        timeout=30_000,
    )
    assert loss_points(page) >= 5
    assert page.locator("#mlflow-run-link").get_attribute("href").startswith("http://127.0.0.1")
    page.locator("#download").wait_for(state="visible", timeout=60_000)  # the zip is made as the run ends
    # evaluated as it ended (on by default): the result comes to the person, in the Train tab and the Evaluate tab
    assert (
        "Execution accuracy on 21 held-out rows of your pairs: base" in page.locator("#outcome").inner_text()
    )
    shot(page, "3-train-completed")
    readme_shot(page, "train-completed", "#outcome")
    page.locator("#to-evaluate").click()
    page.wait_for_selector(
        "#eval-headline table.headline", timeout=60_000
    )  # the logged evaluation, not re-run
    assert "logged to this run" in page.locator("#eval-message").inner_text()
    shot(page, "3b-evaluate-logged")
    readme_shot(page, "evaluate-result")


def test_reload_mid_run_reattaches_and_stop_keeps_the_adapter(page, app_url):
    load_sample_by_upload(page)
    fast_settings(page, 200)
    page.locator("#start").click()
    status = wait_for_run(
        page,
        "(document.querySelector('#loss-plot .js-plotly-plot')?.data?.[0]?.x?.length || 0) >= 12",
        600_000,
    )
    assert loss_points(page) >= 12, status
    shot(page, "4-train-running")
    readme_shot(page, "train-running")  # the README's first picture: mid-run, a real curve
    page.reload()
    # a job trains: the page opens on its Train tab by itself
    page.wait_for_function(
        "() => (document.querySelector('button[role=tab][aria-selected=true]')?.innerText || '').includes('Train')",
        timeout=60_000,
    )
    # one run at a time: Start is off (set by the page-load event and the live tick, seconds after the tab opens)
    page.wait_for_function("() => document.querySelector('#start')?.disabled === true", timeout=60_000)
    open_tab(page, "3. Train")
    # the form re-attaches whole: the running job's settings, not the defaults; the data tab names its file
    # (the page-load event reads the job's data again: on 2 busy cores that takes a few seconds)
    page.wait_for_function("() => document.querySelector('#steps input')?.value === '200'", timeout=60_000)
    assert "is training on sample_pairs.jsonl" in page.locator("#data-message").inner_text()
    assert not page.locator("#resume").is_visible()
    page.wait_for_function(
        "() => /step [1-9][0-9]*\\/200/.test(document.querySelector('#train-progress')?.innerText || '')",
        timeout=30_000,
    )
    assert "Training" in page.locator("#train-status").inner_text()
    page.wait_for_function(
        "() => { const p = document.querySelector('#loss-plot .js-plotly-plot');"
        " return p && p.data && p.data[0] && p.data[0].x.length >= 1; }",
        timeout=60_000,
    )
    shot(page, "5-reattached")
    page.locator("#stop").click()
    page.wait_for_function(
        "() => document.querySelector('#train-status')?.innerText.includes('Stopped')", timeout=300_000
    )
    assert "usable" in page.locator("#outcome").inner_text()
    shot(page, "6-stopped")


def test_evaluate_tab_and_playground(page):
    """Runs after the two above: opening the tab selects the newest finished run (no Refresh), then evaluates it."""
    open_tab(page, "4. Runs")
    page.wait_for_function(
        "() => (document.querySelector('#runs-table')?.innerText || '').includes('FINISHED')", timeout=60_000
    )  # listed as the tab opens
    page.wait_for_function(  # the newest run's loss curve, drawn (the README's picture is not of a spinner)
        "() => !!document.querySelector('#runs-overlay .js-plotly-plot .scatterlayer .trace')", timeout=60_000
    )
    readme_shot(page, "runs")
    open_tab(page, "5. Evaluate")
    page.wait_for_function(
        "() => (document.querySelector('#eval-run input')?.value || '').length > 0", timeout=60_000
    )
    page.locator(
        "#eval-base input"
    ).uncheck()  # adapter only here: base vs adapter is tested on CPU elsewhere
    page.locator("#evaluate").click()
    # the run's logged evaluation is on show already: wait for this evaluation's own message
    page.wait_for_function(
        "() => { const m = document.querySelector('#eval-message'); return !!m && "
        "(/Evaluated \\d+ held-out/.test(m.innerText) || !!m.querySelector('.msg-error, .msg-warn')); }",
        timeout=900_000,
    )
    assert "Evaluated" in page.locator("#eval-message").inner_text(), page.locator(
        "#eval-message"
    ).inner_text()
    page.wait_for_selector("#eval-headline table.headline")
    shot(page, "7-evaluate")
    headline = page.locator("#eval-headline").inner_text()
    assert "Execution accuracy" in headline and "%" in headline
    table = page.locator("#eval-table").inner_text()
    assert "SELECT" in table and "wrong result" in table or "correct" in table or "error" in table
    assert sql_header_inside(page, "eval-table", "adapter SQL") and sql_header_inside(
        page, "eval-table", "change"
    )
    page.locator("#pg-question textarea").fill("Total sales amount per region?")
    page.locator("#ask").click()
    # both answers appear (an adapter trained for a few steps may still answer in prose: that is shown as is)
    page.wait_for_function(
        "() => ['#pg-base-sql', '#pg-adapter-sql'].every(id => "
        "(document.querySelector(id + ' .cm-content')?.innerText || '').trim().length > 0)"
        " || !!document.querySelector('#pg-message .msg')",
        timeout=300_000,
    )
    assert not page.locator("#pg-message .msg").count(), page.locator("#pg-message").inner_text()
    shot(page, "8-playground")
    # only checked answers are kept: the right-SQL box starts empty, the adapter's answer is one click away, and what
    # it returns is shown before it is kept; a new question clears the old answers
    corrected = "#pg-corrected .cm-content"
    assert page.locator(corrected).inner_text().strip() == ""
    page.locator("#pg-use-answer").click()
    adapter_sql = page.locator("#pg-adapter-sql .cm-content").inner_text()
    expected = "\n".join(
        line for line in adapter_sql.splitlines() if not line.strip().startswith("--")
    ).strip()
    page.wait_for_function(
        f"() => (document.querySelector('{corrected}')?.innerText || '').trim().length > 0"
    )
    assert page.locator(corrected).inner_text().strip() == expected
    page.locator("#pg-corrected .cm-content").fill("SELECT COUNT(*) AS n FROM regions")
    page.locator("#pg-run-corrected").click()
    page.wait_for_function(
        "() => /returns 1 row/.test(document.querySelector('#pg-message')?.innerText || '')"
    )
    assert page.locator("#pg-corrected-rows").is_visible()
    # typed as a person types: Gradio's input event follows keystrokes (Playwright's fill() sets the value without
    # it), and an emptied code box drops its editor, so the wait accepts either
    page.locator("#pg-question textarea").press_sequentially(" How many regions are there?")
    page.wait_for_function(
        "() => (document.querySelector('#pg-adapter-sql .cm-content')?.innerText || '').trim() === ''"
    )


def sql_header_inside(page, table: str, header: str, width: int = 1440) -> bool:
    """Whether a table's SQL column header is on screen at `width` px without scrolling sideways."""
    page.set_viewport_size({"width": width, "height": 1000})
    cell = page.locator(f"#{table} th").filter(has_text=header).first
    cell.scroll_into_view_if_needed()
    box = cell.bounding_box()
    return box is not None and box["x"] + box["width"] <= width
