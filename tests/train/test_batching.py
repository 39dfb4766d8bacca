"""The batch plan: classic batches without a GPU, a token budget of packed pairs with one."""

from core.config import TrainConfig
from core.train import plan_batches
from core.train.batching import AUTO_MAX_TOKENS, AUTO_MIN_TOKENS, PACKED_SEQ_LENGTH


def test_without_a_gpu_a_step_is_batch_times_accumulation_even_when_packing_is_asked_for():
    plan = plan_batches(TrainConfig(batch_size=2, grad_accum=4, packing=True), [200] * 400, cuda=False)
    assert not plan.packing and plan.per_device_batch == 2 and plan.grad_accum == 4
    assert plan.pairs_per_step == 8 and plan.max_length == 2048
    assert plan.epochs(50, 400) == 1.0 and plan.steps_for_epochs(2.5, 400) == 125


def test_on_a_gpu_a_small_dataset_gets_the_smallest_budget_so_an_epoch_keeps_its_steps():
    plan = plan_batches(TrainConfig(), [250] * 400, cuda=True)  # 100k tokens
    assert plan.packing and plan.micro_batch_tokens == AUTO_MIN_TOKENS
    assert plan.max_length == AUTO_MIN_TOKENS and plan.per_device_batch == 1 and plan.grad_accum == 4
    assert round(plan.pairs_per_step, 1) == round(4 * AUTO_MIN_TOKENS / 250, 1)


def test_on_a_gpu_a_large_dataset_gets_the_largest_budget_as_several_packed_rows():
    plan = plan_batches(TrainConfig(), [150] * 20_000, cuda=True)  # 3M tokens
    assert plan.micro_batch_tokens == AUTO_MAX_TOKENS
    assert (
        plan.max_length == PACKED_SEQ_LENGTH and plan.per_device_batch == AUTO_MAX_TOKENS // PACKED_SEQ_LENGTH
    )
    assert 1.0 < plan.epochs(60, 20_000) < 3.0  # the default 60 steps stay a sensible number of epochs
    assert "micro-batches of 16,384 tokens" in plan.describe()


def test_a_mid_sized_dataset_is_spread_over_about_twenty_steps_an_epoch():
    plan = plan_batches(TrainConfig(grad_accum=1), [200] * 1000, cuda=True)  # 200k tokens -> 10k per step
    assert plan.micro_batch_tokens == 8192 and plan.per_device_batch == 1  # whole packed rows of at most 8192
    assert 18 <= 1000 / plan.pairs_per_step <= 25


def test_explicit_budget_packing_off_and_long_rows_are_respected():
    explicit = plan_batches(TrainConfig(batch_tokens=32768), [200] * 10, cuda=True)
    assert explicit.micro_batch_tokens == 32768 and explicit.per_device_batch == 4
    off = plan_batches(TrainConfig(packing=False, batch_size=16, grad_accum=1), [200] * 10, cuda=True)
    assert not off.packing and off.pairs_per_step == 16
    long_rows = plan_batches(TrainConfig(max_seq_length=16384), [200] * 10, cuda=True)
    assert long_rows.max_length == 16384 and long_rows.per_device_batch == 1
