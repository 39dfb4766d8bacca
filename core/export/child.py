"""An export from the studio, run in a child process: merging and the self-check load models, and a model must never
load into the studio's own process (its memory stays flat; a crash there does not take the page down).

    result = export_in_child(run_id, "merged", out_dir, name, progress=print)

The child is the command line itself (`python -m core export --run RUN ... --result-json FILE`): its printed lines
are the progress, the JSON file its result.
"""

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from core.export.export import ExportError, ExportResult
from core.export.selfcheck import DEFAULT_QUESTIONS, SelfCheck
from core.paths import PROJECT_ROOT


def result_json(result: ExportResult) -> str:
    return json.dumps(
        {
            "path": str(result.path),
            "summary": result.summary,
            "command": result.command,
            "check": asdict(result.check) if result.check is not None else None,
        }
    )


def _result(text: str) -> ExportResult:
    data = json.loads(text)
    check = SelfCheck(**data["check"]) if data.get("check") else None
    return ExportResult(Path(data["path"]), data["summary"], data.get("command", ""), check)


def export_in_child(
    run_id: str,
    fmt: str,
    out_dir: Path,
    name: str = "",
    progress=print,
    gguf_type: str = "f16",
    questions: int = DEFAULT_QUESTIONS,
) -> ExportResult:
    """The export of `core.export.export`, in a child process; raises ExportError with the child's own message."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [
            sys.executable,
            "-m",
            "core",
            "export",
            "--run",
            run_id,
            "--format",
            fmt,
            "--out",
            str(out_dir),
            "--gguf-type",
            gguf_type,
            "--check",
            str(questions),
            "--result-json",
            str(out),
        ] + (["--name", name] if name else [])
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        last = ""
        for line in process.stdout:
            line = line.rstrip()
            if line:
                last = line
                progress(line)
        code = process.wait()
        if code != 0 or not out.exists():
            raise ExportError(last.removeprefix("error: ") or f"the export process ended with code {code}")
        return _result(out.read_text(encoding="utf-8"))
