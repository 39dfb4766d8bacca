"""ChatML formatting: golden strings for the model's own template and for the plain-ChatML fallback,
and the per-token mask of trained tokens."""

import copy
from dataclasses import asdict

import pytest

from core.data import (
    DEFAULT_SYSTEM_TEMPLATE,
    Pair,
    TemplateError,
    build_messages,
    count_tokens_fn,
    render_example,
    system_prompt,
)
from core.data.chatml import render_chatml

PAIR = Pair("Total sales amount per region?", "SELECT region, SUM(amount) FROM sales GROUP BY region", 1)
SCHEMA = "CREATE TABLE sales (region TEXT, amount NUMERIC)"
GOLDEN = (
    "<|im_start|>system\nYou are a postgres SQL expert. Use this schema:\n"
    "CREATE TABLE sales (region TEXT, amount NUMERIC)<|im_end|>\n"
    "<|im_start|>user\nTotal sales amount per region?<|im_end|>\n"
    "<|im_start|>assistant\nSELECT region, SUM(amount) FROM sales GROUP BY region<|im_end|>\n"
)


def test_messages_and_system_template():
    messages = build_messages(PAIR, DEFAULT_SYSTEM_TEMPLATE, "postgres", SCHEMA)
    assert [m["role"] for m in messages] == ["system", "user", "assistant"]
    assert messages[0]["content"] == f"You are a postgres SQL expert. Use this schema:\n{SCHEMA}"
    row_schema = Pair("q", "SELECT 1", 1, schema="CREATE TABLE t (a INT)")
    assert "CREATE TABLE t" in build_messages(row_schema, schema_text=SCHEMA)[0]["content"]


def test_bad_template_is_a_clear_error():
    with pytest.raises(TemplateError, match="placeholder"):
        system_prompt("Use {tables}", "postgres", "")


def test_plain_chatml_golden():
    assert render_chatml(build_messages(PAIR, schema_text=SCHEMA)) == GOLDEN


def test_model_template_golden_and_mask(tokenizer):
    ex = render_example(build_messages(PAIR, schema_text=SCHEMA), tokenizer)
    assert ex.text == GOLDEN  # SmolLM2's own template is ChatML
    trained = "".join(t for t, m in zip(ex.tokens, ex.trained, strict=True) if m)
    assert trained == "SELECT region, SUM(amount) FROM sales GROUP BY region<|im_end|>\n"
    assert ex.trained[: len(ex.trained) // 2] == [False] * (len(ex.trained) // 2)
    # the model's template, not ours: without a system turn it adds SmolLM's default system prompt
    no_system = tokenizer.apply_chat_template(build_messages(PAIR)[1:], tokenize=False)
    assert no_system.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM")


def test_fallback_chatml_when_the_tokenizer_has_no_template(tokenizer):
    bare = copy.deepcopy(tokenizer)
    bare.chat_template = None
    ex = render_example(build_messages(PAIR, schema_text=SCHEMA), bare)
    assert ex.text == GOLDEN
    assert ex.prompt_text == GOLDEN.split("SELECT")[0]
    assert ex.answer_text == "SELECT region, SUM(amount) FROM sales GROUP BY region<|im_end|>\n"
    no_system = bare.apply_chat_template(build_messages(PAIR)[1:], tokenize=False)
    assert no_system.startswith("<|im_start|>user\n")  # plain ChatML adds nothing


def test_bundled_model_ends_its_turn_with_im_end(tokenizer):
    # the GGUF metadata says <|im_start|>; generation must stop at the end of the assistant turn instead
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|im_end|>"


def test_whole_sequence_mask_when_not_answer_only(tokenizer):
    ex = render_example(build_messages(PAIR, schema_text=SCHEMA), tokenizer, answer_only=False)
    assert all(ex.trained)


def test_token_counter_matches_rendering(tokenizer):
    count = count_tokens_fn(tokenizer, DEFAULT_SYSTEM_TEMPLATE, "postgres", SCHEMA)
    assert count([PAIR]) == [
        len(render_example(build_messages(PAIR, schema_text=SCHEMA), tokenizer).token_ids)
    ]


def test_fast_token_counts_equal_whole_renderings_on_every_sample_row(tokenizer):
    from core.data import count_tokens_fn, load_pairs
    from core.data.chatml import FAST_COUNT_MIN_ROWS
    from core.paths import SAMPLE_PAIRS

    pairs = load_pairs(SAMPLE_PAIRS)
    assert len(pairs) >= FAST_COUNT_MIN_ROWS  # the assembled path is the one used here
    count = count_tokens_fn(tokenizer, DEFAULT_SYSTEM_TEMPLATE, "postgres", "CREATE TABLE t (a INT)")
    exact = [
        len(
            tokenizer(
                tokenizer.apply_chat_template(
                    build_messages(p, DEFAULT_SYSTEM_TEMPLATE, "postgres", "CREATE TABLE t (a INT)"),
                    tokenize=False,
                ),
                add_special_tokens=False,
            )["input_ids"]
        )
        for p in pairs
    ]
    assert count(pairs) == exact


def test_fast_token_counts_fall_back_when_the_template_edits_the_text(tokenizer):
    from core.data import Pair, count_tokens_fn

    # a template that upper-cases the content: the parts no longer add up, so every row is rendered whole
    odd = copy.deepcopy(tokenizer)
    odd.chat_template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] | upper }}<|im_end|>\n"
        "{% endfor %}"
    )
    pairs = [Pair(f"how many rows in t{i}?", f"select count(*) from t{i}", i + 1) for i in range(300)]
    exact = [
        len(
            odd(odd.apply_chat_template(build_messages(p), tokenize=False), add_special_tokens=False)[
                "input_ids"
            ]
        )
        for p in pairs
    ]
    assert count_tokens_fn(odd, DEFAULT_SYSTEM_TEMPLATE, "postgres", "")(pairs) == exact


