"""The Ollama Modelfile reproduces the training prompt byte for byte; names users give are made safe. (GGUF
conversion: tests/export/test_gguf_setup.py.)"""

import re

import pytest

from core.data import build_messages, load_pairs, render_example
from core.export.ollama import (
    CHATML_TEMPLATE,
    TemplateMismatch,
    check_chat_template,
    modelfile,
    ollama_model_name,
    ollama_prompt,
    render_template,
)
from core.paths import UnsafeNameError, safe_name
from core.prompt_record import PromptRecord
from tests.conftest import ROOT
from tests.lora_adapter import sample_record


def quoted(text: str, keyword: str) -> str:
    return re.search(rf'^{keyword} """(.*?)"""$', text, re.S | re.M).group(1)


def test_modelfile_template_renders_exactly_the_training_prompt(tokenizer):
    record = sample_record()
    text = modelfile(record, "./merged")
    template, system = quoted(text, "TEMPLATE"), quoted(text, "SYSTEM")
    assert system == record.system_prompt and "CREATE TABLE sales" in system
    pairs = load_pairs(ROOT / "assets" / "sample_pairs.jsonl")[:6]
    for pair in pairs:
        messages = build_messages(pair, record.system_template, record.dialect, record.schema_text)
        trained = render_example(messages, tokenizer)
        values = {"System": system, "Prompt": pair.question, "Response": pair.sql}
        rendered = render_template(template, values)
        assert rendered == trained.text  # the whole training string, answer and end-of-turn included
        # What Ollama sends the model: the template up to the (empty) answer, ending with the assistant's
        # opening.
        opening = render_template(template, {**values, "Response": ""}).removesuffix("<|im_end|>\n")
        assert opening == trained.prompt_text == ollama_prompt(record, pair.question)
        assert trained.prompt_text.endswith("<|im_start|>assistant\n")
    assert 'PARAMETER stop "<|im_end|>"' in text and "PARAMETER temperature 0" in text
    assert re.search(r"^FROM \./merged$", text, re.M)


def test_template_renderer_covers_only_what_we_emit():
    nested = "{{ if .A }}a{{ if .B }}b{{ end }}{{ end }}-{{ .C }}"
    assert render_template(nested, {"A": "1", "C": "c"}) == "a-c"
    assert (
        render_template(CHATML_TEMPLATE, {"Prompt": "q"})
        == "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n<|im_end|>\n"
    )
    for bad in ("{{ range .Messages }}x{{ end }}", "{{ if .A }}", "{{ end }}", "{{- .A }}"):
        with pytest.raises(ValueError):
            render_template(bad, {"A": "1"})


def test_a_non_chatml_model_is_refused_before_merging(tokenizer):
    saved = tokenizer.chat_template
    try:
        tokenizer.chat_template = (
            "{% for m in messages %}<|start_header_id|>{{ m['role'] }}"
            "<|end_header_id|>\n\n{{ m['content'] }}<|eot_id|>{% endfor %}"
        )
        with pytest.raises(TemplateMismatch, match="not plain ChatML"):
            check_chat_template(tokenizer, sample_record())
    finally:
        tokenizer.chat_template = saved
    check_chat_template(tokenizer, sample_record())  # the bundled model's own template passes


def test_triple_quotes_in_the_system_prompt_are_refused():
    record = PromptRecord("bundled", 'Say """hi""" in {dialect}. {schema}', "postgres", "")
    with pytest.raises(ValueError, match='contains """'):
        modelfile(record, "./merged")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd", "etc-passwd"),
        ("/abs/path/model", "abs-path-model"),
        ("sales sql v1", "sales-sql-v1"),
        ("bad\x00name\n\x1b[31m", "bad-name-31m"),
        ("v1.2_final", "v1.2_final"),
        ("a..b", "a-b"),
        ("été", "ete"),
        ("C:\\Users\\x", "C-Users-x"),
        ("x" * 100, "x" * 64),
    ],
)
def test_safe_name_cleans_paths_and_control_characters(given, expected):
    assert safe_name(given) == expected


@pytest.mark.parametrize("given", ["", "   ", "..", "/", "\x00\x01", "../.."])
def test_safe_name_rejects_names_with_nothing_usable(given):
    with pytest.raises(UnsafeNameError, match="letters, digits"):
        safe_name(given)


def test_ollama_names_are_lower_case():
    assert ollama_model_name("Sales SQL/v2") == "sales-sql-v2"
