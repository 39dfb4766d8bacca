"""English nouns through `inflect`, a library made for English plurals: the singular and the plural of a word of a
table or column name ('people' -> 'person', 'city' -> 'cities', 'address' -> 'addresses'). Pair generation words
its questions with them (core.db.phrasing), and a prompt of the "relevant" schema mode finds with them the tables
a question mentions (core.data.schema).
"""

import functools

# Nouns that do not take a plural here: a table named after one gets "record(s)" ("cars data records").
UNCOUNTABLE = {
    "data",
    "information",
    "info",
    "history",
    "staff",
    "equipment",
    "inventory",
    "music",
    "software",
    "news",
    "feedback",
    "media",
    "personnel",
}


@functools.cache
def english():
    """inflect's engine, made on first use: importing inflect costs ~1.6 s of CPU (it type-checks itself as it loads),
    and every process that imports core (the studio, each worker, each generation child, each CLI call) would pay it
    though only pair generation and "relevant" prompts need it."""
    import inflect  # noqa: PLC0415 - see above

    return inflect.engine()


@functools.lru_cache(maxsize=4096)
def singular_word(word: str) -> str:
    """'people' -> 'person', 'cities' -> 'city'; a word that is already singular (or cannot be) is kept. inflect
    takes a final s for a plural's ('bus' -> 'bu', 'analysis' -> 'analysi'): words ending as those do are kept."""
    if word in UNCOUNTABLE or not word.isalpha() or word.endswith(("ss", "sis", "us")):
        return word
    return english().singular_noun(word) or word


@functools.lru_cache(maxsize=4096)
def plural_word(word: str) -> str:
    """'person' -> 'people', 'city' -> 'cities'; an uncountable word is kept."""
    if word in UNCOUNTABLE or not word.isalpha():
        return word
    return english().plural_noun(singular_word(word))


def counted(n: int, noun: str) -> str:
    """'1 row', '2 rows', '0 rows': a count with its noun in the right number."""
    return f"{n:,} {noun if n == 1 else plural_word(noun)}"


def share(part: int, whole: int) -> str:
    """A percentage with the counts it was made of: '8% (2 of 25)', so a reader sees how much it rests on."""
    return f"{part / whole:.0%} ({part:,} of {whole:,})" if whole else "- (none)"
