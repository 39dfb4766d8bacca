"""Take an adapter out of the studio: a zip with a README, a merged 16-bit model, or an Ollama bundle.

    source = source_from_run(run_id)               # or source_from_adapter("data/outputs/JOB/adapter")
    result = export(source, "zip", out_dir, "sales-sql", progress=print)   # "zip" | "merged" | "ollama"

Every output is written under a temporary name and renamed when complete, and an existing output is never
overwritten. Merging runs on the CPU (it shares the CPU with a CPU training run, never the GPU's memory).
"""

import json
import shutil
import zipfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from core.config import BUNDLED_MODEL
from core.export.readme import BUNDLED_NOTE, adapter_readme, merged_readme, ollama_readme
from core.paths import safe_name
from core.prompt_record import PROMPT_FILE, PromptRecord

FORMATS = {"zip": "LoRA adapter (.zip with README)", "merged": "merged model, 16-bit safetensors",
           "ollama": "Ollama bundle (Modelfile + weights)"}
BUNDLED_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"  # the model the bundled GGUF was made from


class ExportError(ValueError):
    """An export that cannot be made as asked. The message says why and what to do."""


@dataclass
class ExportSource:
    adapter_dir: Path
    base_model: str  # the studio's model choice: bundled, a Hub id or a local folder
    record: PromptRecord | None  # the training prompt, when known
    label: str  # for messages and default names


@dataclass
class ExportResult:
    path: Path  # the zip file or the output folder
    summary: str
    command: str = ""  # the `ollama create` line for Ollama bundles


def _check_adapter(folder: Path) -> Path:
    if not (folder / "adapter_config.json").exists():
        raise ExportError(f"No LoRA adapter (adapter_config.json) in {folder}. Give the adapter folder a "
                          "training run saved (data/outputs/JOB/adapter) or use --run RUN_ID.")
    return folder


def source_from_adapter(path: str | Path, model: str | None = None, record: PromptRecord | None = None,
                        label: str = "") -> ExportSource:
    """An adapter folder. Its studio_prompt.json (written by training) gives the base model and prompt."""
    folder = _check_adapter(Path(path).expanduser())
    record = record or PromptRecord.load(folder)
    config = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))
    base = model or (record.base_model if record else "") or config.get("base_model_name_or_path") or ""
    if not base:
        raise ExportError(f"The adapter in {folder} does not say which base model it belongs to: "
                          "give --model.")
    if record and model:
        record.base_model = model
    return ExportSource(folder, base, record, label or folder.parent.name or folder.name)


def source_from_run(run_id: str, tracking_uri: str | None = None) -> ExportSource:
    """A training run's adapter; its prompt comes from the adapter folder, else from the run's config.json."""
    from core.tracking import get_run, run_adapter, run_config

    run = get_run(run_id, tracking_uri)
    folder = run_adapter(run_id, tracking_uri)
    record = PromptRecord.load(folder)
    if record is None and (cfg := run_config(run_id, tracking_uri)) is not None:
        try:
            record = PromptRecord.from_config(cfg)
        except (OSError, ValueError):  # the schema file has moved since training: export without the prompt
            record = None
    return source_from_adapter(folder, None if record else run.data.params.get("cfg.model"), record,
                               label=run.info.run_name or run_id)


def portable_base(base_model: str) -> str:
    """The base model as another machine can find it: a Hub id, or a local folder as the user named it."""
    return BUNDLED_HUB_ID if base_model in (BUNDLED_MODEL, "bundled") else base_model


def _new_target(out_dir: Path, file_name: str) -> Path:
    target = Path(out_dir).expanduser() / file_name
    if target.exists():
        raise ExportError(f"{target} already exists. Choose another name (--name) or move it away first.")
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _write_prompt_files(folder: Path, record: PromptRecord | None) -> None:
    if record is not None:
        record.save(folder)
        (folder / "system_prompt.txt").write_text(record.system_prompt, encoding="utf-8")


