"""The base model's answers are kept by what decides them: the same model, prompts and settings are answered from
the cache by a new generation process without loading the model; anything else asks the model."""

import uuid

from core.evaluate import answer_cache
from core.evaluate.generator_process import GeneratorProcess
from core.train import resolve_model

KEPT = "the base model's answers to these prompts are kept from an earlier evaluation"


def test_a_repeated_request_is_answered_without_loading_the_model():
    question = f"How many customers are there? ({uuid.uuid4().hex[:8]})"  # never asked before
    prompts = [[{"role": "system", "content": "You write SQLite."}, {"role": "user", "content": question}]]
    first_lines, longer_lines, again_lines = [], [], []
    with GeneratorProcess(keep=1) as generator:
        first = generator.generate(
            "bundled", None, False, prompts, max_new_tokens=8, progress=first_lines.append
        )
        longer = generator.generate(
            "bundled", None, False, prompts, max_new_tokens=9, progress=longer_lines.append
        )
    with GeneratorProcess(keep=1) as generator:  # a later evaluation: a new process
        again = generator.generate(
            "bundled", None, False, prompts, max_new_tokens=8, progress=again_lines.append
        )
        grown = generator.generate("bundled", None, False, [*prompts, prompts[0][:1]], max_new_tokens=8)
    assert KEPT not in first_lines and any(line.startswith("loading") for line in first_lines)
    assert KEPT not in longer_lines and len(longer) == 1  # another token limit: asked, not read back
    assert again == first and again_lines == [KEPT]  # no "loading": the model was not loaded for it
    assert grown[0] == first[0] and len(grown) == 2  # a question more: the kept answer read back beside it


def test_only_the_base_model_on_a_cpu_is_kept_and_every_setting_is_in_the_key():
    source = resolve_model("bundled")
    request = {"adapter": None, "trust": False, "prompts": [[{"role": "user", "content": "q"}]]}
    request |= {"max_new_tokens": 96, "batch_size": 0}
    base = answer_cache.key(source, request, "cpu")
    assert base and base == answer_cache.key(source, dict(request), "cpu")
    assert (
        answer_cache.key(source, {**request, "adapter": "runs/1/adapter"}, "cpu") is None
    )  # each adapter is new
    assert answer_cache.key(source, request, "cuda") is None  # a GPU's batch size follows its free memory
    for change in (
        {"prompts": [[{"role": "user", "content": "q2"}]]},
        {"max_new_tokens": 95},
        {"trust": True},
    ):
        assert answer_cache.key(source, {**request, **change}, "cpu") != base
    # kept prompt by prompt: a prompt's key does not depend on the other prompts of its request
    one, other = request["prompts"][0], [{"role": "user", "content": "q3"}]
    grown = {**request, "prompts": [one, other]}
    assert answer_cache.key(source, request, "cpu", prompt=one) == answer_cache.key(
        source, grown, "cpu", prompt=one
    )
    assert answer_cache.key(source, grown, "cpu", prompt=other) != answer_cache.key(
        source, grown, "cpu", prompt=one
    )
