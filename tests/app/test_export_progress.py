"""The Runs tab's export status: the stage the export is in (loading, merging, writing, converting, checking),
how long that stage and the whole export have run, and the self-check's result as a warning when answers differ;
the README's self-check section. No model is loaded here (a real export's stages and check: tests/export/test_export.py)."""

import time
from pathlib import Path

from app.adapter_panel import export_tick, running_status
from core.background import BackgroundJob, current_job, start_job
from core.export.export import ExportResult
from core.export.selfcheck import SelfCheck


def test_the_status_names_the_stage_and_its_elapsed_time():
    snap = {
        "label": "GGUF file of run 1a2b3c4d",
        "elapsed": 95.0,
        "line_times": [0.5, 2.0, 30.0, 31.0],
        "lines": [
            "loading the base model bundled on the CPU ...",
            "merging the adapter into the weights ...",
            "converting to GGUF (f16) with llama.cpp's convert_hf_to_gguf.py ...",
            "INFO:hf-to-gguf:Set model tokenizer",
        ],
    }  # the converter's own chatter is no stage
    status = running_status(snap)
    assert status.startswith(
        "Exporting GGUF file of run 1a2b3c4d: converting (1:05 in this stage, 1:35 in all)."
    )
    assert status.endswith("INFO:hf-to-gguf:Set model tokenizer")
    assert (
        running_status({**snap, "lines": ["zipping the adapter ..."], "line_times": [0.1]})
        == "Exporting GGUF file of run 1a2b3c4d (1:35): zipping the adapter ..."
    )


def test_background_jobs_keep_when_each_line_came():
    job = BackgroundJob("x")
    job.log("loading ...")
    time.sleep(0.05)
    job.log("merging ...")
    times = job.snapshot()["line_times"]
    assert len(times) == 2 and 0 <= times[0] < times[1] <= job.snapshot()["elapsed"]


def _finished_export(check: SelfCheck):
    while (job := current_job()) is not None and job.status == "running":  # one export at a time
        time.sleep(0.1)
    result = ExportResult(Path("/nonexistent/x-gguf"), f"GGUF file written. {check.summary()}", check=check)
    job = start_job("GGUF file of run 1", lambda progress: (result, None))
    while job.snapshot()["status"] == "running":
        time.sleep(0.02)
    return export_tick()[0]


def test_a_self_check_that_found_differences_is_a_warning_not_a_success():
    differ = SelfCheck(
        8,
        7,
        [
            {
                "question": "q",
                "adapter_raw": "SELECT 1",
                "adapter_sql": "SELECT 1",
                "export_raw": "SELECT 2",
                "export_sql": "SELECT 2",
            }
        ],
    )
    status = _finished_export(differ)
    assert "msg-warn" in status and "7 of 8 answers identical" in status and "1 differ" in status
    status = _finished_export(SelfCheck(8, 8))
    assert "msg-ok" in status and "8 of 8 answers identical" in status
    status = _finished_export(SelfCheck(2, error="ValueError: cannot reshape array"))
    assert "msg-warn" in status and "could not be loaded" in status


def test_the_readme_section_shows_both_answers_of_each_difference():
    check = SelfCheck(
        3,
        1,
        [
            {
                "question": "Total per region?",
                "adapter_raw": "SELECT r, SUM(a) FROM s GROUP BY r",
                "adapter_sql": "SELECT r, SUM(a) FROM s GROUP BY r",
                "export_raw": "SELECT SUM(a) FROM s",
                "export_sql": "SELECT SUM(a) FROM s",
            },
            {
                "question": "Highest price?",
                "adapter_raw": "SELECT MAX(p) FROM t\nThis finds it.",
                "adapter_sql": "SELECT MAX(p) FROM t",
                "export_raw": "SELECT MAX(p) FROM t\nThe answer ```is```",
                "export_sql": "SELECT MAX(p) FROM t",
            },
        ],
    )
    text = check.markdown()
    assert text.startswith("## Self-check\n\nSelf-check: 1 of 3 answers identical") and "2 differ" in text
    assert "adapter:     SELECT r, SUM(a) FROM s GROUP BY r\nthis export: SELECT SUM(a) FROM s\n" in text
    # the same SQL with other text around it: the whole answers, on one line, without a fence inside the block
    assert "2. Highest price? (the same SQL; the text around it differs)" in text
    assert "adapter:     SELECT MAX(p) FROM t This finds it.\n" in text and text.count("```") == 4
