"""Turn a pair into the exact conversation and string the model is trained on.

Each pair becomes system/user/assistant messages. The string is rendered with the model's own chat
template, or with plain ChatML when the tokenizer has none (we then install CHATML_TEMPLATE on the
tokenizer, so training and preview use one path). The trained tokens are those after the prompt (the
assistant's answer and its end-of-turn marker): the same split TRL makes for prompt/completion rows.
"""

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from core.data.load import Pair
from core.data.schema import relevant_schema
from core.data.word_counts import count_by_words, words_add_up

DEFAULT_SYSTEM_TEMPLATE = "You are a {dialect} SQL expert. Use this schema:\n{schema}"

# Plain ChatML, for tokenizers without a chat template. `add_generation_prompt` opens the assistant turn.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


SCHEMA_MODES = ("full", "relevant", "none")


class TemplateError(ValueError):
    """A system prompt template that cannot be filled."""


def system_prompt(template: str, dialect: str, schema_text: str, database: str = "") -> str:
    try:
        return template.format(
            dialect=dialect, schema=schema_text.strip() or "(no schema given)", database=database or "this"
        )
    except (KeyError, IndexError, ValueError) as e:
        raise TemplateError(
            f"The system prompt template has an unknown placeholder or a stray brace ({e}). "
            "Use only {dialect}, {schema} and {database}; write {{ and }} for literal braces."
        ) from None


@dataclass(frozen=True)
class PromptFormat:
    """How a pair becomes the system and user turns: the template, the dialect, and what the prompt says about the
    database: its whole compact schema ("full"), only the tables the question needs ("relevant"), or nothing but
    its name ("none": the adapter learns the schema from the pairs). One object for training, validation, preview,
    evaluation, the playground and exports, so they all build the same prompt."""

    template: str = DEFAULT_SYSTEM_TEMPLATE
    dialect: str = "postgres"
    schema_text: str = ""  # the compact CREATE TABLEs of the whole database
    mode: str = "full"
    database: str = ""
    plurals: str = "inflect"  # how "relevant" finds the tables a question names (core.data.schema.PLURALS)

    def schema_for(self, question: str) -> str:
        if self.mode == "none":
            return ""
        if self.mode == "relevant" and self.schema_text:
            return relevant_schema(question, self.schema_text, self.dialect, self.plurals)
        return self.schema_text

    def system(self, pair: Pair) -> str:
        """The system turn of a pair. A per-row schema (a file's context column) wins over the database's."""
        schema = pair.schema or self.schema_for(pair.question)
        return system_prompt(self.template, self.dialect, schema, self.database)

    def messages(self, pair: Pair) -> list[dict]:
        """system/user/assistant messages for one pair (the assistant turn is the SQL answer)."""
        return [
            {"role": "system", "content": self.system(pair)},
            {"role": "user", "content": pair.question},
            {"role": "assistant", "content": pair.sql},
        ]

    def prompt(self, question: str) -> list[dict]:
        """The system and user turns for a question, as the model sees them when asked to answer it."""
        return self.messages(Pair(question, "", 0))[:-1]


def build_messages(
    pair: Pair, template: str = DEFAULT_SYSTEM_TEMPLATE, dialect: str = "postgres", schema_text: str = ""
) -> list[dict]:
    """system/user/assistant messages for one pair, with the whole schema in the prompt."""
    return PromptFormat(template, dialect, schema_text).messages(pair)


def render_chatml(messages: list[dict], add_generation_prompt: bool = False) -> str:
    """Plain ChatML, without a tokenizer (same output as CHATML_TEMPLATE)."""
    text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return text + ("<|im_start|>assistant\n" if add_generation_prompt else "")


def ensure_chat_template(tokenizer) -> bool:
    """Give a tokenizer without a chat template plain ChatML. Returns True when the model had its own."""
    if getattr(tokenizer, "chat_template", None):
        return True
    tokenizer.chat_template = CHATML_TEMPLATE
    return False


def as_prompt_completion(messages: list[dict]) -> dict:
    """The training row TRL trains on with loss on the answer only."""
    return {"prompt": messages[:-1], "completion": messages[-1:]}


@dataclass
class RenderedExample:
    text: str  # the exact training string
    prompt_text: str  # the part that is context only (not trained)
    token_ids: list[int]
    trained: list[bool]  # per token: is it in the loss?
    tokens: list[str]  # per token, the text it decodes to

    @property
    def answer_text(self) -> str:
        return self.text[len(self.prompt_text) :]


