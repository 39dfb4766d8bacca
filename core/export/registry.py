"""The MLflow Model Registry: a run's adapter becomes a version of a named model; one version is the champion.

    register_run(run_id, "sales-sql", champion=True)   # version 1, 2, ... of "sales-sql"
    set_champion("sales-sql", 2)                        # alias `champion` -> version 2
    list_versions()                                     # rows for the Runs tab and the CLI

The version's source is the run's `adapter` artifact (runs:/RUN_ID/adapter), so `models:/sales-sql@champion`
downloads the adapter folder. Base model, prompt template, dialect, schema hash and the evaluation numbers are
version tags and part of its description. Needs a database-backed tracking server (the studio's uses sqlite).
"""

from datetime import datetime
from pathlib import Path

from core.paths import safe_name
from core.prompt_record import PromptRecord
from core.tracking import RunNotFound, get_run
from core.tracking import run_prompt_record as recorded

CHAMPION = "champion"
ACCURACY_TAGS = ("eval_exec_accuracy", "base_exec_accuracy")  # adapter, base model
STUDIO_TAG = ("created_by", "sql-tune-studio")  # marks the registered models this studio made
VERSION_COLUMNS = [
    "model",
    "version",
    "champion",
    "run",
    "base model",
    "dialect",
    "exec acc adapter",
    "exec acc base",
    "schema hash",
    "registered",
    "run id",
]


class RegistryError(ValueError):
    """A registry request that cannot be done. The message says why and what to do."""


def _client(tracking_uri: str | None = None):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri)


def _mlflow_message(e: Exception) -> str:
    return str(getattr(e, "message", "") or e).splitlines()[0][:300]


def run_prompt_record(run, tracking_uri: str | None = None) -> PromptRecord | None:
    """The training prompt of a run (core.tracking.run_prompt_record), its local adapter copy looked at first."""

    local = Path(run.data.tags.get("adapter_path", "") or "/nonexistent")
    return recorded(run.info.run_id, tracking_uri, local)


def _version_tags(run, record: PromptRecord | None) -> dict[str, str]:
    metrics, params = run.data.metrics, run.data.params
    tags = {"run_name": run.info.run_name or "", "base_model": params.get("cfg.model", "")}
    if record is not None:
        tags.update(
            base_model=record.base_model,
            dialect=record.dialect,
            prompt_template=record.system_template,
            schema_hash=record.schema_hash,
        )
    for key in ("eval_exec_accuracy", "base_exec_accuracy", "loss"):
        if key in metrics:
            tags["final_loss" if key == "loss" else key] = f"{metrics[key]:.4f}"
    return tags


def _description(tags: dict[str, str], run_id: str) -> str:
    lines = [
        f"Text-to-SQL LoRA adapter from run {tags.get('run_name') or run_id} ({run_id}).",
        f"Base model: {tags.get('base_model') or 'unknown'}; dialect: {tags.get('dialect', 'unknown')}; "
        f"schema hash: {tags.get('schema_hash', 'unknown')}.",
    ]
    if "eval_exec_accuracy" in tags:
        base = f", base model {float(tags['base_exec_accuracy']):.1%}" if "base_exec_accuracy" in tags else ""
        adapter = f"{float(tags['eval_exec_accuracy']):.1%}"
        lines.append(f"Execution accuracy on the held-out rows: adapter {adapter}{base}.")
    else:
        lines.append("Not evaluated yet (Evaluate tab, or `python -m core evaluate --run RUN_ID`).")
    if "prompt_template" in tags:
        lines.append(f"System prompt template: {tags['prompt_template']!r}.")
    return "\n\n".join(lines)


def register_run(run_id: str, name: str, champion: bool = False, tracking_uri: str | None = None):
    """Register the run's adapter as a new version of `name` (created when new). Returns the ModelVersion."""
    from mlflow.exceptions import MlflowException

    name = safe_name(name)
    run = get_run(run_id, tracking_uri)
    client = _client(tracking_uri)
    try:
        files = [a.path for a in client.list_artifacts(run.info.run_id, "adapter")]
    except MlflowException:
        files = []
    if not any(f.endswith("adapter_config.json") for f in files):
        raise RunNotFound(
            f"Run {run.info.run_name} ({run_id}) has no adapter artifact to register (outcome: "
            f"{run.data.tags.get('outcome', 'unknown')}). Pick a completed or stopped run."
        )
    tags = _version_tags(run, run_prompt_record(run, tracking_uri))
    try:
        if not client.search_registered_models(f"name = '{name}'"):
            client.create_registered_model(
                name, tags=dict([STUDIO_TAG]), description="Text-to-SQL LoRA adapters from SQL Tune Studio."
            )
        version = client.create_model_version(
            name,
            source=f"runs:/{run.info.run_id}/adapter",
            run_id=run.info.run_id,
            tags=tags,
            description=_description(tags, run.info.run_id),
        )
        if champion:
            client.set_registered_model_alias(name, CHAMPION, version.version)
    except MlflowException as e:
        raise RegistryError(
            f"MLflow could not register {name}: {_mlflow_message(e)}. The registry needs a "
            "database-backed tracking server (the studio's embedded one is)."
        ) from None
    return version


def set_champion(name: str, version: int | str, tracking_uri: str | None = None) -> None:
    """Point the `champion` alias of a registered model at one of its versions."""
    from mlflow.exceptions import MlflowException

    try:
        _client(tracking_uri).set_registered_model_alias(safe_name(name), CHAMPION, str(int(version)))
    except (MlflowException, ValueError) as e:
        raise RegistryError(
            f"Could not mark {name} version {version} as champion: {_mlflow_message(e)}. "
            "Pick a version from the table of registered versions."
        ) from None


def list_versions(tracking_uri: str | None = None, limit: int = 200) -> list[list]:
    """One row per version of the studio's registered models (VERSION_COLUMNS), newest model first."""

    client = _client(tracking_uri)
    rows = []
    models = client.search_registered_models(f"tags.{STUDIO_TAG[0]} = '{STUDIO_TAG[1]}'", max_results=limit)
    for model in sorted(models, key=lambda m: m.last_updated_timestamp or 0, reverse=True):
        champion = model.aliases.get(CHAMPION) if model.aliases else None
        versions = client.search_model_versions(f"name = '{model.name}'", max_results=limit)
        for v in sorted(versions, key=lambda v: int(v.version), reverse=True):
            t = v.tags
            acc = [f"{float(t[k]):.0%}" if k in t else "" for k in ACCURACY_TAGS]
            when = datetime.fromtimestamp(v.creation_timestamp / 1000).strftime("%Y-%m-%d %H:%M")
            rows.append(
                [
                    model.name,
                    int(v.version),
                    "champion" if str(champion) == str(v.version) else "",
                    t.get("run_name", ""),
                    t.get("base_model", ""),
                    t.get("dialect", ""),
                    *acc,
                    t.get("schema_hash", ""),
                    when,
                    v.run_id,
                ]
            )
    return rows
