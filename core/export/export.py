"""Take an adapter out of the studio: a zip with a README, a merged 16-bit model, a GGUF file, or an Ollama
bundle.

    source = source_from_run(run_id)               # or source_from_adapter("data/outputs/JOB/adapter")
    result = export(source, "ollama", out_dir, "sales-sql", progress=print)   # zip | merged | gguf | ollama
    result.check.summary()                         # merged and GGUF exports check themselves (core.export.selfcheck)

Every output is written under a temporary name and renamed when complete, and an existing output is never
overwritten. Merging runs on the CPU (it shares the CPU with a CPU training run, never the GPU's memory).
Progress lines of the long steps start with a word of STAGES, which the Runs tab shows with the elapsed time.
"""

import json
import shutil
import zipfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from core.data import ensure_chat_template
from core.defaults import BUNDLED_MODEL
from core.export.converter import GGUF_TYPES, INSTALL_HINT, convert_to_gguf, find_converter
from core.export.merge import check_mergeable, merge_files
from core.export.ollama import check_chat_template, modelfile, ollama_model_name
from core.export.readme import BUNDLED_NOTE, adapter_readme, gguf_readme, merged_readme, ollama_readme
from core.export.selfcheck import DEFAULT_QUESTIONS, SelfCheck, self_check, tag_run
from core.paths import safe_name
from core.prompt_record import PROMPT_FILE, PromptRecord
from core.tracking import get_run, run_adapter, run_prompt_record
from core.train import resolve_model

FORMATS = {
    "zip": "LoRA adapter (.zip with README)",
    "merged": "merged model, 16-bit safetensors",
    "gguf": "GGUF file (llama.cpp, LM Studio, Ollama)",
    "ollama": "Ollama bundle (Modelfile + GGUF file)",
}
STAGES = ("loading", "merging", "writing", "converting", "checking")  # first words of the long steps' lines
BUNDLED_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"  # the model the bundled GGUF was made from


class ExportError(ValueError):
    """An export that cannot be made as asked. The message says why and what to do."""


@dataclass
class ExportSource:
    adapter_dir: Path
    base_model: str  # the studio's model choice: bundled, a Hub id or a local folder
    record: PromptRecord | None  # the training prompt, when known
    label: str  # for messages and default names
    run_id: str = ""  # the MLflow training run, when exported from one (its split.json, its tags)


@dataclass
class ExportResult:
    path: Path  # the zip file or the output folder
    summary: str
    command: str = ""  # the `ollama create` line for Ollama bundles
    check: SelfCheck | None = None  # merged and GGUF exports: the exported model against the adapter


def _check_adapter(folder: Path) -> Path:
    if not (folder / "adapter_config.json").exists():
        raise ExportError(
            f"No LoRA adapter (adapter_config.json) in {folder}. Give the adapter folder a "
            "training run saved (data/outputs/JOB/adapter) or use --run RUN_ID."
        )
    return folder


def source_from_adapter(
    path: str | Path, model: str | None = None, record: PromptRecord | None = None, label: str = ""
) -> ExportSource:
    """An adapter folder. Its studio_prompt.json (written by training) gives the base model and prompt."""
    folder = _check_adapter(Path(path).expanduser())
    record = record or PromptRecord.load(folder)
    config = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))
    base = model or (record.base_model if record else "") or config.get("base_model_name_or_path") or ""
    if not base:
        raise ExportError(
            f"The adapter in {folder} does not say which base model it belongs to: give --model."
        )
    if record and model:
        record.base_model = model
    return ExportSource(folder, base, record, label or folder.parent.name or folder.name)


def source_from_run(run_id: str, tracking_uri: str | None = None) -> ExportSource:
    """A training run's adapter; its prompt comes from the adapter folder, else from the run's config.json."""

    run = get_run(run_id, tracking_uri)
    folder = run_adapter(run_id, tracking_uri)
    record = run_prompt_record(run_id, tracking_uri, folder)
    source = source_from_adapter(
        folder,
        None if record else run.data.params.get("cfg.model"),
        record,
        label=run.info.run_name or run_id,
    )
    source.run_id = run.info.run_id
    return source


def portable_base(base_model: str) -> str:
    """The base model as another machine can find it: a Hub id, or a local folder as the user named it."""
    return BUNDLED_HUB_ID if base_model in (BUNDLED_MODEL, "bundled") else base_model