def render_example(messages: list[dict], tokenizer, answer_only: bool = True) -> RenderedExample:
    """The training string and its per-token mask, rendered with the tokenizer's chat template."""
    ensure_chat_template(tokenizer)
    prompt = tokenizer.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(messages, tokenize=False)
    if not full.startswith(prompt):  # templates that rewrite earlier turns: fall back to a common prefix
        n = next(
            (i for i, (a, b) in enumerate(zip(prompt, full, strict=False)) if a != b),
            min(len(prompt), len(full)),
        )
        prompt = full[:n]
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    ids = tokenizer(full, add_special_tokens=False)["input_ids"]
    trained = [(not answer_only) or i >= len(prompt_ids) for i in range(len(ids))]
    tokens = [tokenizer.decode([i]) for i in ids]
    return RenderedExample(full, prompt, ids, trained, tokens)


# Below this many rows, every row is rendered and tokenized whole; above it, counts are assembled from parts.
FAST_COUNT_MIN_ROWS = 256
FAST_COUNT_CHECKS = 32

# Token counts of questions and SQL by text, per tokenizer, kept between validations: a template change then
# counts only the new frame (100,000 pairs: ~8 s of tokenizing on 2 cores, for the same numbers again).
_piece_lengths: "weakref.WeakKeyDictionary[object, dict[str, int]]" = weakref.WeakKeyDictionary()
_PIECE_CACHE_MAX = 500_000
_piece_lock = threading.Lock()


def _cached_lengths(tokenizer, texts: list[str], count: Callable[[list[str]], list[int]]) -> list[int]:
    with _piece_lock:
        try:
            cache = _piece_lengths.setdefault(tokenizer, {})
        except TypeError:  # a tokenizer that cannot be weakly referenced or hashed: count without the cache
            return count(texts)
        known = {t: cache[t] for t in set(texts) if t in cache}
    missing = [t for t in set(texts) if t not in known]
    found = dict(zip(missing, count(missing), strict=True)) if missing else {}
    with _piece_lock:
        if len(cache) + len(found) > _PIECE_CACHE_MAX:
            cache.clear()
        cache.update(found)
    known.update(found)
    return [known[t] for t in texts]


def count_tokens_fn(
    tokenizer,
    template: str = DEFAULT_SYSTEM_TEMPLATE,
    dialect: str = "postgres",
    schema_text: str = "",
    fmt: PromptFormat | None = None,
):
    """A batch token counter for the validator: tokens of each pair's full training string (`fmt`, or the whole
    schema in a plain PromptFormat of template/dialect/schema_text).

    Rendering 100,000 chat templates (each with the schema) is most of a large dataset's validation time.
    The template's frame (system prompt, role markers) is the same for every row with the same system prompt, and
    the question and SQL sit between special tokens, so count = frame + question tokens + SQL tokens. That
    is checked against whole renderings on FAST_COUNT_CHECKS rows spread over the file; any difference
    (a template that edits the text, a tokenizer that merges across a boundary) falls back to the exact path.
    """
    ensure_chat_template(tokenizer)
    fmt = fmt or PromptFormat(template, dialect, schema_text)

    def render(messages: list[dict]) -> str:
        return tokenizer.apply_chat_template(messages, tokenize=False)

    def exact(pairs: list[Pair]) -> list[int]:
        return lengths([render(fmt.messages(p)) for p in pairs]) if pairs else []

    def lengths(texts: list[str]) -> list[int]:
        if hasattr(tokenizer, "count_tokens"):  # core.train.tokenizer.FastTokenizer
            return tokenizer.count_tokens(texts)
        return [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]

    def word_lengths(texts: list[str]) -> list[int]:
        return count_by_words(texts, lengths) if words_add_up(lengths) else lengths(texts)

    def frame(system: str) -> int:
        return lengths(
            [
                render(
                    [
                        {"role": "system", "content": system},
                        {"role": "user", "content": ""},
                        {"role": "assistant", "content": ""},
                    ]
                )
            ]
        )[0]

    def count(pairs: list[Pair]) -> list[int]:
        if len(pairs) < FAST_COUNT_MIN_ROWS:
            return exact(pairs)
        systems = [fmt.system(p) for p in pairs]
        frames = {system: frame(system) for system in set(systems)}
        questions = _cached_lengths(tokenizer, [p.question for p in pairs], word_lengths)
        sqls = _cached_lengths(tokenizer, [p.sql for p in pairs], word_lengths)
        fast = [frames[system] + q + s for system, q, s in zip(systems, questions, sqls, strict=True)]
        checks = sorted({i * (len(pairs) - 1) // (FAST_COUNT_CHECKS - 1) for i in range(FAST_COUNT_CHECKS)})
        if exact([pairs[i] for i in checks]) != [fast[i] for i in checks]:
            return exact(pairs)
        return fast

    return count
