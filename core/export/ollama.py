"""Serving an adapter through Ollama: a Modelfile whose TEMPLATE and SYSTEM reproduce the training prompt, and
GGUF conversion when llama.cpp's converter is installed.

The TEMPLATE is ChatML in Ollama's Go-template syntax, using only `{{ if .X }}...{{ end }}` and `{{ .X }}`.
`render_template` interprets exactly those constructs, so the export can check (and the tests prove) that
Ollama would build the same prompt string the model was trained on.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from core.paths import safe_name
from core.prompt_record import PromptRecord

CHATML_TEMPLATE = (
    "{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}"
    "{{ if .Prompt }}<|im_start|>user\n{{ .Prompt }}<|im_end|>\n{{ end }}"
    "<|im_start|>assistant\n{{ .Response }}<|im_end|>\n"
)
CONVERTER_ENV = "LLAMA_CPP_CONVERTER"  # path to llama.cpp's convert_hf_to_gguf.py
CONVERTER_NAMES = ("convert_hf_to_gguf.py", "convert_hf_to_gguf", "convert-hf-to-gguf.py")
INSTALL_HINT = (
    "GGUF conversion needs llama.cpp's converter, which was not found. To get a GGUF file: clone llama.cpp "
    "(ggml-org/llama.cpp on GitHub), run "
    "`pip install -r requirements/requirements-convert_hf_to_gguf.txt` there, "
    f"then set {CONVERTER_ENV} to its convert_hf_to_gguf.py (or put that script on PATH) and export again. "
    "Without it the bundle points Ollama at the merged safetensors folder, which Ollama imports itself."
)
_ACTION = re.compile(r"\{\{\s*(.*?)\s*\}\}", re.S)


class ConversionError(ValueError):
    """llama.cpp's converter was found but failed."""


class TemplateMismatch(ValueError):
    """The model's chat template is not ChatML, so the Ollama template would not match training."""


def render_template(template: str, values: dict[str, str]) -> str:
    """Render the subset of Go templates we emit: `{{ .Name }}` and `{{ if .Name }} ... {{ end }}` (nestable).
    Anything else raises ValueError, so a template change this renderer does not cover cannot pass a test."""
    out: list[str] = []
    stack: list[bool] = []  # one entry per open `if`: is its body being emitted?
    position = 0
    for match in _ACTION.finditer(template):
        emitting = all(stack)
        if emitting:
            out.append(template[position:match.start()])
        position = match.end()
        action = match.group(1)
        if m := re.fullmatch(r"if \.(\w+)", action):
            stack.append(bool(values.get(m.group(1))))
        elif action == "end":
            if not stack:
                raise ValueError("{{ end }} without {{ if }}")
            stack.pop()
        elif m := re.fullmatch(r"\.(\w+)", action):
            if emitting:
                out.append(values.get(m.group(1), ""))
        else:
            raise ValueError(f"unsupported template action {{{{ {action} }}}}")
    if stack:
        raise ValueError("{{ if }} without {{ end }}")
    out.append(template[position:])
    return "".join(out)


def ollama_prompt(record: PromptRecord, question: str) -> str:
    """The prompt Ollama builds for one question: the template up to the assistant's (empty) answer."""
    values = {"System": record.system_prompt, "Prompt": question, "Response": ""}
    return render_template(CHATML_TEMPLATE, values).removesuffix("<|im_end|>\n")


def check_chat_template(tokenizer, record: PromptRecord, question: str = "How many rows are there?") -> None:
    """Raise TemplateMismatch unless the tokenizer's chat template (what training used) renders the same
    prompt as the Modelfile's TEMPLATE."""
    from core.data import ensure_chat_template

    ensure_chat_template(tokenizer)
    trained = tokenizer.apply_chat_template(record.prompt_messages(question), tokenize=False,
                                            add_generation_prompt=True)
    if trained != ollama_prompt(record, question):
        raise TemplateMismatch("This model's chat template is not plain ChatML, so an Ollama TEMPLATE "
                               "written by the studio would not reproduce the training prompt. Export the "
                               "merged model or the adapter instead and write the Modelfile's TEMPLATE for "
                               "this model's format.")


def ollama_model_name(name: str) -> str:
    """Ollama model names are lower case."""
    return safe_name(name).lower()


def modelfile(record: PromptRecord, weights: str) -> str:
    """The Modelfile text. `weights` is FROM's target, relative to the Modelfile (a GGUF file or a folder)."""
    system = record.system_prompt
    if '"""' in system:
        raise ValueError('The system prompt contains """, which a Modelfile cannot quote. Remove it from the '
                         "system prompt template or the schema and train again.")
    return (f"# Written by SQL Tune Studio. Base model: {record.base_model}; dialect: {record.dialect}; "
            f"schema hash: {record.schema_hash}.\n"
            f"FROM {weights}\n\n"
            f'TEMPLATE """{CHATML_TEMPLATE}"""\n\n'
            f'SYSTEM """{system}"""\n\n'
            'PARAMETER stop "<|im_end|>"\n'
            'PARAMETER stop "<|im_start|>"\n'
            "PARAMETER temperature 0\n")


def find_converter() -> list[str] | None:
    """The command that runs llama.cpp's HF-to-GGUF converter, or None when it is not installed."""
    configured = os.environ.get(CONVERTER_ENV, "").strip()
    candidates = [configured] if configured else [shutil.which(n) for n in CONVERTER_NAMES]
    for found in candidates:
        if found and Path(found).is_file():
            return [sys.executable, found] if found.endswith(".py") else [found]
    return None


def convert_to_gguf(model_dir: Path, target: Path, progress=print) -> Path | None:
    """Convert a merged safetensors folder to one 16-bit GGUF file; None (after saying why) when no converter
    is installed. Nothing is downloaded."""
    command = find_converter()
    if command is None:
        progress(INSTALL_HINT)
        return None
    progress(f"converting to GGUF with {Path(command[-1]).name} ...")
    result = subprocess.run([*command, str(model_dir), "--outfile", str(target), "--outtype", "f16"],
                            capture_output=True, text=True)
    if result.returncode != 0 or not target.exists():
        last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ConversionError(f"The GGUF converter failed (exit {result.returncode}): {last[0][:300]}. "
                              "Install its requirements (llama.cpp's requirements-convert_hf_to_gguf.txt), "
                              f"or unset {CONVERTER_ENV} (or take the script off PATH) to export without a "
                              "GGUF file.")
    return target