def export_zip(src: ExportSource, out_dir: Path, name: str, progress=print) -> ExportResult:
    """<name>-adapter.zip: <name>/README.md, system_prompt.txt and adapter/ (base model named portably)."""
    target = _new_target(out_dir, f"{name}-adapter.zip")
    base = portable_base(src.base_model)
    note = BUNDLED_NOTE if base == BUNDLED_HUB_ID else ""
    progress(f"zipping the adapter of {src.label} ...")
    partial = target.with_name(target.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(p for p in src.adapter_dir.iterdir() if p.is_file()):
            if file.name == "adapter_config.json":
                config = json.loads(file.read_text(encoding="utf-8"))
                config["base_model_name_or_path"] = base  # never this machine's cache path
                zf.writestr(f"{name}/adapter/{file.name}", json.dumps(config, indent=2))
            elif file.name not in (PROMPT_FILE, "README.md"):  # peft's model card names this machine's paths
                zf.write(file, f"{name}/adapter/{file.name}")
        if src.record is not None:
            record = replace(src.record, base_model=base)
            zf.writestr(f"{name}/adapter/{PROMPT_FILE}", json.dumps(asdict(record), indent=1))
            zf.writestr(f"{name}/system_prompt.txt", record.system_prompt)
        zf.writestr(f"{name}/README.md", adapter_readme(name, base, src.record, note))
    partial.rename(target)
    return ExportResult(target, f"Adapter zip written: {target} ({target.stat().st_size / 1e6:.1f} MB).")


def _tokenizer_source(src: ExportSource) -> str:
    """The tokenizer training saved next to the adapter (with its chat template), else the base model's."""
    from core.train import resolve_model

    if (src.adapter_dir / "tokenizer_config.json").exists():
        return str(src.adapter_dir)
    return resolve_model(src.base_model)


def merge_into(src: ExportSource, folder: Path, dtype: str = "float16", progress=print) -> None:
    """Merge the adapter into the base weights (float32 on the CPU, then cast) and save a complete model."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from core.data import ensure_chat_template
    from core.train import resolve_model

    progress(f"loading the base model {src.base_model} on the CPU ...")
    base = AutoModelForCausalLM.from_pretrained(resolve_model(src.base_model, progress), dtype=torch.float32)
    progress("merging the adapter into the weights ...")
    model = PeftModel.from_pretrained(base, str(src.adapter_dir)).merge_and_unload()
    progress(f"saving the merged model ({dtype}) ...")
    model.to(getattr(torch, dtype)).save_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(_tokenizer_source(src))
    ensure_chat_template(tokenizer)
    tokenizer.save_pretrained(folder)
    del model, base


def export_merged(src: ExportSource, out_dir: Path, name: str, dtype: str = "float16",
                  progress=print) -> ExportResult:
    """<name>-merged-f16/: the adapter merged into the base model, 16-bit safetensors, tokenizer and README.
    float16 has 3 more mantissa bits than bfloat16: in our round-trip checks it kept the adapter's greedy
    answers where bfloat16 changed one of three. Pick bfloat16 for models whose weights need its range."""
    if dtype not in ("float16", "bfloat16"):
        raise ExportError(f"Unknown dtype {dtype!r}: use float16 or bfloat16.")
    target = _new_target(out_dir, f"{name}-merged-{'f16' if dtype == 'float16' else 'bf16'}")
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    merge_into(src, partial, dtype, progress)
    _write_prompt_files(partial, src.record)
    readme = merged_readme(target.name, portable_base(src.base_model), dtype, src.record)
    (partial / "README.md").write_text(readme, encoding="utf-8")
    partial.rename(target)
    size = sum(f.stat().st_size for f in target.iterdir()) / 1e6
    return ExportResult(target, f"Merged model written: {target} ({size:.0f} MB, {dtype} safetensors).")


def export_ollama(src: ExportSource, out_dir: Path, name: str, progress=print) -> ExportResult:
    """<name>-ollama/: Modelfile + README + the merged weights (a GGUF file when llama.cpp's converter is
    installed, else the merged safetensors folder, which `ollama create` imports)."""
    from transformers import AutoTokenizer

    from core.export.ollama import check_chat_template, convert_to_gguf, modelfile, ollama_model_name

    if src.record is None:
        raise ExportError("The training prompt of this adapter is unknown (no studio_prompt.json), so a "
                          "Modelfile cannot reproduce it. Export it from its training run, or on the command "
                          "line give --schema and --dialect.")
    # Before minutes of merging: refuse what the Modelfile cannot express (another chat format, a system
    # prompt with triple quotes).
    check_chat_template(AutoTokenizer.from_pretrained(_tokenizer_source(src)), src.record)
    modelfile(src.record, "./merged")
    target = _new_target(out_dir, f"{name}-ollama")
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    merge_into(src, partial / "merged", "float16", progress)
    gguf = convert_to_gguf(partial / "merged", partial / "model-f16.gguf", progress)
    if gguf is not None:
        shutil.rmtree(partial / "merged")  # the GGUF file has the same weights; keep the bundle half the size
    weights = "./model-f16.gguf" if gguf else "./merged"
    gguf_note = "" if gguf else ("No GGUF file: llama.cpp's converter was not installed at export time; "
                                 "Ollama imports the safetensors folder itself.")
    model_name = ollama_model_name(name)
    (partial / "Modelfile").write_text(modelfile(src.record, weights), encoding="utf-8")
    _write_prompt_files(partial, src.record)
    (partial / "README.md").write_text(ollama_readme(target.name, model_name, weights, src.record, gguf_note),
                                       encoding="utf-8")
    partial.rename(target)
    command = f'cd "{target}" && ollama create {model_name} -f Modelfile'
    summary = f"Ollama bundle written: {target} (FROM {weights}). {gguf_note}".strip()
    return ExportResult(target, summary, command)


def export(src: ExportSource, fmt: str, out_dir: Path, name: str = "", progress=print) -> ExportResult:
    """One export in the given format; the name is sanitised (defaults to the source's label)."""
    name = safe_name(name or src.label)
    if fmt == "zip":
        return export_zip(src, out_dir, name, progress)
    if fmt == "merged":
        return export_merged(src, out_dir, name, progress=progress)
    if fmt == "ollama":
        return export_ollama(src, out_dir, name, progress)
    raise ExportError(f"Unknown export format {fmt!r}: use one of {', '.join(FORMATS)}.")
