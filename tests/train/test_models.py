"""Model choices checked by the Hugging Face Hub's own rules: its repo-id validation and its offline switch."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.train import ModelError, resolve_model

ROOT = Path(__file__).resolve().parents[2]  # tests/train/ -> the project


def resolve_in_fresh_process(choice: str, tmp_path: Path, **env: str) -> str:
    """resolve_model in a new interpreter: the Hub reads HF_HUB_OFFLINE once, when it is imported."""
    clean = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    code = (
        "from core.train.models import ModelError, resolve_model\n"
        "try:\n    print('resolved:', resolve_model(__import__('sys').argv[1]))\n"
        "except ModelError as e:\n    print('error:', e)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, choice],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, "HF_HUB_CACHE": str(tmp_path / "empty-cache"), **env},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("switch", ["ON", "True"])
def test_hub_offline_switch_in_any_spelling_gives_the_offline_message(tmp_path, switch):
    for choice in ("gpt2", "someone/not-cached-model"):
        answer = resolve_in_fresh_process(choice, tmp_path, HF_HUB_OFFLINE=switch)
        assert (
            answer.startswith(f"error: {choice} is not in the local Hugging Face cache")
            and "offline" in answer
        )


def test_a_hub_id_without_an_owner_is_a_hub_id(tmp_path):
    # online, an uncached id is handed to from_pretrained (which downloads it); nothing is fetched here
    assert resolve_in_fresh_process("gpt2", tmp_path) == "resolved: gpt2"


@pytest.mark.parametrize(
    "choice", ["a/b/c", "./no-such-folder", "~/no-such-folder", "foo--bar", "name.git", "x" * 97]
)
def test_what_the_hub_refuses_as_an_id_is_refused_clearly(choice):
    with pytest.raises(ModelError, match="not a Hugging Face id"):
        resolve_model(choice)
