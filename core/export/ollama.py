"""Serving an adapter through Ollama: a Modelfile whose TEMPLATE and SYSTEM reproduce the training prompt (the
weights it points at come from core.export.converter).

The TEMPLATE is ChatML in Ollama's Go-template syntax, using only `{{ if .X }}...{{ end }}` and `{{ .X }}`.
`render_template` interprets exactly those constructs, so the export can check (and the tests prove) that
Ollama would build the same prompt string the model was trained on.
"""

import re

from core.data import ensure_chat_template
from core.paths import safe_name
from core.prompt_record import PromptRecord

CHATML_TEMPLATE = (
    "{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}"
    "{{ if .Prompt }}<|im_start|>user\n{{ .Prompt }}<|im_end|>\n{{ end }}"
    "<|im_start|>assistant\n{{ .Response }}<|im_end|>\n"
)
_ACTION = re.compile(r"\{\{\s*(.*?)\s*\}\}", re.S)


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
            out.append(template[position : match.start()])
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

    ensure_chat_template(tokenizer)
    trained = tokenizer.apply_chat_template(
        record.prompt_messages(question), tokenize=False, add_generation_prompt=True
    )
    if trained != ollama_prompt(record, question):
        raise TemplateMismatch(
            "This model's chat template is not plain ChatML, so an Ollama TEMPLATE "
            "written by the studio would not reproduce the training prompt. Export the "
            "merged model or the adapter instead and write the Modelfile's TEMPLATE for "
            "this model's format."
        )


def ollama_model_name(name: str) -> str:
    """Ollama model names are lower case."""
    return safe_name(name).lower()


def modelfile(record: PromptRecord, weights: str) -> str:
    """The Modelfile text. `weights` is FROM's target, relative to the Modelfile (a GGUF file or a folder)."""
    system = record.system_prompt
    if '"""' in system:
        raise ValueError(
            'The system prompt contains """, which a Modelfile cannot quote. Remove it from the '
            "system prompt template or the schema and train again."
        )
    return (
        f"# Written by SQL Tune Studio. Base model: {record.base_model}; dialect: {record.dialect}; "
        f"schema hash: {record.schema_hash}.\n"
        f"FROM {weights}\n\n"
        f'TEMPLATE """{CHATML_TEMPLATE}"""\n\n'
        f'SYSTEM """{system}"""\n\n'
        'PARAMETER stop "<|im_end|>"\n'
        'PARAMETER stop "<|im_start|>"\n'
        "PARAMETER temperature 0\n"
    )
