"""A LoRA adapter for the bundled model without training: random B matrices (peft starts them at zero, which
would leave the model unchanged), saved the way the trainer saves one (weights, tokenizer, prompt record)."""

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from core.config import TrainConfig
from core.defaults import BUNDLED_MODEL
from core.prompt_record import PromptRecord
from tests.conftest import ROOT

SCHEMA = ROOT / "assets" / "sample_schema.sql"


def sample_record() -> PromptRecord:
    cfg = TrainConfig(model=BUNDLED_MODEL, schema_path=str(SCHEMA), dialect="postgres")
    return PromptRecord.from_config(cfg)


@functools.cache
def random_adapter() -> Path:
    """Made once per test process (~5 s on 2 cores)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from core.data import ensure_chat_template
    from core.train import resolve_model

    source = resolve_model("bundled")
    torch.manual_seed(1)
    lora = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj", "o_proj", "down_proj"])
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32), lora)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0.0, 0.03)
    root = Path(tempfile.mkdtemp(prefix="random-lora-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    folder = root / "adapter"
    model.save_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(source)
    ensure_chat_template(tokenizer)
    tokenizer.save_pretrained(folder)
    sample_record().save(folder)
    return folder
