"""The studio's own wheels for an offline GPU host (CPython 3.12, x86_64) that already has the Unsloth set of
`fetch-wheels.sh`: gradio without its browser bundle, the MLflow server without its web UI, plotly without its
JavaScript, and what they need that such a host lacks. About 22 MB, so they travel in a call of their own (with the
Unsloth set they pass the 64 MiB a call may carry); install both sets with one pip command on the host.

    python bench/studio_wheels.py [FOLDER]      (default .whl-studio, kept out of git)

Used for `STUDIO_GPU_PATH_SHAPE=7b pytest -m gpu tests/app/test_gpu_studio.py` (issue 15); see docs/BENCHMARKS.md.
"""

import re
import subprocess
import sys
import zipfile
from pathlib import Path

PINS = """alembic==1.20.1 annotated-types==0.8.0 blinker==1.9.0 brotli==1.2.1 cachetools==7.3.3 cffi==2.1.1
cryptography==50.0.2 databricks-sdk==0.162.0 fastapi==0.165.0 flask==3.1.3 flask-cors==6.0.5 gradio==6.31.0
gradio-client==2.7.2 groovy==0.1.2 hf-gradio==0.4.1 huey==3.5.4 importlib-metadata==9.1.0 itsdangerous==2.2.0
mako==1.4.3 mlflow==3.17.2 mlflow-skinny==3.17.2 mlflow-tracing==3.17.2 narwhals==2.29.0 opentelemetry-api==1.45.2
opentelemetry-proto==1.45.2 opentelemetry-sdk==1.45.2 opentelemetry-semantic-conventions==0.66b2 orjson==3.13.0
plotly==7.1.0 pydantic==2.14.4 pydantic-core==2.50.5 pydub==0.25.1 python-dotenv==1.2.4 python-multipart==0.0.34
pytz==2026.6 safehttpx==0.1.7 semantic-version==2.10.0 sqlalchemy==2.1.9 sqlparse==0.6.1 starlette==1.10.0
tomlkit==0.14.0 typing-inspection==0.4.5 uvicorn==0.54.0 inflect==7.6.0 more-itertools==11.2.1 jaraco-functools==4.6.0
optuna==5.1.0 colorlog==6.12.0 sqlglot==30.30.0""".split()

# What the studio never uses on such a host (checked there: gradio serves its API with only index.html of its
# bundle, the MLflow server its REST API without the web UI, plotly builds figures without its JavaScript).
DROP = {
    "gradio": [
        r"^gradio/templates/(?!frontend/index\.html$)",
        r"^gradio/(media_assets|test_data)/.*(?<!\.py)$",
        r"\.pyi$",
        r"CHANGELOG\.md$",
    ],
    "plotly": [
        r"plotly\.min\.js$",
        r"widgetbundle\.js$",
        r"package_data/datasets/",
        r"labextension/",
        r"\.data/",
    ],
    "mlflow_skinny": [r"\.pyi$", r"^mlflow/assistant/skills/"],
    "mlflow": [r"^mlflow/server/js/"],
    "sqlalchemy": [
        r"\.(so|pxd)$",
        r"^sqlalchemy/testing/",
        r"^sqlalchemy/dialects/oracle/",
    ],  # runs as pure Python
    "pytz": [r"^pytz/zoneinfo/"],
    "databricks_sdk": [r"^databricks/sdk/"],
}
PLATFORMS = [
    "manylinux_2_28_x86_64",
    "manylinux_2_27_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux2014_x86_64",
    "manylinux1_x86_64",
    "any",
]


def trimmed(wheel: Path, patterns: list[str], also_drop: set[str] = frozenset()) -> None:
    """Rewrite the wheel without the members that match (and their RECORD lines)."""
    drop = [re.compile(p) for p in patterns]
    gone = lambda name: name in also_drop or any(p.search(name) for p in drop)  # noqa: E731
    out = wheel.with_suffix(".tmp")
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if gone(info.filename):
                continue
            data = src.read(info.filename)
            if info.filename.endswith(".dist-info/RECORD"):
                data = "".join(
                    line + "\n" for line in data.decode().splitlines() if not gone(line.split(",")[0])
                )
            dst.writestr(info, data)
    out.replace(wheel)


def main() -> int:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else ".whl-studio")
    folder.mkdir(exist_ok=True)
    (folder / ".gitignore").write_text("*\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            "3.12",
            "--implementation",
            "cp",
            *[a for p in PLATFORMS for a in ("--platform", p)],
            "-d",
            str(folder),
            *PINS,
        ],
        check=True,
    )
    wheels = {w.name.split("-")[0].lower(): w for w in folder.glob("*.whl")}
    with zipfile.ZipFile(wheels["mlflow_skinny"]) as skinny:
        in_skinny = {n for n in skinny.namelist() if not n.startswith("mlflow_skinny-")}
    for name, patterns in DROP.items():
        trimmed(wheels[name], patterns, in_skinny if name == "mlflow" else set())
    trimmed(wheels["mlflow_tracing"], [r"^mlflow/"])  # every file of it is in mlflow-skinny too
    total = sum(w.stat().st_size for w in folder.glob("*.whl"))
    print(f"{len(wheels)} wheels, {total / 1e6:.1f} MB in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
