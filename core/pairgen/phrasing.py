"""Plain-English names for tables, columns and values, for generated questions.

`signup_date` -> "sign-up date", `FullName` -> "full name", table `singer` -> "singer" / "singers", `people` ->
"person" / "people", `high_schooler` -> "high schooler" / "high schoolers". Nouns are inflected with `inflect`, a
library made for English plurals, not with rules of our own. Values are written the way a person types them, and
exactly as the SQL holds them (a threshold is rounded before both are built, so "greater than 0.02" means `> 0.02`).
"""

import calendar
import datetime
import decimal
import functools
import re

from core.data.english import UNCOUNTABLE, english, plural_word, singular_word, words_of

# Last words of a table name that say "a table of", not what a row is: `cars_data` holds cars, `model_list` models.
CONTAINER_WORDS = {"data", "information", "list", "details", "records", "table", "tbl", "entries"}
# Columns whose value is where a row comes from: "from France" says which column without naming it.
PLACE_WORDS = {
    "country",
    "nationality",
    "city",
    "state",
    "hometown",
    "town",
    "citizenship",
    "region",
    "continent",
}
LINK_WORDS = {"in", "of", "for", "to", "has", "with", "by", "at", "on"}
# Rows that are people: "students who have a pet" (Spider train's questions say "who have" 222 times, "that have" 364
# times, mostly of things). A table is taken for people when its noun ends with one of these, or it has first and last
# name columns.
PERSON_WORDS = set(
    """
    person student employee customer member singer player teacher professor author driver pilot artist musician
    actor director manager staff faculty visitor tourist owner user doctor physician nurse patient candidate
    representative host journalist editor reviewer instructor coach captain engineer scientist worker client guest
    passenger volunteer judge gymnast wrestler climber architect people perpetrator head advisor dean friend
    writer researcher official mayor
    """.split()
)


FIRST_NAME_WORDS = ("first name", "given name", "forename", "personal name")
LAST_NAME_WORDS = ("last name", "surname", "family name")


def name_part(column_name: str) -> str | None:
    """ "first" or "last" for a column that holds a person's first or last name (Fname, customer_last_name)."""
    words = " ".join(words_of(column_name))
    if words.endswith(FIRST_NAME_WORDS):
        return "first"
    if words.endswith(LAST_NAME_WORDS):
        return "last"
    return None


def humanise(name: str) -> str:
    """A column or table name as words: `signup_date` -> "sign-up date"."""
    return " ".join(words_of(name)) or name


_ONE = re.compile(r"\b((?:more than|at least|exactly|at most|fewer than) (?:one|1) )(\w+)(?: (\w+))?")


def one_thing(text: str) -> str:
    """ "more than one car", never "more than one cars": the noun after a count of one is singular."""

    def singular(m: re.Match) -> str:
        words = [w for w in m.group(2, 3) if w]
        # "one high schooler": the second word is the noun when the first is no plural
        i = int(
            len(words) == 2 and singular_word(words[0]) == words[0] and singular_word(words[1]) != words[1]
        )
        words[i] = singular_word(words[i])
        return m.group(1) + " ".join(words)

    return _ONE.sub(singular, text)


def is_or_are(column_words: str) -> str:
    """The verb for a column's words: "whose age is", "whose points are" (the head noun: "num of shops is")."""
    head = column_words.split(" of ")[0].split()[-1]
    return "is" if singular_word(head) == head else "are"


def table_nouns(name: str, whole: bool = False) -> tuple[str, str]:
    """(singular, plural) for a table: `singer` -> ("singer", "singers"), `people` -> ("person", "people"),
    `singer_in_concert` -> ("singer in concert", "singers in concert"), `cars_data` -> ("car", "cars") as people
    ask about it (with `whole`, when another table already goes by "cars": ("cars data record", ...))."""
    words = words_of(name) or [name.lower()]
    if not whole and len(words) > 1 and words[-1] in CONTAINER_WORDS:
        words = words[:-1]
    if words[-1] in UNCOUNTABLE or words[0] in LINK_WORDS:  # has_pet reads better as "has pet record"
        base = " ".join(words)
        return base + " record", base + " records"
    head = next((i for i, w in enumerate(words) if w in LINK_WORDS and i > 0), len(words)) - 1
    single = [*words[:head], singular_word(words[head]), *words[head + 1 :]]
    many = [*words[:head], plural_word(words[head]), *words[head + 1 :]]
    return " ".join(single), " ".join(many)


def schema_nouns(names: list[str]) -> dict[str, tuple[str, str]]:
    """table_nouns for each table of a schema, each name told apart: a table keeps the words of its whole name where
    its short nouns would be another table's (`cars` beside `cars_data`)."""
    short = {name: table_nouns(name) for name in names}
    return {
        name: table_nouns(name, whole=True) if any(short[o] == nouns for o in names if o != name) else nouns
        for name, nouns in short.items()
    }


# The adjective people use for the top and the bottom of a column they sort by: "the youngest singer".
SUPERLATIVES = {
    "age": ("oldest", "youngest"),
    "year": ("latest", "earliest"),
    "price": ("most expensive", "cheapest"),
    "cost": ("most expensive", "cheapest"),
    "weight": ("heaviest", "lightest"),
    "height": ("tallest", "shortest"),
    "length": ("longest", "shortest"),
    "speed": ("fastest", "slowest"),
}


def superlative(column_words: str, highest: bool) -> tuple[str, str] | None:
    """(the adjective for this end, the one for the other end) of a column, or None: `age` -> ("oldest",
    "youngest")."""
    pair = SUPERLATIVES.get(column_words.split()[-1])
    if pair is None:
        return None
    return pair if highest else (pair[1], pair[0])


def plural_words(words: str) -> str:
    """ "song release year" -> "song release years": the last word in the plural."""
    *head, last = words.split() or [words]
    return " ".join([*head, plural_word(last)])


def table_column_words(
    nouns: tuple[str, str], columns: list[str], texts: list[bool] | None = None
) -> list[str]:
    """The words of each column of a table, without the table's own noun in front: in `pets`, `pet_age` is "age"
    and `PetType` "type", as people ask ("the age of each pet"); kept whole where the short words would be another
    column's (`Name` beside `concert_Name`) or nothing would be left. A text column named as the table is its
    rows' name (`Continent` in `continents`: "the names of continents", not "the continents of continents"),
    where no other column is "name"; `texts` says which columns hold text."""
    prefixes = [n.split() for n in nouns]
    full = [words_of(c) or [c.lower()] for c in columns]
    short = [next((w[len(p) :] for p in prefixes if len(w) > len(p) and w[: len(p)] == p), w) for w in full]
    said = [" ".join(w) for w in full + short]
    words = [
        " ".join(s) if s == f or said.count(" ".join(s)) == 1 else " ".join(f)
        for f, s in zip(full, short, strict=True)
    ]
    if texts and "name" not in words:
        own = [i for i, w in enumerate(words) if texts[i] and w in nouns]
        if len(own) == 1:
            words[own[0]] = "name"
    return words


def number_text(value) -> str:
    """A number exactly as the SQL literal holds it, without trailing zeros: 1700, 0.02, 12.5."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    text = format(decimal.Decimal(str(value)).normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def spoken_value(value) -> str:
    """A value as a person would type it in a question (numbers as the SQL literal has them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, decimal.Decimal)):
        return number_text(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def month_name(date: datetime.date) -> str:
    """ "March 2014" (the C locale's names, English, as Python starts in)."""
    return f"{calendar.month_name[date.month]} {date.year}"


def plural_verb(verb: str) -> str:
    """ "lives" -> "live", "teaches" -> "teach": the verb for a plural subject ("students who live in a dorm")."""
    return english().plural_verb(verb)


def article(noun: str) -> str:
    return english().a(noun)


def join_words(words: list[str]) -> str:
    """'a', 'a and b', 'a, b and c' ('' for none)."""
    return _joined(tuple(words))


@functools.lru_cache(maxsize=4096)
def _joined(words: tuple[str, ...]) -> str:
    # no comma before "and"; commas even where a word has one (inflect would switch to ";"). Cached: inflect
    # type-checks every call (~30 us), and a generation joins the same few column lists thousands of times.
    return english().join(list(words), sep=",", final_sep="")


@functools.lru_cache(maxsize=64)
def count_words(n: int) -> str:
    """A small count as people write it: "more than one", "at least two" (Spider train: 63 and 52 times, against 14
    and 16 with digits)."""
    return english().number_to_words(n)
