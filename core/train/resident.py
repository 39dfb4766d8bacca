"""The base model a resident worker keeps between the runs of a queue (issue 26, item 5).

A queue's items often share their base model and differ only in learning rate, rank or steps. Loading a 7B base
and letting Unsloth patch it takes most of a run's first minute on a GPU; a worker that the supervisor keeps for
the next item (core.train.supervisor, `keep`) holds the base here instead of freeing it. The next run takes it
back when it is the same base (same files, quantization, sequence length and remote-code trust), and gets new
LoRA weights (peft's `unload()` takes the old adapter's layers out, leaving the base's own weights untouched, and
Unsloth's `get_peft_model` puts fresh ones in) and a new optimizer (a new trainer). Any other base frees it first.
The datasets the trainer prepared (tokenized, packed) are kept too: a queue's runs on the same rows reuse them.
"""

import gc

_kept: dict = {}


def base_key(source: str, four_bit: bool, max_length: int, trust_remote_code: bool, dtype: str = "") -> tuple:
    return (str(source), bool(four_bit), int(max_length), bool(trust_remote_code), dtype)


def take(key: tuple):
    """(base model, tokenizer) kept by the previous run when it was loaded as `key`, else None (and a kept model of
    another base is freed first, so the new one has the memory)."""
    if _kept.get("key") == key:
        found = _kept.pop("model"), _kept.pop("tokenizer")
        del _kept["key"]
        return found
    drop()
    return None


def keep(key: tuple, model, tokenizer) -> None:
    """Hold the trained model's base for the next run: its LoRA layers out (the adapter is saved by now)."""
    base = model.unload() if hasattr(model, "unload") else model
    _kept.update(key=key, model=base, tokenizer=tokenizer)  # the prepared datasets (keep_prepared) stay


def take_prepared(key: tuple):
    """(train, eval) datasets as the previous run's trainer prepared them (tokenized, truncated, packed), when that
    run trained on the same rows the same way (`key`); else None. Preparing takes seconds per run on a GPU."""
    found = _kept.pop("prepared", None)
    return found[1] if found and found[0] == key else None


def keep_prepared(key: tuple, train, evaluation) -> None:
    _kept["prepared"] = (key, (train, evaluation))


def drop() -> None:
    """Free a kept model (a failed run's model may be half-changed: never reused)."""
    if not _kept:
        return
    _kept.clear()
    gc.collect()
    try:
        import torch  # noqa: PLC0415 - only a worker that loaded a model gets here

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass
