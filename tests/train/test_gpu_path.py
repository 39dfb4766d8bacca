"""The GPU path as its users run it (issue 15), for both kinds of base repository: a 16-bit model that Unsloth
quantizes on load, and a pre-quantized bitsandbytes 4-bit one. Run on a GPU host with `pytest -m gpu
tests/train/test_gpu_path.py -s` (Qwen2.5-Coder-1.5B's shape by default, STUDIO_GPU_PATH_SHAPE=7b for the real size;
bench/gpu_path.py measures the 7B figures). Through the CLI: train with the GPU defaults, evaluate base vs adapter,
export merged (with its self-check); the merged model is 16-bit, never 4-bit, and the merge stays within the 16-bit
model's size of host memory plus a margin."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.gpu
SHAPE = os.environ.get("STUDIO_GPU_PATH_SHAPE", "1.5b")


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    from core.train import gpu_count

    if gpu_count() == 0:
        pytest.skip("needs a CUDA GPU")
    sys.path.insert(0, str(ROOT))
    from bench.gpu_path import make_models

    return make_models(SHAPE)


def cli(*args, tracking_uri: str, timeout=1800) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "core", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "MLFLOW_TRACKING_URI": tracking_uri},
    )
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    return done.stdout


@pytest.mark.parametrize("kind", ["16-bit", "4-bit"])
def test_train_evaluate_and_merge_through_the_cli(bases, kind, tmp_path, mlflow_server):
    from bench.gpu_path import measured

    model = bases[0] if kind == "16-bit" else bases[1]
    out = cli(
        "train",
        "assets/sample_pairs.jsonl",
        "--schema",
        "assets/sample_schema.sql",
        "--model",
        str(model),
        "--steps",
        "10",
        "--eval-fraction",
        "0.05",
        "--checkpoint-every",
        "0",
        "--run-name",
        f"gpu-path-{kind}",
        tracking_uri=mlflow_server,
    )
    assert "status: completed" in out and "execution accuracy on" in out, out[-2000:]
    job = Path(out.split("adapter: ")[-1].split()[0]).parent
    assert json.loads((job / "rank-0.json").read_text())["peak_gpu_gib"] > 0
    merged = measured(
        f"merge ({kind})",
        [
            sys.executable,
            "-m",
            "core",
            "export",
            "--adapter",
            str(job / "adapter"),
            "--format",
            "merged",
            "--check",
            "4",
            "--out",
            str(tmp_path),
        ],
        1800,
    )
    assert merged["rc"] == 0, merged["tail"]
    folder = next(tmp_path.glob("*-merged-f16"))
    config = json.loads((folder / "config.json").read_text())
    assert (
        "quantization_config" not in config and config["torch_dtype"] == "float16"
    )  # never merged into 4-bit
    sixteen_bit_gib = sum(f.stat().st_size for f in folder.glob("*.safetensors")) / 2**30
    print(
        f"\n{kind}: merge {merged['seconds']} s, peak host {merged['peak_host_gib']} GiB for a {sixteen_bit_gib:.1f} "
        f"GiB 16-bit model; {next(line for line in merged['output'].splitlines() if 'Self-check' in line)}"
    )
    assert merged["peak_host_gib"] < sixteen_bit_gib + 4
