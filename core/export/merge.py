"""Merge a LoRA adapter into its base model tensor by tensor, without ever holding the whole model in memory.

    merge_files(base_dir, adapter_dir, out_dir, "float16", progress=print)

Loading a 7B base in float32 on the CPU to merge it (the usual `PeftModel.merge_and_unload()`) takes about 30 GB of
host memory; this reads the base's safetensors one tensor at a time, adds scale x B @ A to each adapted weight (on
the GPU when there is one with room, else on the CPU), and writes 16-bit shards of at most SHARD_BYTES. Peak host
memory is about one output shard plus one tensor. A pre-quantized bitsandbytes 4-bit base (an `...-bnb-4bit`
repository) is dequantized to 16-bit first: the adapter is never merged into 4-bit weights.
"""

import json
import shutil
from pathlib import Path

SHARD_BYTES = 2 * 2**30
QUANT_PARTS = (
    "absmax",
    "quant_map",
    "nested_absmax",
    "nested_quant_map",
    "quant_state",
)  # bnb 4-bit companions


class MergeError(ValueError):
    """The base model or the adapter cannot be merged as they are. The message says why."""


# What a peft LoRA config may hold that one scale x B @ A per adapted layer does not merge (`export --adapter` takes
# any adapter folder): per-layer ranks or alphas, DoRA's magnitudes, whole modules or token rows trained beside the
# LoRA layers, trained biases, layers copied or parameters adapted in place.
NOT_MERGED = {
    "rank_pattern": "per-layer ranks (rank_pattern)",
    "alpha_pattern": "per-layer alphas (alpha_pattern)",
    "use_dora": "DoRA (use_dora)",
    "modules_to_save": "whole modules trained beside it (modules_to_save)",
    "trainable_token_indices": "trained token rows (trainable_token_indices)",
    "lora_bias": "LoRA biases (lora_bias)",
    "layer_replication": "copied layers (layer_replication)",
    "target_parameters": "adapted parameters (target_parameters)",
    "fan_in_fan_out": "weights stored transposed (fan_in_fan_out)",
}


def check_mergeable(adapter_dir: Path) -> dict:
    """The adapter's config, or MergeError in one line when the streaming merge cannot merge it exactly."""
    config = json.loads((Path(adapter_dir) / "adapter_config.json").read_text(encoding="utf-8"))
    found = [what for key, what in NOT_MERGED.items() if config.get(key)]
    if config.get("peft_type", "LORA") != "LORA":
        found.insert(0, f"peft type {config['peft_type']} (not LoRA)")
    if config.get("bias", "none") != "none":
        found.append(f"trained biases (bias: {config['bias']})")
    if found:
        raise MergeError(
            f"This adapter has {', '.join(found)}: the merge adds one scale x B @ A to each adapted layer and "
            "would lose it. Export the adapter zip instead, or merge with peft's merge_and_unload()."
        )
    return config


def _adapter(adapter_dir: Path) -> tuple[dict, float]:
    """module name -> (lora_A, lora_B) of the adapter, and its scale (alpha / r, or alpha / sqrt(r) with rsLoRA)."""
    from safetensors.torch import load_file

    config = check_mergeable(adapter_dir)
    r, alpha = config["r"], config["lora_alpha"]
    scale = alpha / (r**0.5) if config.get("use_rslora") else alpha / r
    pairs: dict[str, dict] = {}
    for key, tensor in load_file(str(adapter_dir / "adapter_model.safetensors")).items():
        if ".lora_A." in key or ".lora_B." in key:
            module = key.split(".lora_")[0].removeprefix("base_model.model.")
            pairs.setdefault(module, {})["A" if ".lora_A." in key else "B"] = tensor
    return {m: (p["A"], p["B"]) for m, p in pairs.items() if "A" in p and "B" in p}, scale


def _shards(base_dir: Path) -> list[Path]:
    index = base_dir / "model.safetensors.index.json"
    if index.exists():
        names = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        return [base_dir / n for n in names]
    single = base_dir / "model.safetensors"
    if not single.exists():
        raise MergeError(
            f"{base_dir} holds no safetensors weights (model.safetensors or an index): the merge reads "
            "safetensors only. Save the base model with safetensors, or export the adapter zip instead."
        )
    return [single]