def test_schema_in_the_prompt_full_relevant_or_none():
    from core.config import TrainConfig
    from core.data import Pair, load_schema_file, schema_ddl_only
    from core.paths import SAMPLE_SCHEMA

    schema = schema_ddl_only(load_schema_file(SAMPLE_SCHEMA))
    question = Pair("Which customers are based in the Ile-de-France region?", "SELECT 1", 1)
    cfg = TrainConfig(data_path="x.jsonl", schema_path=str(SAMPLE_SCHEMA))
    full = TrainConfig(**{**cfg.to_dict(), "schema_in_prompt": "full"}).prompt_format(schema).system(question)
    assert all(f"CREATE TABLE {t}" in full for t in ("regions", "customers", "products", "sales"))
    relevant = (
        TrainConfig(**{**cfg.to_dict(), "schema_in_prompt": "relevant"})
        .prompt_format(schema)
        .system(question)
    )
    assert "CREATE TABLE customers" in relevant and "CREATE TABLE regions" in relevant
    assert "CREATE TABLE sales" not in relevant and "CREATE TABLE products" not in relevant
    none = TrainConfig(**{**cfg.to_dict(), "schema_in_prompt": "none"}).prompt_format(schema).system(question)
    assert none == "You are a postgres SQL expert for the company_sales database."
    unmentioned = TrainConfig(**{**cfg.to_dict(), "schema_in_prompt": "relevant"}).prompt_format(schema)
    assert (
        unmentioned.system(Pair("What is the meaning of it all?", "", 2)) == full
    )  # nothing named: all tables


def test_relevant_tables_are_found_by_english_plurals_and_old_records_keep_their_rule():
    """ "countries" names a country column, "people" a person table, "addresses" an address column (the suffix rule
    said "countrys", "peoples", "addresse"); a prompt record from before keeps the rule it was trained with."""
    from core.data.schema import relevant_schema
    from core.prompt_record import PromptRecord

    schema = (
        "CREATE TABLE people (id INT, name TEXT);\nCREATE TABLE offices (id INT, address TEXT);\n"
        "CREATE TABLE makers (id INT, country TEXT);\nCREATE TABLE cars (id INT, model TEXT)"
    )

    def tables(question: str, plurals: str = "inflect") -> list[str]:
        kept = relevant_schema(question, schema, "postgres", plurals)
        return [t for t in ("people", "offices", "makers", "cars") if f"CREATE TABLE {t} " in kept]

    assert tables("Which person owns the most cars?") == ["people", "cars"]
    assert tables("List the addresses of every office.") == ["offices"]
    assert tables("How many countries make cars?") == ["makers", "cars"]
    assert tables("Which person owns the most cars?", "suffix") == ["cars"]
    assert tables("How many countries make cars?", "suffix") == ["cars"]
    record = PromptRecord("bundled", schema_text=schema, schema_mode="relevant")
    assert record.plurals == "inflect" and PromptRecord.from_dict(asdict(record)) == record
    before = {k: v for k, v in asdict(record).items() if k != "plurals"}  # a studio_prompt.json of before
    assert PromptRecord.from_dict(before).plurals == "suffix"
    question = "How many countries make cars?"
    trained = PromptRecord.from_dict(before).prompt_messages(question)[0]["content"]
    assert "CREATE TABLE cars" in trained and "CREATE TABLE makers" not in trained  # as it was trained
    assert "CREATE TABLE makers" in record.prompt_messages(question)[0]["content"]


