"""Config validation, the no-gradio-in-core rule, and the CLI's handling of bad input."""

import subprocess
import sys
from pathlib import Path

import pytest

from core.config import ConfigError, TrainConfig, validate_config

ROOT = Path(__file__).resolve().parent.parent


def test_default_config_is_valid_and_documented():
    from dataclasses import fields

    assert validate_config(TrainConfig(data_path="x.jsonl")) == {}
    assert all(f.metadata.get("help") for f in fields(TrainConfig))


def test_an_invalid_config_cannot_be_made_and_its_problems_are_per_field():
    with pytest.raises(ConfigError) as refused:
        TrainConfig(
            data_path="",
            rank=0,
            alpha=-1,
            learning_rate=1.0,
            dialect="klingon",
            target_modules=["q_proj", "wings"],
            max_steps="ten",
        )
    problems = refused.value.problems
    assert set(problems) == {"rank", "alpha", "learning_rate", "dialect", "target_modules", "max_steps"}
    assert "between 1 and 512" in problems["rank"] and "wings" in problems["target_modules"]
    # what a start needs beyond the bounds: a data file, a template that can be filled
    assert set(TrainConfig(data_path="", system_template="{oops}").problems()) == {
        "data_path",
        "system_template",
    }


def test_the_train_form_is_built_from_the_configs_fields():
    from dataclasses import fields

    from app import train_form
    from core.settings import GROUPS

    shown = {f.name for f in fields(TrainConfig) if f.metadata.get("label")}
    assert set(train_form.FIELDS) == shown and {"rank", "max_steps", "model"} <= shown
    assert all(f.metadata["group"] in GROUPS for f in fields(TrainConfig))
    assert set(train_form.PLAN_FIELDS) <= shown and set(train_form.SETTING_FIELDS) <= shown
    slider = train_form.setting_component(TrainConfig.__dataclass_fields__["rank"], 16)
    assert slider.label == "LoRA rank" and slider.info == TrainConfig.help(
        "rank"
    )  # label and help in one place
    assert TrainConfig.coerce("load_in_4bit", "auto") is None and TrainConfig.coerce("max_steps", "12") == 12


def test_a_form_value_becomes_its_fields_declared_type():
    """Each field's value is converted by its declared type (pydantic), not by the text of its annotation: an
    optional text field is no boolean, and "false" is False."""
    from dataclasses import dataclass

    from core.settings import Settings

    @dataclass
    class Form(Settings):
        note: str | None = None
        steps: int = 1
        check: bool = True
        quantized: bool | None = None

    assert Form.coerce("note", " kept ") == "kept"  # by the annotation's text, a bool: False
    assert (Form.coerce("steps", "12"), Form.coerce("steps", 12.0), Form.coerce("check", "false")) == (
        12,
        12,
        False,
    )
    assert (Form.coerce("quantized", "auto"), Form.coerce("quantized", "off"), Form.coerce("note", None)) == (
        None,
        False,
        None,
    )
    with pytest.raises(ValueError, match=r"^Input should be a valid integer.*\(got '1e'\)$"):
        Form.coerce("steps", "1e")  # one line, no link to pydantic's pages


