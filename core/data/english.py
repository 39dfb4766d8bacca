"""English words of a schema: the singular and the plural of a word of a table or column name, through `inflect`, a
library made for English plurals ('people' -> 'person', 'city' -> 'cities', 'address' -> 'addresses'), and the words
of an identifier (`words_of`: `signupDate` -> sign-up date, `LName` -> last name). Pair generation words its
questions with them (core.pairgen.phrasing), a prompt of the "relevant" schema mode finds with them the tables a
question mentions (core.data.schema), and the schema check compares a model's near-miss names with the schema's
(core.evaluate.schema_check).
"""

import functools
import re

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


# Short forms common in column names, spelled out.
ABBREVIATIONS = {
    "qty": "quantity",
    "amt": "amount",
    "num": "number",
    "no": "number",
    "nbr": "number",
    "dob": "date of birth",
    "desc": "description",
    "addr": "address",
    "cnt": "count",
    "pct": "percent",
    "avg": "average",
    "signup": "sign-up",
    "fname": "first name",
    "lname": "last name",
    "firstname": "first name",
    "lastname": "last name",
    "dept": "department",
    "emp": "employee",
    "mgr": "manager",
    "stu": "student",
    "cont": "continent",
    "yr": "year",
    "pop": "population",
    "sal": "salary",
    "tel": "telephone",
    "govt": "government",
    "cust": "customer",
    "prod": "product",
    "acct": "account",
    "ref": "reference",
    "info": "information",
    "stat": "status",
    "loc": "location",
    "sz": "size",
}


def words_of(name: str) -> list[str]:
    """Words of an identifier: snake_case, camelCase and ALLCAPS runs split, abbreviations spelled out."""
    if name.lower() in ABBREVIATIONS:  # LName is "last name", not "l name"
        return ABBREVIATIONS[name.lower()].split()
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    words = [w.lower() for w in re.split(r"[\s_\-.]+", spaced) if w]
    out: list[str] = []
    for w in words:
        out.extend(ABBREVIATIONS.get(w, w).split())
    return out


def counted(n: int, noun: str) -> str:
    """'1 row', '2 rows', '0 rows': a count with its noun in the right number."""
    return f"{n:,} {noun if n == 1 else plural_word(noun)}"


def share(part: int, whole: int) -> str:
    """A percentage with the counts it was made of: '8% (2 of 25)', so a reader sees how much it rests on."""
    return f"{part / whole:.0%} ({part:,} of {whole:,})" if whole else "- (none)"
