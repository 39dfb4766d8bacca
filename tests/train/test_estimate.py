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


def test_a_gpu_plan_for_each_model_size_from_the_cost_model(tmp_path, monkeypatch):
    """Before any run here, a GPU's estimate is the cost model's: the time from the model's training FLOPs, the
    memory from how it will be held (16-bit up to 3B, 4-bit beyond; activations kept where they fit an 80 GiB card).
    The figures measured on a GPU stand in docs/BENCHMARKS.md ("Issue 37"); here their shape is checked."""
    from core.train import precision

    monkeypatch.setattr(precision, "device_gib", lambda cuda: 80.0)
    shapes = {  # hidden, layers, vocab, intermediate, heads, kv heads, tied: Qwen2.5-Coder and the bundled model
        "135m": (576, 30, 49152, 1536, 9, 3, True),
        "0.5b": (896, 24, 151936, 4864, 14, 2, True),
        "1.5b": (1536, 28, 151936, 8960, 12, 2, True),
        "7b": (3584, 28, 152064, 18944, 28, 4, False),
    }
    guesses = {}
    for name, (h, layers, vocab, inter, heads, kv, tied) in shapes.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "config.json").write_text(
            json.dumps(
                {
                    "hidden_size": h,
                    "num_hidden_layers": layers,
                    "vocab_size": vocab,
                    "intermediate_size": inter,
                    "num_attention_heads": heads,
                    "num_key_value_heads": kv,
                    "tie_word_embeddings": tied,
                }
            )
        )
        cfg = TrainConfig(data_path="x.jsonl", model=str(folder), max_steps=100, evaluate_after=False)
        plan = plan_batches(cfg, [200] * 2000, cuda=True)
        guesses[name] = est.estimate_run(cfg, plan, rows=2000, cuda=True)
        dims = est.model_dims(str(folder))
        assert est.four_bit_for(cfg, True, dims) == (name == "7b")
    speeds = [guesses[n].tokens_per_s for n in shapes]
    assert speeds == sorted(speeds, reverse=True)  # the larger the model, the fewer tokens a second
    # measured: about 40k (135M), 27k (1.5B), 10k (7B, 4-bit) tokens/s on an H100/H200
    assert 30_000 < guesses["135m"].tokens_per_s < 60_000 and 5_000 < guesses["7b"].tokens_per_s < 15_000
    assert guesses["135m"].peak_gib < guesses["1.5b"].peak_gib and all(
        g.peak_gib < 80 for g in guesses.values()
    )