def test_a_broken_layer_contract_fails_the_import_linter(tmp_path):
    """The layers in pyproject.toml are enforced: a copy of the project where the data stage imports gradio and
    the training stage imports the evaluation stage fails `lint-imports`, naming both contracts (`make test` runs
    it on the real tree before pytest)."""
    import shutil

    for name in ("core", "app"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    load = tmp_path / "core" / "data" / "load.py"
    load.write_text(load.read_text() + "\nimport gradio  # noqa\n")
    worker = tmp_path / "core" / "train" / "trainer.py"
    worker.write_text(worker.read_text() + "\nfrom core.evaluate import evaluate  # noqa\n")
    linter = Path(sys.executable).parent / "lint-imports"
    clean = subprocess.run([str(linter), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stdout[-2000:]
    broken = subprocess.run([str(linter), "--no-cache"], cwd=tmp_path, capture_output=True, text=True)
    assert broken.returncode != 0
    assert (
        "core.data.load -> gradio" in broken.stdout and "core.train.trainer -> core.evaluate" in broken.stdout
    )


def test_core_imports_fast_without_heavy_libraries():
    code = (
        "import sys, core.cli, core.train, core.data, core.db, core.tracking, core.evaluate, core.export;"
        "print(sorted(m for m in ('torch', 'transformers', 'unsloth', 'trl', 'gradio') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_cli_bad_input_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[{", encoding="utf-8")
    for args in (
        ("validate", str(bad)),
        ("validate", str(tmp_path / "missing.csv")),
        ("train", str(bad), "--steps", "1"),
        ("train", "--rank", "0"),
    ):
        result = run_cli(*args)
        assert result.returncode == 2, result
        assert "Traceback" not in result.stderr and result.stderr.startswith("error: ")


def test_cli_validate_exit_codes(tmp_path):
    good = run_cli(
        "validate",
        str(ROOT / "assets/sample_pairs.jsonl"),
        "--schema",
        str(ROOT / "assets/sample_schema.sql"),
    )
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


def test_every_command_answers_help(capsys):
    """argparse formats help texts with %: a help such as "10%" used to crash `train --help` with a traceback."""
    import pytest

    from core.cli import build_parser, main

    commands = build_parser()._subparsers._group_actions[0].choices  # noqa: SLF001 - the subcommands argparse knows
    for args in (["--help"], *([name, "--help"] for name in commands)):
        with pytest.raises(SystemExit) as done:
            main(args)
        assert done.value.code == 0 and "usage:" in capsys.readouterr().out, args


def test_a_broken_file_is_refused_before_any_model_is_loaded(tmp_path):
    """In a fresh data folder `validate` of a truncated file answers without converting the bundled model first
    (which took 38 s); the model cache stays empty."""
    import os

    truncated = tmp_path / "pairs.jsonl"
    truncated.write_text('{"question": "How many sales?", "sql": "SELECT COUNT(*) FROM sa', encoding="utf-8")
    fresh = tmp_path / "fresh-data"
    result = subprocess.run(
        [sys.executable, "-m", "core", "validate", str(truncated)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "STUDIO_DATA_DIR": str(fresh)},
    )
    assert result.returncode == 2 and "pairs.jsonl: line 1 is not valid JSON" in result.stderr, result.stderr
    assert not (fresh / "models").exists()


def test_the_studio_imports_gradio_without_rewriting_its_type_stubs():
    """Half of `import gradio` is re-parsing every component's source to rewrite its .pyi stubs; the studio skips
    it (app/gradio_import.py) and gradio still builds pages."""
    import subprocess
    import sys

    code = (
        "import app, gradio as gr, gradio.component_meta as m\n"
        "assert m.create_or_modify_pyi.__name__ == '_no_stubs', m.create_or_modify_pyi\n"
        "with gr.Blocks() as demo:\n    gr.Textbox(label='x')\n"
        "print(type(demo).__name__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "Blocks", done.stderr[-2000:]


def test_the_command_shown_under_the_train_form_reproduces_the_form():
    """ "Show the command": the `python -m core train` line, parsed by the command line itself, gives the same
    settings; what the command line cannot say is named."""
    import shlex
    from dataclasses import replace

    from core.cli import _config, build_parser
    from core.cli.command_line import command_for
    from core.config import TrainConfig
    from core.train import recommended_for

    form = TrainConfig(
        **{**recommended_for("bundled", False), "data_path": str(ROOT / "assets" / "sample_pairs.jsonl")},
        schema_path=str(ROOT / "assets" / "sample_schema.sql"),
    )
    form = replace(
        form, learning_rate=0.002, max_steps=120, rank=32, load_in_4bit=False, grpo_steps=3, seed=7
    )
    line = command_for(form, gpu=False)
    assert line.startswith("python -m core train ") and "--lr 0.002" in line and "--grpo-steps 3" in line
    again = _config(build_parser().parse_args(shlex.split(line)[3:]))
    for name in ("learning_rate", "max_steps", "rank", "load_in_4bit", "grpo_steps", "seed", "schema_path"):
        assert getattr(again, name) == getattr(form, name), name
    assert "in the form only: Target modules" in command_for(
        replace(form, target_modules=["q_proj"]), gpu=False
    )


def test_the_number_of_pairs_to_generate_follows_the_machine(monkeypatch):
    """500 on a CPU (what its 10 minutes learn from), 2,000 with a GPU (which trains many more epochs): the Data
    tab's box and `core generate` without --n."""
    from core.cli import build_parser, data_commands
    from core.defaults import pairs_to_generate

    assert (pairs_to_generate(False), pairs_to_generate(True)) == (500, 2000)
    asked = []
    monkeypatch.setattr(data_commands, "gpu_available", lambda: True)
    monkeypatch.setattr(
        data_commands, "connect", lambda source: (_ for _ in ()).throw(ConnectionError("stop"))
    )
    args = build_parser().parse_args(["generate", "--db", "sample"])
    try:
        data_commands.cmd_generate(args)
    except ConnectionError:
        asked.append(args.n)
    assert asked == [2000]
