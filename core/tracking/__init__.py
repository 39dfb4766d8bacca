"""Tracking: the embedded MLflow server, each job's journal and the thread that sends it, and reading runs back.

Training writes to MLflow only through a job's journal (core.tracking.run), so a slow or absent server never
stalls it. It may use the config/state modules, core.data and the bottom modules.
"""

from core.tracking.runs import (
    RUN_COLUMNS,
    RunNotFound,
    config_from_params,
    get_run,
    list_runs,
    load_run_dict,
    load_run_text,
    run_adapter,
    run_config,
    run_details,
    run_prompt_record,
)
from core.tracking.server import (
    TrackingError,
    ensure_server,
    is_healthy,
    metric_history,
    run_url,
    tracking_uri,
    wait_until_started,
)
from core.tracking.sync import sync_journal, syncer_for

__all__ = [
    "RUN_COLUMNS",
    "RunNotFound",
    "TrackingError",
    "config_from_params",
    "ensure_server",
    "get_run",
    "is_healthy",
    "list_runs",
    "load_run_dict",
    "load_run_text",
    "metric_history",
    "run_adapter",
    "run_config",
    "run_details",
    "run_prompt_record",
    "run_url",
    "sync_journal",
    "syncer_for",
    "tracking_uri",
    "wait_until_started",
]
