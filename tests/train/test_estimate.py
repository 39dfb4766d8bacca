"""Time and memory estimates before Start, and what they learn from finished runs (issue 16, item 1)."""

import json
import time

from core.config import TrainConfig
from core.tracking.journal import Journal
from core.train import estimate as est
from core.train.batching import plan_batches


def fake_run(folder, tokens_per_s: float, start_s: float, steps: int, estimate: dict) -> None:
    """A finished job's files as the worker leaves them: job.json with its estimate, the journal's token counts."""
    folder.mkdir(parents=True)
    started = time.time() - 1000
    journal = Journal(folder)
    for step in range(1, steps + 1):
        t = started + start_s + step * 400 / tokens_per_s
        journal.append("metric", key="num_input_tokens_seen", value=400 * step, step=step)
        journal.ops[-1]["t"] = int(t * 1000)  # as if logged then
    lines = [json.dumps(op) for op in journal.ops]
    (folder / "tracking.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "job.json").write_text(
        json.dumps(
            {
                "status": "completed",
                "started": started,
                "finished": started + start_s + steps * 400 / tokens_per_s,
                "estimate": estimate,
            }
        )
    )


def test_the_estimate_learns_the_speed_of_this_machine(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "data"))
    model = (
        tmp_path / "model"
    )  # a model folder of the bundled model's shape (its config is all an estimate reads)
    model.mkdir()
    (model / "config.json").write_text(
        json.dumps(
            {
                "hidden_size": 576,
                "num_hidden_layers": 30,
                "vocab_size": 49152,
                "intermediate_size": 1536,
                "num_attention_heads": 9,
                "num_key_value_heads": 3,
                "tie_word_embeddings": True,
            }
        )
    )
    cfg = TrainConfig(
        data_path="x.jsonl", model=str(model), max_steps=100, batch_size=4, grad_accum=1, evaluate_after=False
    )
    plan = plan_batches(cfg, [100] * 400, cuda=False)  # 400 tokens a step
    first = est.estimate_run(cfg, plan, rows=400, cuda=False)
    assert first.runs == 0 and "rough" in first.describe()
    assert first.seconds == est.PRIOR_START_S["cpu"] + 100 * 400 / est.CPU_TOKENS_PER_S[est.cpu_precision()]
    kept = est.checkpointing(cfg, False, est.model_dims(cfg.model), plan.micro_batch_tokens, four_bit=False)
    key = est.run_key(cfg.model, cuda=False, held=est.held_as(False, False, kept))
    fake_run(
        tmp_path / "job1", tokens_per_s=250.0, start_s=30.0, steps=20, estimate={**vars(first), "key": key}
    )
    compared = est.record_run(tmp_path / "job1")
    assert compared["estimated_s"] == first.seconds and abs(compared["actual_s"] - (30 + 20 * 400 / 250)) < 1
    learned = est.estimate_run(cfg, plan, rows=400, cuda=False)
    assert learned.runs == 1 and "1 earlier run" in learned.describe()
    assert abs(learned.tokens_per_s - 250) < 2 and abs(learned.start_s - 30) < 1.5  # measured, not the prior
    assert abs(learned.seconds - (30 + 100 * 400 / 250)) < 5


def test_gpu_memory_estimate_from_the_model_shape_and_a_warning_when_it_does_not_fit():
    # Qwen2.5-Coder-7B's shape: measured 9.1 GiB at 16,384 tokens per micro-batch in 4-bit (docs/BENCHMARKS.md)
    seven_b = {
        "hidden": 3584,
        "layers": 28,
        "vocab": 152064,
        "inter": 18944,
        "kv_ratio": 4 / 28,
        "tied": False,
    }
    guess = est.memory_gib(seven_b, four_bit=True, micro_batch_tokens=16384)  # checkpointed, as it trains
    assert 8.0 < guess < 10.5
    assert est.memory_gib(seven_b, four_bit=False, micro_batch_tokens=16384) > 15
    big = est.Estimate(600, 60, 5000, peak_gib=90.0, runs=0)
    assert (
        not big.fits(free_gib=80.0)
        and big.fits(free_gib=120.0)
        and "90.0 GiB of 80 GiB free" in big.describe(80.0)
    )
