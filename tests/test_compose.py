"""Static checks of docker-compose.yml and the Dockerfile (no Docker needed)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_PATH = ROOT / "docker-compose.yml"
DOCKERFILE_PATH = ROOT / "Dockerfile"


@pytest.fixture(scope="module")
def compose() -> dict:
    data = yaml.safe_load(COMPOSE_PATH.read_text())
    assert isinstance(data, dict), "docker-compose.yml must be a mapping"
    assert isinstance(data.get("services"), dict), "docker-compose.yml has no services"
    return data


@pytest.fixture(scope="module")
def mlflow(compose: dict) -> dict:
    assert "mlflow-server" in compose["services"]
    return compose["services"]["mlflow-server"]


@pytest.fixture(scope="module")
def studio(compose: dict) -> dict:
    assert "studio" in compose["services"]
    return compose["services"]["studio"]


def _image_tag(image: str) -> str | None:
    """The tag of an image reference, or None (a registry port is not a tag)."""
    ref = image.split("@", 1)[0]
    name = ref.rsplit("/", 1)[-1]
    return name.split(":", 1)[1] if ":" in name else None


def _command_args(command: str | list) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(a) for a in command]


def _option(args: list[str], name: str) -> str | None:
    """Value of `--name value` or `--name=value` in an argument list."""
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _environment(service: dict) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, dict):
        return {str(k): None if v is None else str(v) for k, v in env.items()}
    out: dict[str, str | None] = {}
    for item in env:
        key, sep, value = str(item).partition("=")
        out[key] = value if sep else None
    return out


def _volume_targets(service: dict) -> dict[str, str]:
    """Container path -> source (host path or named volume)."""
    out = {}
    for vol in service.get("volumes") or []:
        if isinstance(vol, dict):
            out[str(vol["target"])] = str(vol.get("source", ""))
        else:
            parts = str(vol).split(":")
            if len(parts) == 1:
                out[parts[0]] = ""
            else:
                out[parts[1]] = parts[0]
    return out


def _port_entries(service: dict) -> list:
    return list(service.get("ports") or [])


# --- mlflow-server ---------------------------------------------------------------


def test_mlflow_image_is_pinned(mlflow: dict) -> None:
    image = mlflow["image"]
    assert "mlflow" in image
    tag = _image_tag(image)
    assert tag, f"mlflow image {image!r} has no tag"
    assert tag != "latest"
    assert re.search(r"\d+\.\d+", tag), f"mlflow tag {tag!r} is not a version"


def test_mlflow_command(mlflow: dict) -> None:
    args = _command_args(mlflow["command"])
    assert "server" in args
    assert _option(args, "--host") == "0.0.0.0"
    assert _option(args, "--port") == "5000"
    allowed = _option(args, "--allowed-hosts")
    assert allowed, "--allowed-hosts missing"
    hosts = [h.strip() for h in allowed.split(",")]
    assert "mlflow-server" in hosts
    assert "mlflow-server:5000" in hosts
    backend = _option(args, "--backend-store-uri")
    assert backend and backend.startswith("sqlite:///"), backend


def test_mlflow_data_on_a_volume(compose: dict, mlflow: dict) -> None:
    args = _command_args(mlflow["command"])
    db_path = _option(args, "--backend-store-uri").removeprefix("sqlite:///")
    artifacts = _option(args, "--artifacts-destination")
    targets = _volume_targets(mlflow)
    assert targets, "mlflow-server has no volume for its data"
    for path in filter(None, [db_path, artifacts]):
        assert any(path.startswith(t.rstrip("/") + "/") for t in targets), f"{path} is not on a volume"
    named = {src for src in targets.values() if src and not src.startswith((".", "/"))}
    for name in named:
        assert name in (compose.get("volumes") or {}), f"named volume {name} is not declared"


def test_mlflow_healthcheck(mlflow: dict) -> None:
    check = mlflow.get("healthcheck")
    assert check and check.get("test"), "mlflow-server has no healthcheck test"
    test = check["test"]
    text = test if isinstance(test, str) else " ".join(map(str, test))
    assert "/health" in text
    assert "curl" not in text, "the mlflow image has no curl"


# --- studio ------------------------------------------------------------------------


def test_studio_builds_locally(studio: dict) -> None:
    assert studio.get("build"), "studio has no build"


def test_studio_gpu_reservation(studio: dict) -> None:
    devices = studio["deploy"]["resources"]["reservations"]["devices"]
    assert any(d.get("driver") == "nvidia" and "gpu" in (d.get("capabilities") or []) for d in devices), (
        devices
    )


def test_studio_environment(studio: dict) -> None:
    env = _environment(studio)
    assert env.get("MLFLOW_TRACKING_URI") == "http://mlflow-server:5000"
    assert env.get("STUDIO_HOST") == "0.0.0.0"
    for key in ("STUDIO_USERNAME", "STUDIO_PASSWORD"):
        value = env.get(key)
        assert value and re.fullmatch(r"\$\{" + key + r"(:?[?-][^}]*)?\}", value), (
            f"{key} must come from the host environment, got {value!r}"
        )


def test_studio_publishes_gradio_port(studio: dict) -> None:
    published = []
    for entry in _port_entries(studio):
        if isinstance(entry, dict):
            published.append(str(entry.get("target")))
        else:
            published.append(str(entry).split(":")[-1].split("/")[0])
    assert "7860" in published


def test_studio_volumes(compose: dict, studio: dict) -> None:
    targets = _volume_targets(studio)
    assert "/workspace/data" in targets
    assert "/workspace/outputs" in targets
    env = _environment(studio)
    hf_home = env.get("HF_HOME") or "/root/.cache/huggingface"
    assert hf_home in targets, "no volume for the Hugging Face cache"
    source = targets[hf_home]
    if source and not source.startswith((".", "/")):
        assert source in (compose.get("volumes") or {})


def test_studio_waits_for_healthy_mlflow(studio: dict) -> None:
    depends = studio.get("depends_on")
    assert isinstance(depends, dict), "depends_on must use the long form with a condition"
    assert depends["mlflow-server"]["condition"] == "service_healthy"


# --- whole file ----------------------------------------------------------------------


def test_ports_bound_to_loopback(compose: dict) -> None:
    for name, service in compose["services"].items():
        for entry in _port_entries(service):
            if isinstance(entry, dict):
                assert entry.get("host_ip") == "127.0.0.1", f"{name}: {entry}"
            else:
                assert str(entry).startswith("127.0.0.1:"), (
                    f"{name}: {entry!r} is published on all interfaces"
                )


def test_no_literal_password() -> None:
    text = COMPOSE_PATH.read_text()
    for match in re.finditer(r"(?im)^\s*-?\s*([\w-]*(?:password|secret|token)[\w-]*)\s*[:=]\s*(.*)$", text):
        value = match.group(2).strip().strip("'\"")
        assert not value or value.startswith("${"), f"literal secret for {match.group(1)}"


# --- Dockerfile ----------------------------------------------------------------------


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE_PATH.read_text()
    text = re.sub(r"\\\n", " ", text)  # join continuation lines
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    return out


def test_dockerfile_base_image_pinned() -> None:
    froms = [rest for kw, rest in _dockerfile_instructions() if kw == "FROM"]
    assert froms, "Dockerfile has no FROM"
    image = froms[0].split()[0]
    assert image.startswith("unsloth/unsloth"), image
    tag = _image_tag(image)
    assert tag and tag != "latest", f"base image {image!r} is not pinned"
    assert re.search(r"\d", tag), f"base image tag {tag!r} is not a version"


def test_dockerfile_installs_nodeps_requirements() -> None:
    runs = " ".join(rest for kw, rest in _dockerfile_instructions() if kw == "RUN")
    assert re.search(r"pip install[^&;]*--no-deps[^&;]*-r requirements-nodeps\.txt", runs), runs
    assert "requirements.txt" in runs


def test_dockerfile_runs_app() -> None:
    instructions = _dockerfile_instructions()
    assert ("EXPOSE", "7860") in instructions
    cmds = [rest for kw, rest in instructions if kw == "CMD"]
    assert cmds and cmds[-1] == '["python", "-m", "app"]'
