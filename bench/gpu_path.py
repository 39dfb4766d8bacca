"""Benchmark: the 7B path on a GPU as its users run it, through the CLI (issue 15).

Two local model folders of Qwen2.5-Coder-7B's shape with random weights and the bundled tokenizer, saved like the two
Hub repositories: 16-bit (`unsloth/Qwen2.5-Coder-7B`, quantized by Unsloth on load) and pre-quantized bitsandbytes
4-bit (`unsloth/Qwen2.5-Coder-7B-bnb-4bit`). For each: `python -m core train` with the GPU defaults, `python -m core
export --format merged` (with its self-check), and for the 16-bit base `python -m core evaluate` of base vs adapter.
Each command's wall time and peak host memory (the whole process tree's RSS) are measured; the worker's own figures
(start to first step, tokens/s, peak GPU memory) come from its job folder.

    python bench/gpu_path.py --shape 7b --steps 20 [--stages make,train16,merge16,eval16,train4,merge4]
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.record import record  # noqa: E402

SCRATCH = Path(tempfile.gettempdir())  # the random-weight models and exports: large, thrown away

RESULTS: list[dict] = []


def measured(name: str, command: list[str], timeout: int) -> dict:
    """Run a command; its wall time, peak RSS of its process tree (GiB) and output."""
    import psutil

    started = time.time()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0]

    def watch():
        while process.poll() is None:
            try:
                tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
                peak[0] = max(peak[0], sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.2)

    threading.Thread(target=watch, daemon=True).start()
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output = process.communicate()[0]
    result = {
        "stage": name,
        "seconds": round(time.time() - started, 1),
        "peak_host_gib": round(peak[0] / 2**30, 2),
        "rc": process.returncode,
        "tail": output.strip().splitlines()[-6:],
    }
    RESULTS.append(result)
    print(json.dumps(result), flush=True)
    return {**result, "output": output}


def make_models(shape: str) -> tuple[Path, Path]:
    sixteen, four = SCRATCH / f"gpu-path-{shape}", SCRATCH / f"gpu-path-{shape}-bnb-4bit"
    if not (sixteen / "config.json").exists():
        measured(
            "make 16-bit",
            [
                sys.executable,
                "bench/train_throughput.py",
                "make-model",
                "--shape",
                shape,
                "--model",
                str(sixteen),
            ],
            900,
        )
    if not (four / "config.json").exists():
        code = (
            "import torch;from transformers import AutoModelForCausalLM,AutoTokenizer,BitsAndBytesConfig;"
            "q=BitsAndBytesConfig(load_in_4bit=True,bnb_4bit_quant_type='nf4',bnb_4bit_use_double_quant=True,"
            "bnb_4bit_compute_dtype=torch.bfloat16);"
            f"m=AutoModelForCausalLM.from_pretrained({str(sixteen)!r},quantization_config=q,device_map={{'':0}});"
            f"m.save_pretrained({str(four)!r});AutoTokenizer.from_pretrained({str(sixteen)!r}).save_pretrained({str(four)!r})"
        )
        measured("make 4-bit (pre-quantized, bnb nf4)", [sys.executable, "-c", code], 900)
    return sixteen, four


def job_figures(job: Path) -> dict:
    from core.tracking.journal import Journal

    state = json.loads((job / "job.json").read_text())
    seen = [
        (op["t"] / 1000, op["step"], op["value"])
        for op in Journal(job).ops
        if op["op"] == "metric" and op["key"] == "num_input_tokens_seen"
    ]
    (t0, _, n0), (t1, _, n1) = seen[min(2, len(seen) - 2)], seen[-1]
    peak = json.loads((job / "rank-0.json").read_text())["peak_gpu_gib"]
    return {
        "first_step_s": round(seen[0][0] - state["started"], 1),
        "tokens_per_s": round((n1 - n0) / (t1 - t0)),
        "peak_gpu_gib": peak,
        "steps": len(seen),
    }


def train(label: str, model: Path, steps: int) -> Path:
    out = measured(
        f"train ({label})",
        [
            sys.executable,
            "-m",
            "core",
            "train",
            "assets/sample_pairs.jsonl",
            "--schema",
            "assets/sample_schema.sql",
            "--model",
            str(model),
            "--steps",
            str(steps),
            "--eval-fraction",
            "0.05",
            "--no-evaluate",
            "--checkpoint-every",
            "0",
            "--run-name",
            f"gpu-path-{label}",
        ],
        900,
    )
    job = Path(re.search(r"adapter: (\S+)/adapter", out["output"]).group(1))
    figures = job_figures(job)
    RESULTS[-1].update(figures)
    print(json.dumps({"stage": f"train ({label}) figures", **figures}), flush=True)
    return job


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shape", default="7b")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--stages", default="make,train16,merge16,eval16,train4,merge4")
    a = p.parse_args()
    # MLflow 3 refuses a plain folder store; a SQLite file needs no server
    os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{SCRATCH / 'gpu-path-mlflow.db'}")
    stages = a.stages.split(",")
    sixteen, four = make_models(a.shape)
    jobs = {}
    for bits, model in (("16", sixteen), ("4", four)):
        if f"train{bits}" in stages:
            jobs[bits] = train(f"{bits}-bit base", model, a.steps)
        if f"merge{bits}" in stages and bits in jobs:
            out = measured(
                f"export merged ({bits}-bit base)",
                [
                    sys.executable,
                    "-m",
                    "core",
                    "export",
                    "--adapter",
                    str(jobs[bits] / "adapter"),
                    "--format",
                    "merged",
                    "--check",
                    "4",
                    "--out",
                    str(SCRATCH / f"gpu-path-exports-{bits}"),
                    "--name",
                    f"merged-{bits}",
                ],
                900,
            )
            check = next((line for line in out["output"].splitlines() if "identical" in line), "")
            RESULTS[-1]["self_check"] = check.strip()
        if f"eval{bits}" in stages and bits in jobs:
            held = [
                json.loads(line) for line in Path(ROOT / "assets/sample_pairs.jsonl").read_text().splitlines()
            ]
            split = json.loads((jobs[bits] / "split.json").read_text())
            rows = [held[r - 1] for r in split["eval_rows"]]
            data = SCRATCH / f"gpu-path-held-out-{bits}.jsonl"
            data.write_text("".join(json.dumps(r) + "\n" for r in rows))
            out = measured(
                f"evaluate base vs adapter ({bits}-bit base, {len(rows)} rows)",
                [
                    sys.executable,
                    "-m",
                    "core",
                    "evaluate",
                    "--adapter",
                    str(jobs[bits] / "adapter"),
                    "--data",
                    str(data),
                    "--schema",
                    "assets/sample_schema.sql",
                    "--model",
                    str(sixteen if bits == "16" else four),
                    "--out",
                    str(SCRATCH / f"gpu-path-eval-{bits}.csv"),
                ],
                900,
            )
            RESULTS[-1]["rows_per_s"] = round(2 * len(rows) / out["seconds"], 2)
    lines = [
        "| stage | wall s | peak host GiB | first step s | tokens/s | peak GPU GiB | notes |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in RESULTS:
        notes = r.get("self_check") or (
            f"{r['rows_per_s']} rows/s (base + adapter)" if "rows_per_s" in r else ""
        )
        notes += "" if r["rc"] == 0 else f" FAILED rc {r['rc']}: {r['tail'][-1] if r['tail'] else ''}"
        lines.append(
            f"| {r['stage']} | {r['seconds']} | {r['peak_host_gib']} | {r.get('first_step_s', '')} | "
            f"{r.get('tokens_per_s', '')} | {r.get('peak_gpu_gib', '')} | {notes} |"
        )
    record(
        f"\n### The {a.shape} path through the CLI ({time.strftime('%Y-%m-%d')})\n\nCommand: `python bench/gpu_path.py "
        f"--shape {a.shape} --steps {a.steps} --stages {a.stages}`\n\n" + "\n".join(lines) + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
