"""Config validation, the no-gradio-in-core rule, and the CLI's handling of bad input."""

import ast
import subprocess
import sys
from pathlib import Path

from core.config import TrainConfig, validate_config

ROOT = Path(__file__).resolve().parent.parent


def test_default_config_is_valid_and_documented():
    from dataclasses import fields

    assert validate_config(TrainConfig(data_path="x.jsonl")) == {}
    assert all(f.metadata.get("help") for f in fields(TrainConfig))


def test_config_problems_are_per_field():
    cfg = TrainConfig(data_path="", rank=0, alpha=-1, learning_rate=1.0, dialect="klingon",
                      target_modules=["q_proj", "wings"], system_template="{oops}", max_steps="ten")
    problems = validate_config(cfg)
    assert set(problems) == {"data_path", "rank", "alpha", "learning_rate", "dialect", "target_modules",
                             "system_template", "max_steps"}
    assert "between 1 and 512" in problems["rank"] and "wings" in problems["target_modules"]


def test_core_never_imports_gradio_plotly_or_app():
    banned = {"gradio", "plotly", "app"}
    for path in (ROOT / "core").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not {n.split(".")[0] for n in names} & banned, f"{path.name} imports {names}"


def test_core_imports_fast_without_heavy_libraries():
    code = ("import sys, core.cli, core.engine, core.data, core.validate, core.chatml, core.tracking;"
            "print(sorted(m for m in ('torch', 'transformers', 'unsloth', 'trl', 'gradio') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_cli_bad_input_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[{", encoding="utf-8")
    for args in (("validate", str(bad)), ("validate", str(tmp_path / "missing.csv")),
                 ("train", str(bad), "--steps", "1"), ("train", "--rank", "0")):
        result = run_cli(*args)
        assert result.returncode == 2, result
        assert "Traceback" not in result.stderr and result.stderr.startswith("error: ")


def test_cli_validate_exit_codes(tmp_path):
    good = run_cli("validate", str(ROOT / "assets/sample_pairs.jsonl"), "--schema", str(ROOT / "assets/sample_schema.sql"))
    assert good.returncode == 0, good.stderr
    assert "rows: 424" in good.stdout or "rows: " in good.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("question,sql\nDrop it,DROP TABLE sales\n", encoding="utf-8")
    result = run_cli("validate", str(bad))
    assert result.returncode == 1 and "DROP statement changes data" in result.stdout


def test_cli_preview_marks_the_trained_part():
    result = run_cli("preview", str(ROOT / "assets/sample_pairs.jsonl"), "-n", "1")
    assert result.returncode == 0, result.stderr
    assert "<|im_start|>assistant\n>>>SELECT" in result.stdout and "<|im_end|>\n<<<" in result.stdout