def test_defaults_fit_the_model_and_the_machine():
    from core.defaults import BUNDLED_MODEL, RECIPE, recommended_settings

    small = recommended_settings(BUNDLED_MODEL, gpu=False)
    assert small["learning_rate"] == 1e-3 and small["batch_size"] == 4 and small["grad_accum"] == 1
    assert small["schema_in_prompt"] == "none" and small["evaluate_after"] is True
    # a small model on a GPU: the small model's learning settings, many more epochs
    on_gpu = recommended_settings(BUNDLED_MODEL, gpu=True)
    assert on_gpu["learning_rate"] == 1e-3 and on_gpu["schema_in_prompt"] == "none" and on_gpu["epochs"] == 15
    assert recommended_settings("my/model", True, parameters=0.49e9) == on_gpu  # a 0.5B model, by its size
    for model, gpu, size in (
        ("unsloth/Qwen2.5-Coder-7B", True, 7.6e9),
        ("unsloth/Qwen2.5-Coder-7B", False, 7.6e9),
        ("unsloth/Qwen2.5-Coder-1.5B-Instruct", True, 1.5e9),
        ("a/model/of/unknown/size", True, None),
    ):
        assert recommended_settings(model, gpu, size) == {**RECIPE, "evaluate_after": True}


def test_the_machine_decides_precision_checkpointing_and_bf16(monkeypatch):
    """4-bit only for models over 3B on a GPU; checkpointing only where kept activations would crowd the device;
    bfloat16 base weights on a CPU only where the CPU has bfloat16 units (both branches)."""
    import torch

    from core.config import TrainConfig
    from core.train import precision
    from core.train.model_size import model_dims

    bundled, seven_b = (
        model_dims("bundled"),
        {
            "hidden": 3584,
            "layers": 28,
            "vocab": 152064,
            "inter": 18944,
            "kv_ratio": 4 / 28,
            "tied": False,
        },
    )
    auto = TrainConfig()
    assert precision.four_bit_for(auto, True, bundled) is False and precision.four_bit_for(
        auto, True, seven_b
    )
    assert precision.four_bit_for(auto, False, seven_b) is False  # no 4-bit without CUDA
    assert precision.four_bit_for(TrainConfig(load_in_4bit=True), True, bundled)  # the person's choice wins
    monkeypatch.setattr(precision, "device_gib", lambda cuda: 80.0)  # an H100
    assert not precision.checkpointing(auto, True, bundled, 65536, four_bit=False)  # about 34 GiB kept: fits
    assert precision.checkpointing(auto, True, seven_b, 16384, four_bit=True)  # about 46 GiB of activations
    assert precision.checkpointing(TrainConfig(gradient_checkpointing=True), True, bundled, 4096, False)
    monkeypatch.setattr(precision, "device_gib", lambda cuda: None)
    assert precision.checkpointing(auto, True, bundled, 4096, False)  # unknown memory: the safe choice

    monkeypatch.setattr(precision, "_cpu_flags", lambda: frozenset({"avx512f", "avx512_bf16"}))
    assert precision.base_dtype(cuda=False) == torch.bfloat16
    assert precision.base_dtype(cuda=True) is None  # on a GPU Unsloth chooses
    assert precision.held_as(False, False, checkpointed=False) == "bf16-kept"
    monkeypatch.setattr(precision, "_cpu_flags", lambda: frozenset({"avx512f", "avx2"}))
    assert precision.base_dtype(cuda=False) == torch.float32
    assert precision.held_as(False, False, checkpointed=True) == "fp32"
    monkeypatch.setenv("STUDIO_CPU_BF16", "off")
    monkeypatch.setattr(precision, "_cpu_flags", lambda: frozenset({"amx_bf16"}))
    assert precision.base_dtype(cuda=False) == torch.float32