@contextmanager
def _partial(target: Path, make: bool = True):
    """The folder an export is written into (target.partial), renamed to target at the end. On failure it is
    removed: a half-written 7B export is 15 GB of nothing."""
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    if make:
        partial.mkdir()
    try:
        yield partial
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    partial.rename(target)


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

    if (src.adapter_dir / "tokenizer_config.json").exists():
        return str(src.adapter_dir)
    return resolve_model(src.base_model)


def stage_of(line: str) -> str:
    """The stage a progress line starts (one of STAGES), or ""."""
    first = str(line).split(" ", 1)[0].rstrip(":").lower()
    return first if first in STAGES else ""


def merge_into(src: ExportSource, folder: Path, dtype: str = "float16", progress=print) -> None:
    """Merge the adapter into the base weights and save a complete 16-bit model (core.export.merge: tensor by
    tensor, so a 7B model never has to fit in host memory whole; a 4-bit base is dequantized first). Its progress
    lines start with "loading", "merging" and "writing" (STAGES: the Runs tab shows them)."""
    from transformers import AutoTokenizer

    check_mergeable(src.adapter_dir)  # before the base model is fetched or converted
    progress(f"loading the base model {src.base_model} ...")
    merge_files(_base_folder(src.base_model, progress), src.adapter_dir, folder, dtype, progress)
    progress(f"writing the tokenizer and the model's files ({dtype}) ...")
    tokenizer = AutoTokenizer.from_pretrained(_tokenizer_source(src))
    ensure_chat_template(tokenizer)
    tokenizer.save_pretrained(folder)


def _base_folder(model: str, progress) -> Path:
    """The base model's files on disk (a Hub id is downloaded into the Hugging Face cache first, when online)."""

    source = resolve_model(model, progress)
    if Path(source).is_dir():
        return Path(source)
    from huggingface_hub import snapshot_download

    progress(f"loading: downloading {model} from the Hugging Face Hub ...")
    return Path(snapshot_download(source))


def _checked(
    src: ExportSource, fmt: str, model_dir: Path, gguf_file: Path | None, questions: int, progress
) -> SelfCheck:
    check = self_check(src, model_dir, gguf_file, questions, progress)
    progress(check.summary())
    return check


def _size_mb(path: Path) -> float:
    files = [path] if path.is_file() else [f for f in path.rglob("*") if f.is_file()]
    return sum(f.stat().st_size for f in files) / 1e6


def export_merged(
    src: ExportSource,
    out_dir: Path,
    name: str,
    dtype: str = "float16",
    progress=print,
    questions: int = DEFAULT_QUESTIONS,
) -> ExportResult:
    """<name>-merged-f16/: the adapter merged into the base model, 16-bit safetensors, tokenizer and README.
    float16 has 3 more mantissa bits than bfloat16: in our round-trip checks it kept the adapter's greedy
    answers where bfloat16 changed one of three. Pick bfloat16 for models whose weights need its range."""
    if dtype not in ("float16", "bfloat16"):
        raise ExportError(f"Unknown dtype {dtype!r}: use float16 or bfloat16.")
    target = _new_target(out_dir, f"{name}-merged-{'f16' if dtype == 'float16' else 'bf16'}")
    with _partial(target, make=False) as partial:
        merge_into(src, partial, dtype, progress)
        _write_prompt_files(partial, src.record)
        check = _checked(src, "merged", partial, None, questions, progress)
        readme = merged_readme(
            target.name, portable_base(src.base_model), dtype, src.record, check.markdown()
        )
        (partial / "README.md").write_text(readme, encoding="utf-8")
    tag_run(src.run_id, "merged", check, progress)
    summary = (
        f"Merged model written: {target} ({_size_mb(target):.0f} MB, {dtype} safetensors). {check.summary()}"
    )
    return ExportResult(target, summary, check=check)


def _converter_or_refusal(required: bool) -> bool:
    """Is a converter installed? Decided before minutes of merging; a required one that is missing, or a
    LLAMA_CPP_CONVERTER naming no file, is refused with what to do."""
    installed = find_converter() is not None  # ConversionError (a ValueError) for a bad LLAMA_CPP_CONVERTER
    if required and not installed:
        raise ExportError(INSTALL_HINT)
    return installed


