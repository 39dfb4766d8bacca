"""llama.cpp's HF-to-GGUF converter: put into the environment by the set-up, found by the export, run on a
merged model folder.

    python -m core install-converter           # set-up (`make venv` runs it): fetch and unpack the converter
    convert_to_gguf(merged_dir, target, "f16")  # export: one GGUF file, or None (after saying why) without it

The pinned `llama-cpp-python` source distribution (requirements-converter.txt) carries llama.cpp's
`convert_hf_to_gguf.py` with the `conversion/` package and the `gguf-py/` library of the same llama.cpp commit.
The set-up downloads it with pip (the user's index settings apply; nothing is built) and unpacks only those into
`<environment>/llama.cpp/`. `LLAMA_CPP_CONVERTER` (a convert_hf_to_gguf.py of a llama.cpp checkout) overrides it.
"""

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from core.paths import PROJECT_ROOT

CONVERTER_ENV = (
    "LLAMA_CPP_CONVERTER"  # path to a llama.cpp convert_hf_to_gguf.py, overrides the installed one
)
SCRIPT = "convert_hf_to_gguf.py"
PATH_NAMES = (SCRIPT, "convert_hf_to_gguf", "convert-hf-to-gguf.py")  # also looked for on PATH
PIN_FILE = PROJECT_ROOT / "requirements-converter.txt"
# What the converter needs from the sdist's vendor/llama.cpp/ (LICENSE: llama.cpp's MIT licence travels with it).
WANTED = (SCRIPT, "conversion", "gguf-py", "LICENSE")
GGUF_TYPES = {
    "f16": "16-bit floats: the merged model's own weights, the same answers",
    "q8_0": "8-bit: half the size, answers may differ slightly",
}
INSTALL_HINT = (
    "GGUF conversion needs llama.cpp's converter, which is not installed: the set-up (`make venv`) fetches it "
    "from the package index and could not (offline?). Run `python -m core install-converter` once with network, "
    f"or set {CONVERTER_ENV} to the convert_hf_to_gguf.py of a llama.cpp checkout."
)


class ConversionError(ValueError):
    """The converter is missing where it was configured, or it failed. The message says what to do."""


def converter_home() -> Path:
    """Where the set-up puts the converter: inside the Python environment (the venv), beside its packages."""
    return Path(sys.prefix) / "llama.cpp"


def find_converter() -> Path | None:
    """The converter script: $LLAMA_CPP_CONVERTER, else the set-up's copy, else one on PATH; None when there is
    none. A $LLAMA_CPP_CONVERTER that names no file is an error, not a silent fallback."""
    configured = os.environ.get(CONVERTER_ENV, "").strip()
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise ConversionError(
                f"{CONVERTER_ENV} is set to {configured}, which is not a file. Point it at the "
                f"{SCRIPT} of a llama.cpp checkout, or unset it to use the converter the "
                f"set-up installed ({converter_home() / SCRIPT})."
            )
        return path
    installed = converter_home() / SCRIPT
    if installed.is_file():
        return installed
    found = next((shutil.which(name) for name in PATH_NAMES if shutil.which(name)), None)
    return Path(found) if found else None


def _command_and_env(script: Path) -> tuple[list[str], dict]:
    """Run a .py converter with this Python (it has torch, transformers, numpy, sentencepiece) and its own
    llama.cpp libraries first on the path: gguf-py/ of the same commit, and conversion/ beside the script."""
    if script.suffix != ".py":
        return [str(script)], dict(os.environ)
    paths = [str(p) for p in (script.parent / "gguf-py", script.parent) if p.is_dir()]
    if os.environ.get("PYTHONPATH"):
        paths.append(os.environ["PYTHONPATH"])
    return [sys.executable, str(script)], {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def convert_to_gguf(model_dir: Path, target: Path, gguf_type: str = "f16", progress=print) -> Path | None:
    """Convert a merged safetensors folder to one GGUF file (f16 or q8_0); None, after saying what is missing,
    when no converter is installed. Raises ConversionError when the converter fails."""
    if gguf_type not in GGUF_TYPES:
        raise ConversionError(f"Unknown GGUF type {gguf_type!r}: use {' or '.join(GGUF_TYPES)}.")
    script = find_converter()
    if script is None:
        progress(INSTALL_HINT)
        return None
    progress(f"converting to GGUF ({gguf_type}) with llama.cpp's {script.name} ...")
    command, env = _command_and_env(script)
    result = subprocess.run(
        [*command, str(model_dir), "--outfile", str(target), "--outtype", gguf_type],
        capture_output=True,
        text=True,
        env=env,
    )
    if result.returncode != 0 or not target.exists():
        last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ConversionError(
            f"The GGUF converter {script} failed (exit {result.returncode}): {last[0][:300]}. "
            f"Run the set-up again (`make venv`) to restore it, or unset {CONVERTER_ENV} if it "
            "points at another converter."
        )
    return target


def unpack_converter(sdist: Path, dest: Path) -> Path:
    """Unpack the converter's files from a llama-cpp-python sdist into dest (replacing what was there); returns
    the script. Raises ConversionError when the archive does not hold them."""
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    with tarfile.open(sdist) as archive:
        members = []
        for member in archive.getmembers():
            parts = PurePosixPath(member.name).parts  # llama_cpp_python-X/vendor/llama.cpp/<wanted>/...
            if len(parts) > 3 and parts[1:3] == ("vendor", "llama.cpp") and parts[3] in WANTED:
                member.name = str(PurePosixPath(*parts[3:]))
                members.append(member)
        # the "data" filter refuses absolute paths, links out of the folder and device files
        archive.extractall(partial, members=members, filter="data")
    if not (partial / SCRIPT).is_file() or not (partial / "gguf-py" / "gguf").is_dir():
        shutil.rmtree(partial, ignore_errors=True)
        raise ConversionError(
            f"{sdist.name} has no vendor/llama.cpp/{SCRIPT} with gguf-py/: it is not the "
            f"llama-cpp-python source distribution pinned in {PIN_FILE.name}."
        )
    shutil.rmtree(dest, ignore_errors=True)
    partial.rename(dest)
    return dest / SCRIPT


def install(dest: Path | None = None, progress=print) -> Path:
    """Download the pinned sdist with pip (hash-checked, no dependencies, nothing built) and unpack the
    converter into dest (default: converter_home()). Raises ConversionError when the download fails."""
    dest = dest or converter_home()
    with tempfile.TemporaryDirectory(prefix="llama-cpp-sdist-") as tmp:
        progress(f"downloading the llama.cpp converter ({PIN_FILE.name}) ...")
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                "--require-hashes",
                "-r",
                str(PIN_FILE),
                "-d",
                tmp,
                "--retries",
                "1",
                "--timeout",
                "30",
            ],
            capture_output=True,
            text=True,
        )
        sdists = sorted(Path(tmp).glob("*.tar.gz"))
        if done.returncode != 0 or not sdists:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ConversionError(f"Could not download the llama.cpp converter: {last[0][:300]}")
        script = unpack_converter(sdists[0], dest)
    progress(f"llama.cpp converter installed: {script}")
    return script
