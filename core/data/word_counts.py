"""Token counts of many texts from their words: each distinct word is tokenized once.

Byte-level BPE tokenizers (GPT-2's, Qwen's, Llama 3's) cut text into pieces with a regex before merging, and none
of their pieces has a space after another character: a space that follows a non-space character always starts a
new piece. A text's count is then the sum of the counts of its words cut before such spaces, and 100,000 questions
and queries share most of their words (tokenizing them whole takes ~8 s on 2 cores, nearly all of it in that regex).

Texts with a space after other whitespace are counted whole. Other kinds of tokenizer (SentencePiece's leading
'▁', for one) break the rule: `words_add_up` finds that out on a few probe texts, and the caller then counts whole
texts (core.data.chatml.count_tokens_fn, which also compares its sums with whole renderings on sample rows).
"""

import re
from collections.abc import Callable

import numpy as np

_SPACE_AFTER_WHITESPACE = re.compile(r"\s ")
PROBES = [
    "How many orders did each customer place in 2024?",
    "a b c",
    "SELECT c.name, SUM(o.amount) AS total FROM "
    "orders o JOIN customers c ON c.id = o.customer_id WHERE o.status = 'paid' GROUP BY c.name",
    "x  y\n z",
]


def words_add_up(count: Callable[[list[str]], list[int]]) -> bool:
    """Whether this tokenizer's counts are the sums of its words' counts, on a few probe texts."""
    return count_by_words(PROBES, count) == count(PROBES)


def count_by_words(texts: list[str], count: Callable[[list[str]], list[int]]) -> list[int]:
    """count(texts), computed from the counts of the texts' distinct words; `count` counts a list of texts."""
    if not texts:
        return []
    if _SPACE_AFTER_WHITESPACE.search(" ".join(texts)):  # rare: find those texts and count them whole
        whole = [i for i, text in enumerate(texts) if _SPACE_AFTER_WHITESPACE.search(text)]
        out = [0] * len(texts)
        rest = sorted(set(range(len(texts))) - set(whole))
        for i, n in zip(
            whole + rest,
            count([texts[i] for i in whole]) + _by_words([texts[i] for i in rest], count),
            strict=True,
        ):
            out[i] = n
        return out
    return _by_words(texts, count)


def _by_words(texts: list[str], count: Callable[[list[str]], list[int]]) -> list[int]:
    if not texts:
        return []
    # Joined with a space, the texts' words are one list, each text's words in a row: C loops, not Python ones.
    words = " ".join(texts).split(" ")
    starts = np.cumsum([0] + [text.count(" ") + 1 for text in texts[:-1]])
    firsts = list(set(map(words.__getitem__, starts)))
    others = list(set(words))
    counted = count(firsts + [" " + word for word in others])
    spaced = dict(zip(others, counted[len(firsts) :], strict=True))
    per_word = np.fromiter(map(spaced.__getitem__, words), dtype=np.int64, count=len(words))
    first = dict(zip(firsts, counted[: len(firsts)], strict=True))
    per_word[starts] = [first[words[i]] for i in starts]  # a text's first word has no space before it
    return np.add.reduceat(per_word, starts).tolist()