def _dequantize(name: str, handle, quantized: dict, device: str):
    """A bitsandbytes 4-bit weight, back to 16-bit."""
    import bitsandbytes.functional as bnb_f
    import torch

    parts = {key[len(name) + 1 :]: handle.get_tensor(key) for key in quantized[name]}
    state_key = next(k for k in parts if k.startswith("quant_state."))
    packed = {k: v.to(device) for k, v in parts.items()}
    packed[state_key] = parts[state_key]  # the packed json description stays a CPU byte tensor
    state = bnb_f.QuantState.from_dict(packed, device=torch.device(device))
    return bnb_f.dequantize_4bit(handle.get_tensor(name).to(device), state)


def merge_files(
    base_dir: Path, adapter_dir: Path, out_dir: Path, dtype: str = "float16", progress=print
) -> None:
    """Write the merged model's config and 16-bit safetensors shards into out_dir (the tokenizer is the caller's)."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    base_dir, adapter_dir, out_dir = Path(base_dir), Path(adapter_dir), Path(out_dir)
    out_dtype = getattr(torch, dtype)
    lora, scale = _adapter(adapter_dir)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    config = json.loads((base_dir / "config.json").read_text(encoding="utf-8"))
    four_bit = bool(config.get("quantization_config", {}).get("load_in_4bit"))
    out_dir.mkdir(parents=True, exist_ok=True)
    shard, shard_bytes, weight_map, merged = {}, 0, {}, 0

    def flush():
        nonlocal shard, shard_bytes
        if shard:
            name = f"model-{len(set(weight_map.values())) + 1:05d}.safetensors"
            save_file(shard, str(out_dir / name), metadata={"format": "pt"})
            weight_map.update(dict.fromkeys(shard, name))
            shard, shard_bytes = {}, 0

    progress(
        f"merging the adapter tensor by tensor on the {'GPU' if device == 'cuda' else 'CPU'} "
        f"({'dequantizing the 4-bit base to ' + dtype if four_bit else dtype}) ..."
    )
    for path in _shards(base_dir):
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            keys = list(handle.keys())
            quantized = {
                k: [q for q in keys if q.startswith(k + ".") and q[len(k) + 1 :].split(".")[0] in QUANT_PARTS]
                for k in keys
                if k.endswith(".weight")
            }
            quantized = {k: v for k, v in quantized.items() if v}
            companions = {q for parts in quantized.values() for q in parts}
            for key in keys:
                if key in companions:
                    continue
                weight = (
                    _dequantize(key, handle, quantized, device)
                    if key in quantized
                    else handle.get_tensor(key).to(device)
                )
                module = key.removesuffix(".weight")
                if key.endswith(".weight") and module in lora:
                    a, b = lora.pop(module)
                    weight = (weight.float() + scale * (b.to(device).float() @ a.to(device).float())).to(
                        out_dtype
                    )
                    merged += 1
                elif weight.is_floating_point():
                    weight = weight.to(out_dtype)
                shard[key] = weight.to("cpu").contiguous()
                shard_bytes += shard[key].numel() * shard[key].element_size()
                if shard_bytes >= SHARD_BYTES:
                    flush()
    flush()
    if lora:
        raise MergeError(
            f"{len(lora)} adapted layers have no weight in the base model (e.g. {next(iter(lora))}): "
            "is this the adapter's base model?"
        )
    files = sorted(set(weight_map.values()))
    if len(files) == 1:
        (out_dir / files[0]).rename(out_dir / "model.safetensors")
    else:
        total = sum((out_dir / f).stat().st_size for f in files)
        (out_dir / "model.safetensors.index.json").write_text(
            json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=1),
            encoding="utf-8",
        )
    config.pop("quantization_config", None)
    config["torch_dtype"] = config["dtype"] = dtype
    (out_dir / "config.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
    if (base_dir / "generation_config.json").exists():
        shutil.copy(base_dir / "generation_config.json", out_dir / "generation_config.json")
    progress(f"merged {merged} adapted layers")