def export_gguf(
    src: ExportSource,
    out_dir: Path,
    name: str,
    gguf_type: str = "f16",
    progress=print,
    questions: int = DEFAULT_QUESTIONS,
) -> ExportResult:
    """<name>-gguf/: <name>-<type>.gguf (llama.cpp's converter; the chat template travels in its metadata),
    README with the prompt format and the self-check, system_prompt.txt."""
    _converter_or_refusal(required=True)
    target = _new_target(out_dir, f"{name}-gguf")
    with _partial(target) as partial:
        merge_into(src, partial / "merged", "float16", progress)
        gguf = convert_to_gguf(partial / "merged", partial / f"{name}-{gguf_type}.gguf", gguf_type, progress)
        if gguf is None:  # the converter went away since the start
            raise ExportError(INSTALL_HINT)
        check = _checked(src, "gguf", partial / "merged", gguf, questions, progress)
        shutil.rmtree(partial / "merged")  # the GGUF file holds the same weights
        _write_prompt_files(partial, src.record)
        readme = gguf_readme(
            target.name, gguf.name, gguf_type, portable_base(src.base_model), src.record, check.markdown()
        )
        (partial / "README.md").write_text(readme, encoding="utf-8")
    tag_run(src.run_id, "gguf", check, progress)
    file = target / gguf.name
    summary = f"GGUF file written: {file} ({_size_mb(file):.0f} MB, {gguf_type}). {check.summary()}"
    return ExportResult(target, summary, check=check)


def export_ollama(
    src: ExportSource,
    out_dir: Path,
    name: str,
    gguf_type: str = "f16",
    progress=print,
    questions: int = DEFAULT_QUESTIONS,
) -> ExportResult:
    """<name>-ollama/: Modelfile + README + the weights: a GGUF file (f16 or q8_0) from llama.cpp's converter,
    or, when it is not installed, the merged safetensors folder, which `ollama create` imports itself."""
    from transformers import AutoTokenizer

    if src.record is None:
        raise ExportError(
            "The training prompt of this adapter is unknown (no studio_prompt.json), so a "
            "Modelfile cannot reproduce it. Export it from its training run, or on the command "
            "line give --schema and --dialect."
        )
    # Before minutes of merging: refuse what the Modelfile cannot express (another chat format, a system
    # prompt with triple quotes) and a converter configured where there is none.
    check_chat_template(AutoTokenizer.from_pretrained(_tokenizer_source(src)), src.record)
    modelfile(src.record, "./merged")
    _converter_or_refusal(required=False)
    target = _new_target(out_dir, f"{name}-ollama")
    model_name = ollama_model_name(name)
    with _partial(target) as partial:
        merge_into(src, partial / "merged", "float16", progress)
        gguf = convert_to_gguf(partial / "merged", partial / f"model-{gguf_type}.gguf", gguf_type, progress)
        check = _checked(src, "ollama", partial / "merged", gguf, questions, progress)
        if gguf is not None:
            shutil.rmtree(
                partial / "merged"
            )  # the GGUF file has the same weights; the bundle is half the size
        weights = f"./{gguf.name}" if gguf else "./merged"
        gguf_note = (
            ""
            if gguf
            else (
                "No GGUF file: llama.cpp's converter was not installed at export time; "
                "Ollama imports the safetensors folder itself."
            )
        )
        (partial / "Modelfile").write_text(modelfile(src.record, weights), encoding="utf-8")
        _write_prompt_files(partial, src.record)
        readme = ollama_readme(target.name, model_name, weights, src.record, gguf_note, check.markdown())
        (partial / "README.md").write_text(readme, encoding="utf-8")
    tag_run(src.run_id, "ollama", check, progress)
    command = f'cd "{target}" && ollama create {model_name} -f Modelfile'
    summary = (
        f"Ollama bundle written: {target} (FROM {weights}, {_size_mb(target):.0f} MB). {gguf_note} "
        f"{check.summary()}"
    )
    return ExportResult(target, " ".join(summary.split()), command, check)


def export(
    src: ExportSource,
    fmt: str,
    out_dir: Path,
    name: str = "",
    progress=print,
    gguf_type: str = "f16",
    questions: int = DEFAULT_QUESTIONS,
) -> ExportResult:
    """One export in the given format; the name is sanitised (defaults to the source's label). Merged and GGUF
    exports then ask `questions` held-out questions of the export and of the adapter (0: no self-check)."""
    name = safe_name(name or src.label)
    if gguf_type not in GGUF_TYPES:
        raise ExportError(f"Unknown GGUF type {gguf_type!r}: use {' or '.join(GGUF_TYPES)}.")
    if fmt == "zip":
        return export_zip(src, out_dir, name, progress)
    if fmt == "merged":
        return export_merged(src, out_dir, name, progress=progress, questions=questions)
    if fmt == "gguf":
        return export_gguf(src, out_dir, name, gguf_type, progress, questions)
    if fmt == "ollama":
        return export_ollama(src, out_dir, name, gguf_type, progress, questions)
    raise ExportError(f"Unknown export format {fmt!r}: use one of {', '.join(FORMATS)}.")
