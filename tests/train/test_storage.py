"""Disk trouble: an output folder that cannot be written (even by root) or a nearly full disk is refused before
training starts; a save that fails half-way never leaves something that looks like a finished adapter."""

import resource
import signal

import pytest

from core.train import Engine, StorageError
from tests.train.test_engine import tiny


def test_data_folder_under_a_regular_file_is_refused_before_training(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    monkeypatch.setenv("STUDIO_DATA_DIR", str(blocker / "data"))  # mkdir fails with ENOTDIR, for root too
    engine = Engine()
    with pytest.raises(StorageError, match="Cannot create the studio's data folder: Not a directory") as err:
        engine.start(tiny())
    assert "STUDIO_DATA_DIR" in str(err.value)
    assert not engine.busy and engine.snapshot()["status"] == "idle"


def test_outputs_path_taken_by_a_file_is_refused_before_training(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path))
    (tmp_path / "outputs").write_text("a file named like the outputs folder")
    with pytest.raises(
        StorageError, match="Cannot create the studio's data folder|Cannot write to the output folder"
    ):
        Engine().start(tiny())


def test_nearly_full_disk_is_refused_with_the_real_free_space(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(
        "STUDIO_MIN_FREE_MB", str(10**12)
    )  # more than any disk has: the real check must refuse
    with pytest.raises(StorageError, match=r"Only [\d,]+ MB free on the disk of .*needs at least") as err:
        Engine().start(tiny())
    assert "Free some space" in str(err.value)


def test_disk_full_while_saving_leaves_no_adapter_only_a_clear_error(tmp_path):
    """RLIMIT_FSIZE makes the kernel refuse writes past 1 KiB (EFBIG), the way a full disk refuses them."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from core.config import TrainConfig
    from core.prompt_record import PromptRecord
    from core.train import resolve_model
    from core.train.callbacks import friendly_error
    from core.train.trainer import _save_adapter

    torch.manual_seed(0)
    base = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=64,
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=2,
        )
    )
    model = get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
    tokenizer = AutoTokenizer.from_pretrained(
        resolve_model("bundled")
    )  # the trainer saves transformers' tokenizer
    record = PromptRecord("bundled", schema_text="CREATE TABLE t (a INT)")
    target = tmp_path / "adapter"
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the process
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, hard))
    try:
        with pytest.raises(OSError) as err:
            _save_adapter(model, tokenizer, target, record)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert not target.exists() and not (tmp_path / "adapter.partial").exists()
    message = friendly_error(err.value, TrainConfig())
    assert "Could not save the run's files" in message and "Nothing half-written is kept" in message
    _save_adapter(model, tokenizer, target, record)  # with room again, the same save completes
    assert (target / "adapter_model.safetensors").exists() and (target / "studio_prompt.json").exists()