def test_a_template_change_counts_only_the_new_frame_not_every_question_and_sql_again(tokenizer):
    """Re-validation after editing the system prompt: question and SQL token counts come from the cache."""

    class Counting:  # the tokenizer, counting the texts it is asked to tokenize
        def __init__(self, inner):
            self.inner, self.texts = inner, 0

        def __call__(self, text, **kw):
            self.texts += 1 if isinstance(text, str) else len(text)
            return self.inner(text, **kw)

        def count_tokens(self, texts):
            self.texts += len(texts)
            return self.inner.count_tokens(texts)

        def __getattr__(self, name):
            return getattr(self.inner, name)

    counting = Counting(tokenizer)
    pairs = [
        Pair(f"How many orders in week {i}?", f"SELECT COUNT(*) FROM orders WHERE week = {i}", i + 1)
        for i in range(400)
    ]
    count_tokens_fn(counting, DEFAULT_SYSTEM_TEMPLATE, "postgres", SCHEMA)(pairs)
    assert (
        counting.texts >= 400
    )  # at least each distinct week number (texts are counted by their distinct words)
    counting.texts = 0
    other = "You write {dialect} SQL. Schema:\n{schema}"
    counts = count_tokens_fn(counting, other, "postgres", SCHEMA)(pairs)
    assert counting.texts < 100  # the frame and the spot checks only
    exact = [
        len(
            tokenizer(
                tokenizer.apply_chat_template(build_messages(p, other, "postgres", SCHEMA), tokenize=False),
                add_special_tokens=False,
            )["input_ids"]
        )
        for p in pairs
    ]
    assert counts == exact


def test_counts_from_distinct_words_equal_whole_counts_and_tokenize_much_less(tokenizer):
    """A big file's questions and SQL are counted from their distinct words (the tokenizer's regex is most of the
    time); texts where a space follows other whitespace are counted whole."""
    from core.data.word_counts import count_by_words

    tricky = [
        "a  b",
        " lead",
        "trail ",
        "x\n y",
        "tab\t z",
        "",
        "héllo wörld 12345",
        "a\u00a0 b",
        "emoji 🙂 ok",
        "SELECT 'it''s' , \"Col A\"  FROM t\n\nWHERE x = 1",
        "<|im_end|> after",
        "it's  them,they're",
    ]
    texts = [f"How many orders in week {i % 7}, region {i % 5}?" for i in range(400)] + tricky
    asked = []

    def count(some):
        asked.extend(some)
        return tokenizer.count_tokens(some)

    assert count_by_words(texts, count) == tokenizer.count_tokens(texts)
    assert count_by_words(texts[:400], count) == tokenizer.count_tokens(texts[:400])  # none counted whole
    assert sum(map(len, asked)) < sum(map(len, texts)) / 20


def test_a_tokenizer_whose_counts_are_not_sums_of_its_words_is_counted_whole():
    """SentencePiece-style tokenizers mark each word start ('▁'): "a b" is not "a" plus " b" there."""
    from core.data.word_counts import words_add_up

    def marked(texts):  # each word gets a start marker; a leading space is one more piece
        return [len(text.split()) + text.startswith(" ") for text in texts]

    assert not words_add_up(marked)
    pairs = [Pair(f"how many rows in table {i}?", f"select count(*) from t{i}", i + 1) for i in range(300)]

    class Marked:
        chat_template = "{% for m in messages %}{{ m['content'] }}\n{% endfor %}"
        renders = 0

        def apply_chat_template(self, messages, tokenize=False, **kw):
            self.renders += 1
            return "".join(m["content"] + "\n" for m in messages)

        def __call__(self, texts, add_special_tokens=False):
            return {"input_ids": [[0] * n for n in marked(texts)]}

    tokenizer = Marked()
    counts = count_tokens_fn(tokenizer, "{schema}", "postgres", "")(pairs)
    assert counts == [marked([f"(no schema given)\n{p.question}\n{p.sql}\n"])[0] for p in pairs]
    assert (
        tokenizer.renders < 50
    )  # whole questions and SQL added up: only the frame and the spot checks rendered
