"""Benchmark: training throughput of our engine vs a bare Unsloth script vs plain TRL + PEFT (issue 5).

GPU suites use random-initialised models built from a config (no downloads; speed does not depend on the
weights): Qwen2.5-Coder-7B's shape and 1.5B's. Every measured run is its own process (plain TRL must not
see Unsloth's patches) and reports non-padding tokens/s after warm-up, seconds per step and peak memory.
The suites print a markdown table and append it to docs/BENCHMARKS.md with the exact command.

    python bench/train_throughput.py throughput --shape 7b --bits 4    # table 1: (a) engine (b) recipe (c) TRL
    python bench/train_throughput.py overhead --shape 1.5b --bits 16 --reps 2   # table 2: worker / in-thread
    python bench/train_throughput.py overhead --shape 1.5b --bits 16 --against unsloth   # engine / bare script
    python bench/train_throughput.py cpu --reps 2                      # table 3: bundled model on this CPU
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.record import record  # noqa: E402 - after the path is set

os.environ.setdefault("HF_HUB_OFFLINE", "1")
H100_BF16_PEAK = 989e12  # dense bf16 FLOP/s of an H100 SXM, the MFU denominator
SHAPES = {  # Qwen2.5-Coder shapes: hidden, intermediate, layers, heads, kv heads, vocab, tied embeddings
    "7b": (3584, 18944, 28, 28, 4, 152064, False),
    "1.5b": (1536, 8960, 28, 12, 2, 151936, True),
    "0.5b": (896, 4864, 24, 14, 2, 151936, True),
    "135m": (576, 1536, 30, 9, 3, 49152, True),  # the bundled SmolLM2-135M's shape (a Llama)
    "tiny": (256, 512, 2, 4, 2, 49152, True),  # to try the script on a CPU
}
RECIPE = {"batch_size": 2, "grad_accum": 4, "packing": False, "max_length": 2048}  # the recipe's settings


def matmul_params(shape: str) -> int:
    h, inter, layers, heads, kv, vocab, _ = SHAPES[shape]
    kv_dim = h // heads * kv
    return layers * (2 * h * h + 2 * h * kv_dim + 3 * h * inter) + h * vocab


def bench_data(rows: int) -> Path:
    """`rows` short question/SQL pairs: the sample pairs repeated with varied questions."""
    path = Path(tempfile.gettempdir()) / f"bench-pairs-{rows}.jsonl"
    if not path.exists():
        base = [json.loads(line) for line in (ROOT / "assets/sample_pairs.jsonl").read_text().splitlines()]
        path.write_text(
            "".join(
                json.dumps(
                    {
                        "question": f"{base[i % len(base)]['question']} (case {i})",
                        "sql": base[i % len(base)]["sql"],
                    }
                )
                + "\n"
                for i in range(rows)
            )
        )
    return path


def make_model(shape: str, target: Path, tokenizer_dir: str) -> None:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    h, inter, layers, heads, kv, vocab, tied = SHAPES[shape]
    config_class, model_class = (
        (LlamaConfig, LlamaForCausalLM) if shape == "135m" else (Qwen2Config, Qwen2ForCausalLM)
    )
    config = config_class(
        vocab_size=vocab,
        hidden_size=h,
        intermediate_size=inter,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv,
        max_position_embeddings=32768,
        tie_word_embeddings=tied,
        torch_dtype="bfloat16",
    )
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
        model = model_class(config).to(torch.bfloat16)
    model.save_pretrained(target)
    AutoTokenizer.from_pretrained(tokenizer_dir).save_pretrained(target)


def step_timer():
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        marks: list[tuple[float, int, int]] = []

        def on_step_end(self, args, state, control, **kw):
            self.marks.append((time.perf_counter(), state.global_step, int(state.num_input_tokens_seen or 0)))

    return StepTimer()


def sft_rows(model: str, data: Path) -> list[dict]:
    from core.config import TrainConfig
    from core.data import as_prompt_completion, build_messages
    from core.train import load_dataset

    cfg = TrainConfig(data_path=str(data), schema_path=str(ROOT / "assets/sample_schema.sql"), model=model)
    pairs, _, schema_text, _ = load_dataset(cfg)
    return [
        as_prompt_completion(build_messages(p, cfg.system_template, cfg.dialect, schema_text)) for p in pairs
    ]


def sft_config(s: dict, steps: int, out: str, cuda: bool):
    from trl import SFTConfig

    return SFTConfig(
        output_dir=out,
        max_steps=steps,
        per_device_train_batch_size=s["batch_size"],
        gradient_accumulation_steps=s["grad_accum"],
        warmup_steps=5,
        learning_rate=2e-4,
        logging_steps=1,
        optim="adamw_8bit" if cuda else "adamw_torch",
        weight_decay=0.01,
        lr_scheduler_type="linear",
        seed=3407,
        max_length=s["max_length"],
        packing=s["packing"],
        completion_only_loss=True,
        save_strategy="no",
        report_to="none",
        include_num_input_tokens_seen="non_padding",
        dataloader_num_workers=0,
        disable_tqdm=True,
        # Unsloth picks the precision and its own checkpointing; plain TRL is told ours
        **({} if s.get("unsloth") else {"bf16": cuda, "gradient_checkpointing": True}),
    )


def _engine_config(model: str, bits: int, steps: int, data: Path, settings: dict):
    from core.config import TrainConfig

    return TrainConfig(
        data_path=str(data),
        schema_path=str(ROOT / "assets/sample_schema.sql"),
        model=model,
        max_steps=steps,
        load_in_4bit=bits == 4,
        eval_fraction=0.0,
        experiment="bench-throughput",
        checkpoint_every=0,
        **settings,
    )


def run_engine(model: str, bits: int, steps: int, data: Path, settings: dict) -> tuple[list, float, float]:
    """The studio's path: Start -> a warm worker process (the app keeps one ready) -> training. Returns the step
    marks (from the job's journal, where the worker logs tokens seen per step), the seconds from Start to the
    first step and the worker's peak GPU memory."""
    from core.tracking.journal import Journal
    from core.train import Engine, supervisor

    supervisor.prewarm()
    deadline = time.time() + 600
    while "standby worker ready" not in supervisor._standby.log.read_text() and time.time() < deadline:
        time.sleep(0.5)
    engine = Engine()
    started = time.time()
    engine.start(_engine_config(model, bits, steps, data, settings))
    snap = engine.wait(timeout=3600)
    if snap["status"] != "completed":
        raise RuntimeError(f"engine run ended {snap['status']}: {snap['error']}")
    folder = Path(snap["output_dir"])
    marks = [
        (op["t"] / 1000, op["step"], int(op["value"]))
        for op in Journal(folder).ops
        if op["op"] == "metric" and op["key"] == "num_input_tokens_seen"
    ]
    peak = json.loads((folder / "rank-0.json").read_text())["peak_gpu_gib"]
    return marks, marks[0][0] - started, peak


def run_thread(model: str, bits: int, steps: int, data: Path, settings: dict) -> tuple[list, float, float]:
    """Before the worker process: the trainer in a thread of the studio's own process, Unsloth already imported
    (the app's warm-up did that)."""
    import threading

    import torch
    import unsloth  # noqa: F401 - the warm-up the app did before Start

    from core.paths import outputs_dir
    from core.runstate import RunState
    from core.train.trainer import run_training

    timer = step_timer()
    folder = outputs_dir() / f"bench-thread-{time.time_ns()}"
    folder.mkdir()
    started, started_wall = time.perf_counter(), time.time()
    state = RunState(status="starting", job_id=folder.name, started_at=started_wall)
    thread = threading.Thread(
        target=run_training,
        args=(_engine_config(model, bits, steps, data, settings), state, threading.Event(), folder, (timer,)),
    )
    thread.start()
    thread.join()
    if state.status != "completed":
        raise RuntimeError(f"in-thread run ended {state.status}: {state.error}")
    peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else 0.0
    return timer.marks, timer.marks[0][0] - started, peak


def run_variant(variant: str, model: str, bits: int, steps: int, data: Path, settings: dict) -> list:
    """Train `steps` steps one way; returns the step timer's marks."""
    timer = step_timer()
    import torch

    cuda = torch.cuda.is_available()
    if variant == "unsloth":  # a bare Unsloth script: what a user of the recipe would write
        import unsloth  # noqa: F401
        from datasets import Dataset
        from trl import SFTTrainer
        from unsloth import FastLanguageModel

        m, tok = FastLanguageModel.from_pretrained(
            model_name=model, max_seq_length=settings["max_length"], load_in_4bit=bits == 4, dtype=None
        )
        m = FastLanguageModel.get_peft_model(
            m,
            r=16,
            lora_alpha=32,
            lora_dropout=0.0,
            bias="none",
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
            use_gradient_checkpointing="unsloth",
            random_state=3407,
        )
        args, peft = sft_config({**settings, "unsloth": True}, steps, tempfile.mkdtemp(), cuda), None
    else:  # plain TRL + PEFT (+ bitsandbytes for 4-bit), no Unsloth anywhere in the process
        from datasets import Dataset
        from peft import LoraConfig
        from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig
        from trl import SFTTrainer

        quant = (
            BitsAndBytesConfig(
                load_in_4bit=True,
                bnb_4bit_quant_type="nf4",
                bnb_4bit_use_double_quant=True,
                bnb_4bit_compute_dtype=torch.bfloat16,
            )
            if bits == 4
            else None
        )
        m = AutoModelForCausalLM.from_pretrained(
            model,
            dtype=torch.bfloat16 if cuda else torch.float32,
            quantization_config=quant,
            device_map={"": 0} if cuda else None,
        )
        tok = AutoTokenizer.from_pretrained(model)
        peft = LoraConfig(
            r=16,
            lora_alpha=32,
            lora_dropout=0.0,
            bias="none",
            task_type="CAUSAL_LM",
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        )
        args = sft_config(settings, steps, tempfile.mkdtemp(), cuda)
    trainer = SFTTrainer(
        model=m,
        processing_class=tok,
        args=args,
        train_dataset=Dataset.from_list(sft_rows(model, data)),
        peft_config=peft,
        callbacks=[timer],
    )
    trainer.train()
    return timer.marks


def worker(a) -> None:
    settings = json.loads(a.settings)
    start = time.perf_counter()
    first_step_s = peak = None
    if a.variant in ("engine", "thread"):
        marks, first_step_s, peak = (run_engine if a.variant == "engine" else run_thread)(
            a.model, a.bits, a.steps, Path(a.data), settings
        )
    else:
        marks = run_variant(a.variant, a.model, a.bits, a.steps, Path(a.data), settings)
    (t0, s0, n0), (t1, s1, n1) = marks[a.warmup - 1], marks[-1]
    result = {
        "tokens_per_s": (n1 - n0) / (t1 - t0),
        "s_per_step": (t1 - t0) / (s1 - s0),
        "tokens_per_step": (n1 - n0) / (s1 - s0),
        "measured_steps": s1 - s0,
        "wall_s": time.perf_counter() - start,
    }
    if first_step_s is not None:
        result["first_step_s"] = first_step_s
    try:
        import torch

        if torch.cuda.is_available():
            result["peak_gib"] = peak if peak is not None else torch.cuda.max_memory_allocated() / 2**30
            result["device"] = torch.cuda.get_device_name()
    except ImportError:
        pass
    Path(a.json).write_text(json.dumps(result))


def measure(
    variant: str,
    model: str,
    bits: int,
    steps: int,
    warmup: int,
    data: Path,
    settings: dict,
    timeout: int = 900,
) -> dict:
    """One run in a fresh process; a failure becomes a row that says so, not a lost suite."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = [
            sys.executable,
            __file__,
            "worker",
            "--variant",
            variant,
            "--model",
            model,
            "--bits",
            str(bits),
            "--steps",
            str(steps),
            "--warmup",
            str(warmup),
            "--data",
            str(data),
            "--json",
            out.name,
            "--settings",
            json.dumps(settings),
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout} s"}
        text = Path(out.name).read_text()
        if proc.returncode or not text:
            return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1][:200]}
        print(f"  {variant}: {text}", flush=True)
        return json.loads(text)


def resolved_plan(model: str, data: Path, bits: int, settings: dict) -> dict:
    """The batch settings our engine would use for this data on this machine (for the runs outside it)."""
    from core.config import TrainConfig
    from core.train import gpu_available, load_dataset, load_tokenizer, plan_batches

    cfg = TrainConfig(
        data_path=str(data), schema_path=str(ROOT / "assets/sample_schema.sql"), model=model, **settings
    )
    report = load_dataset(cfg, load_tokenizer(model))[3]
    plan = plan_batches(cfg, report.token_lengths, gpu_available())
    return {
        "batch_size": plan.per_device_batch,
        "grad_accum": plan.grad_accum,
        "packing": plan.packing,
        "max_length": plan.max_length,
    }


def versions() -> str:
    from core.train.trainer import library_versions

    v = library_versions()
    return ", ".join(
        f"{k.split('.', 1)[1]} {v[k]}"
        for k in ("version.unsloth", "version.torch", "version.transformers", "version.trl", "version.peft")
    )


def prepare(a) -> tuple[str, Path]:
    data = bench_data(a.rows)
    if a.shape == "bundled":
        return "bundled:SmolLM2-135M-Instruct", data
    target = Path(tempfile.gettempdir()) / f"bench-model-{a.shape}"
    if not (target / "config.json").exists():
        # its own process, so the GPU memory used to build it is all returned before the runs
        subprocess.run(
            [sys.executable, __file__, "make-model", "--shape", a.shape, "--model", str(target)], check=True
        )
    return str(target), data


def row(label: str, r: dict, shape: str, steps_for: int = 60) -> str:
    if "error" in r:
        return f"| {label} | failed: {r['error']} | | | | | |"
    mfu = f"{r['tokens_per_s'] * 6 * matmul_params(shape) / H100_BF16_PEAK:.1%}" if shape in SHAPES else "-"
    peak = f"{r['peak_gib']:.1f}" if "peak_gib" in r else "-"
    return (
        f"| {label} | {r['tokens_per_s']:,.0f} | {r['tokens_per_step']:,.0f} | {r['s_per_step']:.2f} | "
        f"{r['s_per_step'] * steps_for:,.0f} | {peak} | {mfu} |"
    )


def append(title: str, command: str, lines: list[str], notes: str = "") -> None:
    text = (
        f"\n### {title} ({time.strftime('%Y-%m-%d')})\n\nMachine: {machine()}; {versions()}.\n"
        f"Command: `{command}`\n\n" + "\n".join(lines) + "\n" + (f"\n{notes}\n" if notes else "")
    )
    record(text)


def machine() -> str:
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name()
    except ImportError:
        pass
    return f"{platform.machine()} CPU, {os.cpu_count()} cores"


HEADER = [
    "| run | non-padding tokens/s | tokens/step | s/step | s for 60 steps | peak GiB | MFU |",
    "|---|---|---|---|---|---|---|",
]


def throughput(a) -> None:
    model, data = prepare(a)
    ours = resolved_plan(model, data, a.bits, {})
    print(f"our defaults resolve to {ours}", flush=True)
    runs = [
        ("(a) our engine, our defaults", "engine", {}, a.steps),
        (
            "(b) bare Unsloth script, the recipe's settings (batch 2 x acc 4, no packing)",
            "unsloth",
            RECIPE,
            a.recipe_steps,
        ),
        (
            "(c) plain TRL + PEFT" + (" + bitsandbytes" if a.bits == 4 else "") + ", our defaults",
            "trl",
            ours,
            a.trl_steps,
        ),
    ]
    results = {v: measure(v, model, a.bits, steps, a.warmup, data, s) for _, v, s, steps in runs}
    lines = HEADER + [row(label, results[v], a.shape) for label, v, _, _ in runs]
    ratios = [
        f"tokens/s of (a) / ({letter}): {results['engine']['tokens_per_s'] / results[v]['tokens_per_s']:.1f}x"
        for letter, v in (("b", "unsloth"), ("c", "trl"))
        if "error" not in results["engine"] and "error" not in results[v]
    ]
    append(
        f"Training throughput, Qwen2.5-Coder-{a.shape.upper()} shape, {a.bits}-bit LoRA r16 (random-init)",
        f"python bench/train_throughput.py throughput --shape {a.shape} --bits {a.bits}",
        lines,
        f"{a.rows:,} sample pairs; our defaults here: {ours}. Tokens/s are measured after {a.warmup} warm-up steps; "
        "'s for 60 steps' = s/step x 60 (steady state, loading excluded). MFU = tokens/s x 6 x "
        f"{matmul_params(a.shape) / 1e9:.2f}B matmul parameters / 989e12. " + "; ".join(ratios) + ".",
    )


LABELS = {
    "engine": "our engine (worker process)",
    "thread": "trainer in the studio's thread (before the worker)",
    "unsloth": "bare Unsloth script",
}


def overhead(a) -> None:
    """Our engine against `--against`: `thread` (the same trainer in the studio's own thread, as before the worker
    process) or `unsloth` (a bare script). Also the seconds from Start to the first step, for engine and thread."""
    model, data = prepare(a)
    settings = {"packing": True, "batch_tokens": a.batch_tokens} if a.shape != "bundled" else {}
    same = resolved_plan(model, data, a.bits, settings)
    other = a.against
    rows, ratios, firsts = [], [], {"engine": [], other: []}
    for rep in range(a.reps):  # alternate the order so warm caches favour neither
        order = ("engine", other) if rep % 2 == 0 else (other, "engine")
        r = {
            v: measure(v, model, a.bits, a.steps, a.warmup, data, same if v == "unsloth" else settings)
            for v in order
        }
        for v in order:
            rows.append(row(f"rep {rep + 1}: {LABELS[v]}", r[v], a.shape))
            if "first_step_s" in r[v]:
                firsts[v].append(r[v]["first_step_s"])
        if "error" not in r["engine"] and "error" not in r[other]:
            ratios.append(r["engine"]["tokens_per_s"] / r[other]["tokens_per_s"])
    summary = (
        f"engine / {other} tokens/s per repetition: {', '.join(f'{x:.3f}' for x in ratios)}; mean "
        f"{sum(ratios) / len(ratios):.3f}."
        if ratios
        else "no complete repetition."
    )
    start = "; ".join(
        f"{LABELS[v]}: {', '.join(f'{s:.1f}' for s in times)} s" for v, times in firsts.items() if times
    )
    append(
        f"App overhead: engine vs {LABELS[other]}, identical settings, {a.shape} {a.bits}-bit",
        f"python bench/train_throughput.py {a.suite} --shape {a.shape} --bits {a.bits} --reps {a.reps} "
        f"--against {other}",
        HEADER + rows,
        f"Identical settings on both sides: {same if other == 'unsloth' else settings or 'defaults'}. {summary}"
        + (f" Seconds from Start to the first step: {start}." if start else ""),
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("suite", choices=["throughput", "overhead", "cpu", "worker", "make-model"])
    p.add_argument("--shape", default="7b", choices=[*SHAPES, "bundled"])
    p.add_argument("--bits", type=int, default=4, choices=[4, 16])
    p.add_argument("--rows", type=int, default=8000, help="pairs in the benchmark dataset")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--recipe-steps", type=int, default=16)
    p.add_argument("--trl-steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2, help="steps excluded from the measurement")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--batch-tokens", type=int, default=16384)
    p.add_argument(
        "--against", default="thread", choices=["thread", "unsloth"], help="overhead: compare with"
    )
    for name in ("variant", "model", "data", "json", "settings"):
        p.add_argument(f"--{name}")
    a = p.parse_args(argv)
    if a.suite == "worker":
        worker(a)
    elif a.suite == "make-model":
        make_model(
            a.shape, Path(a.model), os.environ.get("STUDIO_GPU_TOKENIZER", str(ROOT / ".gpu" / "tokenizer"))
        )
    elif a.suite == "throughput":
        throughput(a)
    else:
        if a.suite == "cpu":  # the product's path: the engine logs to a real MLflow server
            from core.tracking import ensure_server

            os.environ["MLFLOW_TRACKING_URI"] = ensure_server()
            a.shape, a.bits = "bundled", 16
        overhead(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
