"""The reinforcement phase's reward (core.train.reinforce): the database judges each answer - 1 for the gold result,
0.1 for SQL that runs but returns something else, 0 for SQL that fails, times out or is not there. The phase itself
runs for real in tests/evaluate/test_evaluate.py (two GRPO steps after the supervised ones, then evaluated)."""

import pytest

from core.data import Pair, PromptFormat
from core.db import open_database
from core.paths import SAMPLE_DATA, SAMPLE_SCHEMA
from core.train.reinforce import REWARD_RIGHT, REWARD_RUNS, DatabaseReward, _TorchLogProbs, prompt_rows

GOLD = "SELECT r.name, SUM(s.amount) FROM sales s JOIN regions r ON s.region_id = r.region_id GROUP BY r.name"


@pytest.fixture(scope="module")
def reward():
    return DatabaseReward(
        open_database("duckdb", SAMPLE_SCHEMA.read_text(), SAMPLE_DATA, timeout_s=2), "postgres"
    )


@pytest.mark.parametrize(
    "answer,expected",
    [
        # the right rows in another order, with aliases, in a fence: right
        (
            "```sql\nSELECT r.name AS region, SUM(s.amount) AS total FROM regions r JOIN sales s "
            "ON s.region_id = r.region_id GROUP BY r.name ORDER BY total\n```",
            REWARD_RIGHT,
        ),
        ("SELECT SUM(amount) FROM sales", REWARD_RUNS),  # runs, wrong result
        ("SELECT region, SUM(amount) FROM sales GROUP BY region", 0.0),  # fails: no such column
        ("SELECT COUNT(*) FROM sales a, sales b, sales c, sales d", 0.0),  # times out
        ("DROP TABLE sales", 0.0),  # not a read: never run
        ("There are eight regions.", 0.0),  # no SQL
    ],
)
def test_the_database_judges_each_answer(reward, answer, expected):
    conversational = [{"role": "assistant", "content": answer}]
    assert reward(["q"], [answer], gold_sql=[GOLD]) == [expected]
    assert reward(["q"], [conversational], gold_sql=[GOLD]) == [expected]  # TRL's chat form of a completion


def test_gold_results_run_once_and_rows_carry_the_gold_sql(reward):
    reward(["q"] * 3, ["SELECT 1"] * 3, gold_sql=[GOLD] * 3)
    assert list(reward._gold) == [GOLD]
    fmt = PromptFormat(
        "You are a {dialect} SQL expert for the {database} database.", "postgres", "", "none", "shop"
    )
    [row] = prompt_rows([Pair("Sales per region?", GOLD, 1)], fmt)
    assert [m["role"] for m in row["prompt"]] == ["system", "user"] and row["gold_sql"] == GOLD


def test_the_plain_torch_log_probabilities_match_a_log_softmax():
    """The CPU stand-in for TRL's Triton kernel: the same numbers as the textbook formula."""
    import torch

    torch.manual_seed(0)
    hidden, weight, targets = torch.randn(5, 8), torch.randn(11, 8), torch.randint(0, 11, (5,))
    log_p, entropy, _, _, top1 = _TorchLogProbs.apply(
        hidden, weight, None, targets, 0.5, 4, None, 1.0, ("log_probs", "entropy", "is_top1")
    )
    reference = torch.log_softmax(hidden @ weight.t() / 0.5, dim=-1)
    assert torch.allclose(log_p, reference.gather(-1, targets[:, None]).squeeze(-1), atol=1e-5)
    assert torch.allclose(entropy, -(reference.exp() * reference).sum(-1), atol=1e-5)
    assert torch.equal(top1, reference.argmax(-1) == targets)


def test_a_resume_inside_the_reinforcement_continues_from_its_own_checkpoint(tmp_path):
    """After the supervised steps, the reinforcement phase's checkpoints come first, numbered after those steps."""
    from core.train.jobs import latest_checkpoint, write_job

    write_job(tmp_path, job_id="j", supervised_steps=40)
    for kind, step in (("checkpoints", 40), ("checkpoints-reinforce", 2), ("checkpoints-reinforce", 4)):
        (tmp_path / kind / f"checkpoint-{step}").mkdir(parents=True)
        (tmp_path / kind / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    path, step = latest_checkpoint(tmp_path)
    assert (path.parent.name, path.name, step) == ("checkpoints-reinforce", "checkpoint-4", 44)
    (tmp_path / "checkpoints-reinforce" / "checkpoint-4" / "trainer_state.json").unlink()  # half-written
    assert latest_checkpoint(tmp_path)[1] == 42


def test_the_loss_chart_shows_the_mean_reward_beside_the_loss():
    from app.charts import loss_figure

    figure = loss_figure([(1, 2.0), (2, 1.5)], [], reward=[(3, 0.1), (4, 0.35)])
    reward = next(t for t in figure.data if t.name == "mean reward (GRPO)")
    assert (
        list(reward.x) == [3, 4] and reward.yaxis == "y2" and tuple(figure.layout.yaxis2.range) == (0, 1.05)
    )
    assert all(t.name != "mean reward (GRPO)" for t in loss_figure([(1, 2.0)], []).data)


def test_an_empty_gold_result_earns_only_the_running_reward(reward):
    """Any query that finds nothing would match an empty gold result: it earns what running earns, not the right
    result's reward (else a run's reinforcement would learn to find nothing)."""
    empty = "SELECT name FROM regions WHERE 1 = 0"
    assert reward(["q"], ["SELECT name FROM regions WHERE name = 'Atlantis'"], gold_sql=[empty]) == [
        REWARD_RUNS
    ]
    assert reward(["q"], ["SELECT nope FROM regions"], gold_sql=[empty]) == [0.0]


def test_the_eta_adds_the_later_phase_by_its_estimate_and_then_follows_its_pace():
    """During the supervised steps the reinforcement's steps are not paced by them (a GRPO step on a CPU is a minute,
    a supervised one a second): the ETA adds the reinforcement's estimated seconds instead."""
    import time

    from core.runstate import RunState

    now = time.time()
    state = RunState(status="running", step=50, total_steps=110, paced_from=now - 50, paced_from_step=0)
    state.later_steps, state.later_s = 10, 600.0
    eta = state.snapshot()["eta"]
    assert 640 < eta < 665  # 50 supervised steps left at about 1 s each, then the reinforcement's 600 s
