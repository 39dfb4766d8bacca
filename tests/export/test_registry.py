"""The MLflow Model Registry against a real MLflow server: a run's adapter becomes versions of a named model
with the prompt and evaluation as tags, the champion alias moves, and `models:/NAME@champion` gives the
adapter back. Also the CLI's register/versions/export --run and the Runs tab's handlers (export in the
background)."""

import time
from pathlib import Path

import pytest

from app import adapter_panel
from core.cli import main
from core.config import TrainConfig
from core.defaults import BUNDLED_MODEL
from core.export import RegistryError, list_versions, register_run, set_champion
from core.export.registry import CHAMPION
from core.tracking import RunNotFound
from tests.lora_adapter import SCHEMA, random_adapter, sample_record

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(mlflow_server):
    from mlflow.tracking import MlflowClient

    return MlflowClient(mlflow_server)


@pytest.fixture(scope="module")
def run_id(client):
    """A finished training run as the trainer leaves it, minus the training: config, params, metrics, the
    adapter artifact. No adapter_path tag, so everything is read back from the server."""
    experiment = client.create_experiment("tests-registry")
    run = client.create_run(experiment, run_name="registry-run")
    rid = run.info.run_id
    client.log_dict(rid, TrainConfig(model=BUNDLED_MODEL, schema_path=str(SCHEMA)).to_dict(), "config.json")
    client.log_param(rid, "cfg.model", BUNDLED_MODEL)
    client.log_metric(rid, "eval_exec_accuracy", 0.625)
    client.log_metric(rid, "base_exec_accuracy", 0.25)
    client.log_artifacts(rid, str(random_adapter()), "adapter")
    client.set_tag(rid, "outcome", "completed")
    client.set_terminated(rid)
    return rid


def test_register_versions_tags_and_champion_round_trip(client, run_id, tmp_path):
    import mlflow

    first = register_run(run_id, "Sales SQL/../prod", champion=True)
    second = register_run(run_id, "Sales SQL/../prod")
    assert (first.name, first.version, second.version) == ("Sales-SQL-prod", "1", "2")
    record = sample_record()
    tags = client.get_model_version("Sales-SQL-prod", "2").tags
    assert tags["base_model"] == BUNDLED_MODEL and tags["dialect"] == "postgres"
    assert tags["schema_hash"] == record.schema_hash and tags["prompt_template"] == record.system_template
    assert (tags["eval_exec_accuracy"], tags["base_exec_accuracy"]) == ("0.6250", "0.2500")
    version = client.get_model_version("Sales-SQL-prod", "2")
    assert version.run_id == run_id and "62.5%" in version.description
    assert client.get_model_version_by_alias("Sales-SQL-prod", CHAMPION).version == "1"

    set_champion("Sales-SQL-prod", 2)
    assert client.get_model_version_by_alias("Sales-SQL-prod", CHAMPION).version == "2"
    rows = [r for r in list_versions() if r[0] == "Sales-SQL-prod"]
    assert [(r[1], r[2]) for r in rows] == [(2, "champion"), (1, "")]
    assert rows[0][6:9] == ["62%", "25%", record.schema_hash] and rows[0][-1] == run_id

    folder = mlflow.artifacts.download_artifacts(f"models:/Sales-SQL-prod@{CHAMPION}", dst_path=str(tmp_path))
    names = {p.name for p in Path(folder).iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "studio_prompt.json"} <= names


def test_registry_errors_are_clear(client, run_id):
    experiment = client.get_experiment_by_name("tests-registry").experiment_id
    empty = client.create_run(experiment, run_name="failed-early")
    with pytest.raises(RunNotFound, match="has no adapter artifact"):
        register_run(empty.info.run_id, "x")
    with pytest.raises(RunNotFound, match="No MLflow run with id"):
        register_run("0" * 32, "x")
    with pytest.raises(RegistryError, match="Pick a version"):
        set_champion("Sales-SQL-prod", 99)
    with pytest.raises(ValueError, match="cannot be used as a name"):
        register_run(run_id, "../")


def test_cli_register_versions_and_export_from_the_run(run_id, tmp_path, capsys):
    assert main(["register", "--run", run_id, "--name", "cli-model", "--champion"]) == 0
    assert "registered cli-model version 1 (alias champion)" in capsys.readouterr().out
    assert main(["versions"]) == 0
    assert any(line.startswith("cli-model\t1\tchampion") for line in capsys.readouterr().out.splitlines())
    assert main(["export", "--run", run_id, "--format", "zip", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "registry-run-adapter.zip").exists()  # named after the run
    assert main(["register", "--run", "nope", "--name", "x"]) == 2
    assert "No MLflow run with id 'nope'" in capsys.readouterr().err


def test_runs_tab_registers_and_exports_in_the_background(run_id):
    message, rows, _ = adapter_panel.register(run_id, "ui model", True)
    assert "Registered as ui-model version 1 and marked as champion" in message
    assert any(r[0] == "ui-model" and r[2] == "champion" for r in rows)
    assert "Open a run first" in adapter_panel.register("", "x", False)[0]
    assert "cannot be used as a name" in adapter_panel.register(run_id, "///", False)[0]

    started = time.time()
    status, _, timer = adapter_panel.start_export(run_id, "zip", "from ui")
    assert time.time() - started < 2.0 and "Exporting" in status  # returns at once; the work is in a thread
    assert "already running" in adapter_panel.start_export(run_id, "zip", "again")[0]
    deadline = time.time() + 120
    while time.time() < deadline:
        status, file, timer = adapter_panel.export_tick()
        if "Exporting" not in status:
            break
        time.sleep(0.3)
    assert "Adapter zip written" in status, status
    assert file.value["orig_name"] == "from-ui-adapter.zip" and file.visible
    assert timer.active is False
