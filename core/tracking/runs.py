"""Read an experiment's runs back from MLflow as plain rows, for the Runs tab and the CLI."""

import json
import tempfile
from datetime import datetime
from pathlib import Path

from core.config import TrainConfig
from core.prompt_record import PROMPT_FILE, PromptRecord

RUN_COLUMNS = [
    "name",
    "status",
    "outcome",
    "model",
    "rank",
    "alpha",
    "steps",
    "final loss",
    "exec acc base",
    "exec acc adapter",
    "duration",
    "started",
    "run id",
]


def _client(tracking_uri: str | None = None):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri)


def load_run_text(run_id: str, path: str, tracking_uri: str | None = None) -> str:
    """A run's text artifact, read by MLflow (`mlflow.artifacts.load_text`: its own temporary copy, removed)."""
    import mlflow

    uri = f"runs:/{run_id}/{path}"
    if tracking_uri and tracking_uri != mlflow.get_tracking_uri():
        # load_text resolves runs:/ through the current tracking URI and takes no other; another server's
        # artifact is fetched the same way, with that server's URI
        with tempfile.TemporaryDirectory() as tmp:
            local = mlflow.artifacts.download_artifacts(uri, dst_path=tmp, tracking_uri=tracking_uri)
            return Path(local).read_text(encoding="utf-8")
    return mlflow.artifacts.load_text(uri)


def load_run_dict(run_id: str, path: str, tracking_uri: str | None = None) -> dict:
    """A run's JSON artifact (`mlflow.artifacts.load_dict`)."""
    import mlflow

    if tracking_uri and tracking_uri != mlflow.get_tracking_uri():
        return json.loads(load_run_text(run_id, path, tracking_uri))
    return mlflow.artifacts.load_dict(f"runs:/{run_id}/{path}")


def list_runs(
    experiment: str = "text2sql-finetune", tracking_uri: str | None = None, limit: int = 200
) -> list[list]:
    """One row per run, newest first, in RUN_COLUMNS order."""
    client = _client(tracking_uri)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return []
    rows = []
    for run in client.search_runs(
        [exp.experiment_id], max_results=limit, order_by=["attributes.start_time DESC"]
    ):
        p, info = run.data.params, run.info
        loss = run.data.metrics.get("loss")
        end = info.end_time or 0
        duration = f"{(end - info.start_time) / 1000:.0f} s" if end and info.start_time else ""
        started = (
            datetime.fromtimestamp(info.start_time / 1000).strftime("%Y-%m-%d %H:%M")
            if info.start_time
            else ""
        )
        m = run.data.metrics
        acc = [f"{m[k]:.0%}" if k in m else "" for k in ("base_exec_accuracy", "eval_exec_accuracy")]
        rows.append(
            [
                info.run_name,
                info.status,
                run.data.tags.get("outcome", ""),
                p.get("cfg.model", ""),
                p.get("cfg.rank", ""),
                p.get("cfg.alpha", ""),
                p.get("cfg.max_steps", ""),
                round(loss, 4) if loss is not None else "",
                *acc,
                duration,
                started,
                info.run_id,
            ]
        )
    return rows


def run_details(run_id: str, tracking_uri: str | None = None) -> dict:
    """Params (ours, without the prefix), tags, metrics and the formatted samples of one run."""
    client = _client(tracking_uri)
    run = client.get_run(run_id)
    try:
        samples = load_run_text(run_id, "samples.txt", tracking_uri)
    except Exception:  # noqa: BLE001 - a run without samples (failed early) still shows its params
        samples = ""
    params = {k[4:]: v for k, v in run.data.params.items() if k.startswith("cfg.")}
    return {
        "name": run.info.run_name,
        "status": run.info.status,
        "params": params,
        "tags": {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")},
        "metrics": run.data.metrics,
        "samples": samples,
    }


def config_from_params(params: dict) -> TrainConfig:
    """A TrainConfig rebuilt from a run's logged cfg.* params (for 'clone this run')."""
    defaults = TrainConfig()
    values = {}
    for name, raw in params.items():
        if not hasattr(defaults, name):
            continue
        current = getattr(defaults, name)
        if raw == "None":
            values[name] = None
        elif isinstance(current, bool):
            values[name] = raw == "True"
        elif isinstance(current, int):
            values[name] = int(float(raw))
        elif isinstance(current, float):
            values[name] = float(raw)
        elif isinstance(current, list):
            values[name] = [s.strip() for s in raw.split(",") if s.strip()]
        else:
            values[name] = raw
    return TrainConfig(**{**defaults.to_dict(), **values})


class RunNotFound(ValueError):
    """No such MLflow run, or it has no adapter. The message says what to pick instead."""


def get_run(run_id: str, tracking_uri: str | None = None):
    """The MLflow run; RunNotFound when there is none, ConnectionError when MLflow does not answer."""
    from mlflow.exceptions import MlflowException

    try:
        return _client(tracking_uri).get_run((run_id or "").strip())
    except MlflowException as e:
        if e.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
            raise ConnectionError(
                f"MLflow did not answer ({str(e).splitlines()[0][:160]}). Check that the "
                "tracking server is running, then try again."
            ) from None
        raise RunNotFound(
            f"No MLflow run with id {run_id!r}. Pick one from the Runs tab (the last column), "
            "or list them in MLflow's UI."
        ) from None


def run_adapter(run_id: str, tracking_uri: str | None = None) -> Path:
    """The run's adapter folder: the local copy the trainer saved when it is still there, else downloaded
    from the run's `adapter` artifact. Raises RunNotFound when the run has none (it failed before saving
    one)."""
    run = get_run(run_id, tracking_uri)
    local = Path(run.data.tags.get("adapter_path", ""))
    if str(local) != "." and (local / "adapter_config.json").exists():
        return local
    client = _client(tracking_uri)
    artifacts = client.list_artifacts(run.info.run_id, "adapter")
    if not any(a.path.endswith("adapter_config.json") for a in artifacts):
        outcome = run.data.tags.get("outcome", "unknown")
        raise RunNotFound(
            f"Run {run.info.run_name} ({run_id}) has no adapter: it ended before saving one "
            f"(outcome: {outcome}). Pick a completed or stopped run."
        )
    return Path(client.download_artifacts(run.info.run_id, "adapter", tempfile.mkdtemp(prefix="adapter-")))


def run_config(run_id: str, tracking_uri: str | None = None) -> TrainConfig | None:
    """The run's config.json artifact as a TrainConfig (None when the run has none)."""
    try:
        return TrainConfig.from_dict(load_run_dict(run_id, "config.json", tracking_uri))
    except Exception:  # noqa: BLE001 - the artifact is missing or unreadable
        return None


def run_prompt_record(
    run_id: str, tracking_uri: str | None = None, adapter: Path | None = None
) -> PromptRecord | None:
    """The prompt a run trained with, which every consumer renders its prompts from: the adapter folder's record,
    else the run's own (logged when training started), else the adapter artifact's, else rebuilt from the run's
    config.json (runs from before the record existed). None when none of them can be read."""
    if adapter is not None and (record := PromptRecord.load(Path(adapter))) is not None:
        return record
    for path in (PROMPT_FILE, f"adapter/{PROMPT_FILE}"):
        try:
            return PromptRecord.from_dict(load_run_dict(run_id, path, tracking_uri))
        except Exception:  # noqa: BLE001 - not logged by this run: try the next place
            pass
    cfg = run_config(run_id, tracking_uri)
    try:
        return PromptRecord.from_config(cfg) if cfg else None
    except (OSError, ValueError):  # the schema file moved since training
        return None
