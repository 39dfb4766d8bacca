"""llama.cpp's GGUF converter: the set-up unpacks it from the pinned llama-cpp-python sdist into the environment,
the export finds it there by default, LLAMA_CPP_CONVERTER overrides it (and is named when it points nowhere), and
a missing or failing converter is a message, not a traceback. No model is loaded here."""

import io
import tarfile

import pytest

from core.cli import main
from core.export.converter import (
    CONVERTER_ENV,
    INSTALL_HINT,
    PIN_FILE,
    SCRIPT,
    ConversionError,
    convert_to_gguf,
    converter_home,
    find_converter,
    unpack_converter,
)
from tests.conftest import write
from tests.lora_adapter import random_adapter

SDIST_ROOT = "llama_cpp_python-0.3.36/vendor/llama.cpp"


def test_the_set_up_installed_the_pinned_converter_and_the_export_finds_it(monkeypatch):
    """`make venv` (as `make test` runs it on a fresh clone) ran `python -m core install-converter`."""
    monkeypatch.delenv(CONVERTER_ENV, raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    installed = converter_home() / SCRIPT
    assert installed.is_file(), (
        f"{installed} is missing: the set-up (`make venv`) could not fetch the converter "
        "(offline?). Run `python -m core install-converter` with network."
    )
    assert find_converter() == installed
    assert (installed.parent / "gguf-py" / "gguf" / "gguf_writer.py").is_file()
    assert (installed.parent / "conversion" / "__init__.py").is_file()
    assert (installed.parent / "LICENSE").is_file()  # llama.cpp's MIT licence travels with its code
    assert "llama-cpp-python==" in PIN_FILE.read_text() and "--hash=sha256:" in PIN_FILE.read_text()


def test_an_override_naming_a_missing_file_is_named(monkeypatch, tmp_path, capsys):
    missing = tmp_path / "nowhere" / SCRIPT
    monkeypatch.setenv(CONVERTER_ENV, str(missing))
    with pytest.raises(ConversionError, match=f"{CONVERTER_ENV} is set to {missing}, which is not a file"):
        find_converter()
    # Before any merging: the CLI says so in one line.
    assert (
        main(["export", "--adapter", str(random_adapter()), "--format", "gguf", "--out", str(tmp_path)]) == 2
    )
    err = capsys.readouterr().err
    assert str(missing) in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())  # refused before merging: nothing written


def test_without_a_converter_the_export_says_what_is_missing(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv(CONVERTER_ENV, raising=False)
    monkeypatch.setattr("core.export.converter.converter_home", lambda: tmp_path / "not-installed")
    monkeypatch.setenv("PATH", str(tmp_path))  # no convert_hf_to_gguf.py anywhere
    said = []
    assert convert_to_gguf(tmp_path, tmp_path / "m.gguf", "f16", said.append) is None
    assert said == [INSTALL_HINT] and "python -m core install-converter" in INSTALL_HINT
    assert (
        main(["export", "--adapter", str(random_adapter()), "--format", "gguf", "--out", str(tmp_path)]) == 2
    )
    assert "install-converter" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_the_converter_runs_with_its_own_libraries_and_failures_are_messages(tmp_path, monkeypatch):
    home = tmp_path / "llama.cpp"
    (home / "gguf-py").mkdir(parents=True)
    fake = write(
        home / SCRIPT,
        "import os, sys, pathlib\nargs = sys.argv[1:]\n"
        "out = pathlib.Path(args[args.index('--outfile') + 1])\n"
        "out.write_text(' '.join(args) + '|' + os.environ['PYTHONPATH'])\n",
    )
    monkeypatch.setenv(CONVERTER_ENV, str(fake))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    out = convert_to_gguf(tmp_path / "merged", tmp_path / "m.gguf", "q8_0", lambda line: None)
    args, pythonpath = out.read_text().split("|")
    assert args == f"{tmp_path / 'merged'} --outfile {out} --outtype q8_0"
    assert pythonpath.split(":") == [str(home / "gguf-py"), str(home)]  # gguf-py of the same llama.cpp commit
    with pytest.raises(ConversionError, match="Unknown GGUF type 'q4'"):
        convert_to_gguf(tmp_path / "merged", tmp_path / "x.gguf", "q4", lambda line: None)
    failing = write(
        tmp_path / "broken.py", "import sys\nprint('no module named torch', file=sys.stderr)\nsys.exit(3)\n"
    )
    monkeypatch.setenv(CONVERTER_ENV, str(failing))
    with pytest.raises(ConversionError, match="exit 3.*no module named torch"):
        convert_to_gguf(tmp_path / "merged", tmp_path / "n.gguf", "f16", lambda line: None)


def _sdist(path, names: dict[str, bytes]):
    with tarfile.open(path, "w:gz") as archive:
        for name, data in names.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_unpacking_takes_only_the_converter_out_of_the_sdist(tmp_path):
    sdist = _sdist(
        tmp_path / "llama_cpp_python-0.3.36.tar.gz",
        {
            f"{SDIST_ROOT}/{SCRIPT}": b"# converter",
            f"{SDIST_ROOT}/conversion/__init__.py": b"",
            f"{SDIST_ROOT}/gguf-py/gguf/__init__.py": b"",
            f"{SDIST_ROOT}/LICENSE": b"MIT",
            f"{SDIST_ROOT}/ggml/src/ggml.c": b"int main;",  # the C++ sources stay out
            "llama_cpp_python-0.3.36/llama_cpp/llama.py": b"",
        },
    )
    dest = tmp_path / "env" / "llama.cpp"
    write_stale = dest / "old.txt"
    dest.mkdir(parents=True)
    write_stale.write_text("from an older pin")
    assert unpack_converter(sdist, dest) == dest / SCRIPT
    found = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert found == ["LICENSE", "conversion/__init__.py", SCRIPT, "gguf-py/gguf/__init__.py"]

    other = _sdist(tmp_path / "other-1.0.tar.gz", {"other-1.0/setup.py": b""})
    with pytest.raises(ConversionError, match=f"no vendor/llama.cpp/{SCRIPT}"):
        unpack_converter(other, tmp_path / "env2" / "llama.cpp")
    assert not (tmp_path / "env2" / "llama.cpp").exists()
