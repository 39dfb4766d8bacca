"""Exports on CPU with the bundled model and a random LoRA adapter: the zip, loaded fresh in another process
with transformers+peft, and the merged 16-bit model give the same greedy SQL as the studio's own generator;
the Ollama bundle points at the merged weights (or a GGUF file when a converter is installed)."""

import json
import re
import subprocess
import sys
import textwrap
import time
import zipfile

import pytest

from core.cli import main
from core.data import load_pairs
from core.export import ExportError, export, source_from_adapter
from core.export.export import BUNDLED_HUB_ID
from core.export.ollama import CONVERTER_ENV
from tests.conftest import ROOT, write
from tests.lora_adapter import random_adapter, sample_record

pytestmark = pytest.mark.slow
ROWS = 3
MAX_NEW_TOKENS = 16

# A fresh process that knows nothing of the studio: it follows the zip's README (tokenizer and adapter from
# adapter/, system prompt from system_prompt.txt) and loads the merged folder as a plain model. Prompts are
# batched with left padding like the studio's generator, so the numerics match.
FRESH_PROCESS = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base_path, unzipped, merged = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    questions, max_new_tokens = json.loads(sys.argv[4]), int(sys.argv[5])
    tokenizer = AutoTokenizer.from_pretrained(unzipped / "adapter")
    tokenizer.padding_side = "left"
    system = (unzipped / "system_prompt.txt").read_text(encoding="utf-8")
    chats = [[{"role": "system", "content": system}, {"role": "user", "content": q}] for q in questions]
    texts = [tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in chats]
    stop = [tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<|im_end|>")]

    def answers(model):
        batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            out = model.eval().generate(**batch, max_new_tokens=max_new_tokens, do_sample=False,
                                        pad_token_id=tokenizer.pad_token_id, eos_token_id=stop)
        return tokenizer.batch_decode(out[:, batch["input_ids"].shape[1]:], skip_special_tokens=True)

    base = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32)
    result = {"base": answers(base)}
    result["zip"] = answers(PeftModel.from_pretrained(base, unzipped / "adapter").merge_and_unload())
    result["merged"] = answers(AutoModelForCausalLM.from_pretrained(merged, dtype=torch.float32))
    print("RESULT " + json.dumps(result))
""")


# Nothing of this process's environment, offline; one thread, because OpenMP threads on a CPU shared with
# other test runs can slow to a crawl when they wait for each other.
FRESH_ENV = {"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1",
             "TOKENIZERS_PARALLELISM": "false"}


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Generation here is tiny; with 2 OpenMP threads on 2 cores that other test runs also use, the threads
    wait for each other and 3 x 24 tokens took 93 s instead of 7 s (measured). Restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def source():
    return source_from_adapter(random_adapter(), label="test-run")


@pytest.fixture(scope="module")
def exported(source, tmp_path_factory):
    out = tmp_path_factory.mktemp("exports")
    started = time.time()
    zipped = export(source, "zip", out, "round-trip", progress=lambda line: None)
    merged = export(source, "merged", out, "round-trip", progress=lambda line: None)
    print(f"zip + merged export: {time.time() - started:.1f} s")
    unzipped = out / "unzipped"
    with zipfile.ZipFile(zipped.path) as zf:
        zf.extractall(unzipped)
    return {"zip": zipped.path, "unzipped": unzipped / "round-trip", "merged": merged.path}


def test_zip_holds_adapter_readme_and_the_exact_system_prompt(exported):
    root = exported["unzipped"]
    assert {p.name for p in root.iterdir()} == {"README.md", "system_prompt.txt", "adapter"}
    adapter_files = {p.name for p in (root / "adapter").iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "studio_prompt.json"} \
        <= adapter_files
    config = json.loads((root / "adapter" / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == BUNDLED_HUB_ID  # not this machine's cache folder
    readme = (root / "README.md").read_text()
    for needed in (BUNDLED_HUB_ID, "PeftModel.from_pretrained", "FastLanguageModel.from_pretrained",
                   "<|im_end|>", "ChatML", "postgres", sample_record().schema_hash, "CREATE TABLE sales"):
        assert needed in readme
    assert (root / "system_prompt.txt").read_text() == sample_record().system_prompt
    texts = [p.read_text(errors="ignore") for p in [*root.rglob("*"), *exported["merged"].iterdir()]
             if p.suffix in (".json", ".md", ".txt", ".jinja")]
    assert not any(str(ROOT) in t or "/tmp/" in t for t in texts)  # no machine paths leak into exports


def test_fresh_process_and_merged_model_give_the_same_sql_as_the_studio(source, exported):
    from core.evaluate import SqlGenerator
    from core.train import resolve_model

    record = sample_record()
    pairs = load_pairs(ROOT / "assets" / "sample_pairs.jsonl")[:ROWS]
    started = time.time()
    generator = SqlGenerator("bundled", str(source.adapter_dir))
    try:
        in_app = generator.sql_for(pairs, record.format,
                                   max_new_tokens=MAX_NEW_TOKENS)
    finally:
        generator.close()
    in_app_seconds = time.time() - started
    started = time.time()
    args = [resolve_model("bundled"), str(exported["unzipped"]), str(exported["merged"]),
            json.dumps([p.question for p in pairs]), str(MAX_NEW_TOKENS)]
    done = subprocess.run([sys.executable, "-c", FRESH_PROCESS, *args], capture_output=True, text=True,
                          timeout=300, env=FRESH_ENV)
    assert done.returncode == 0, done.stderr[-2000:]
    fresh = json.loads(re.search(r"^RESULT (.*)$", done.stdout, re.M).group(1))
    print(f"in-app {in_app_seconds:.1f} s, fresh process {time.time() - started:.1f} s")
    raw = [r for r, _ in in_app]
    assert fresh["zip"] == raw
    assert fresh["merged"] == raw  # float16 merged weights: same greedy answers
    assert fresh["base"] != raw  # the adapter changes the answers, so the equalities above mean something


def test_ollama_bundle_points_at_the_merged_weights_without_a_converter(source, tmp_path, monkeypatch):
    monkeypatch.delenv(CONVERTER_ENV, raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    said = []
    result = export(source, "ollama", tmp_path, "Sales SQL", progress=said.append)
    folder = tmp_path / "Sales-SQL-ollama"
    assert result.path == folder
    assert result.command == f'cd "{folder}" && ollama create sales-sql -f Modelfile'
    assert re.search(r"^FROM \./merged$", (folder / "Modelfile").read_text(), re.M)
    assert {"model.safetensors", "tokenizer.json"} <= {p.name for p in (folder / "merged").iterdir()}
    assert any("convert_hf_to_gguf.py" in line for line in said)  # says what to install
    assert "ollama create sales-sql -f Modelfile" in (folder / "README.md").read_text()


def test_ollama_bundle_uses_gguf_when_a_converter_is_installed(source, tmp_path, monkeypatch):
    fake = write(tmp_path / "convert_hf_to_gguf.py", "import sys, pathlib\nargs = sys.argv[1:]\n"
                 "assert pathlib.Path(args[0], 'model.safetensors').exists()\n"
                 "pathlib.Path(args[args.index('--outfile') + 1]).write_bytes(b'GGUF')\n")
    monkeypatch.setenv(CONVERTER_ENV, str(fake))
    export(source, "ollama", tmp_path / "out", "with-gguf", progress=lambda line: None)
    folder = tmp_path / "out" / "with-gguf-ollama"
    assert re.search(r"^FROM \./model-f16\.gguf$", (folder / "Modelfile").read_text(), re.M)
    assert (folder / "model-f16.gguf").read_bytes() == b"GGUF" and not (folder / "merged").exists()


def test_bad_requests_are_clear_messages(source, tmp_path, capsys):
    export(source, "zip", tmp_path, "twice", progress=lambda line: None)
    with pytest.raises(ExportError, match="already exists"):
        export(source, "zip", tmp_path, "twice", progress=lambda line: None)
    with pytest.raises(ExportError, match="Unknown export format"):
        export(source, "tarball", tmp_path, "x")
    assert main(["export", "--adapter", str(tmp_path), "--format", "zip"]) == 2
    assert "No LoRA adapter (adapter_config.json)" in capsys.readouterr().err
    assert main(["export", "--adapter", str(random_adapter()), "--format", "zip", "--name", "..", "--out",
                 str(tmp_path)]) == 2
    assert "cannot be used as a name" in capsys.readouterr().err


def test_cli_export_sanitises_the_name_and_stays_in_the_out_folder(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["export", "--adapter", str(random_adapter()), "--format", "zip", "--out", str(out),
                 "--name", "../../escape me"]) == 0
    assert [p.name for p in out.iterdir()] == ["escape-me-adapter.zip"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert "Adapter zip written" in capsys.readouterr().out
