"""Plain-English names for tables, columns and values, for generated questions.

`signup_date` -> "sign-up date", `FullName` -> "full name", table `singer` -> "singer" / "singers",
`Student` -> "student" / "students", `cars_data` -> "cars data record" / "cars data records". Values are written
the way a person would type them: text as is, numbers without trailing zeros, dates as 2024-03-01 or "March 2024".
"""

import datetime
import decimal
import re

# Short forms common in column names, spelled out.
ABBREVIATIONS = {
    "qty": "quantity", "amt": "amount", "num": "number", "no": "number", "nbr": "number", "dob": "date of birth",
    "desc": "description", "addr": "address", "cnt": "count", "pct": "percent", "avg": "average",
    "signup": "sign-up", "fname": "first name", "lname": "last name", "dept": "department", "emp": "employee",
    "mgr": "manager", "stu": "student", "cont": "continent", "yr": "year", "pop": "population", "sal": "salary",
    "tel": "telephone", "govt": "government", "cust": "customer", "prod": "product", "acct": "account",
    "ref": "reference", "info": "information", "stat": "status", "loc": "location", "sz": "size",
}
UNCOUNTABLE = {"data", "information", "info", "history", "staff", "equipment", "inventory", "music", "software"}
LINK_WORDS = {"in", "of", "for", "to", "has", "with", "by", "at", "on"}
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


def words_of(name: str) -> list[str]:
    """Words of an identifier: snake_case, camelCase and ALLCAPS runs split, abbreviations spelled out."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    words = [w.lower() for w in re.split(r"[\s_\-.]+", spaced) if w]
    out: list[str] = []
    for w in words:
        out.extend(ABBREVIATIONS.get(w, w).split())
    return out


def humanise(name: str) -> str:
    """A column or table name as words: `signup_date` -> "sign-up date"."""
    return " ".join(words_of(name)) or name


def plural_word(word: str) -> str:
    if word in UNCOUNTABLE or word.endswith("ss") is False and word.endswith("s"):
        return word
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


def singular_word(word: str) -> str:
    if word in UNCOUNTABLE or word.endswith("ss"):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if word.endswith("s") and len(word) > 3:
        return word[:-1]
    return word


def table_nouns(name: str) -> tuple[str, str]:
    """(singular, plural) for a table: `singer` -> ("singer", "singers"), `sales` -> ("sale", "sales"),
    `singer_in_concert` -> ("singer in concert", "singers in concert"), `cars_data` -> ("cars data record", ...)."""
    words = words_of(name) or [name.lower()]
    if words[-1] in UNCOUNTABLE:
        base = " ".join(words)
        return base + " record", base + " records"
    head = next((i for i, w in enumerate(words) if w in LINK_WORDS and i > 0), len(words)) - 1
    if words[0] in LINK_WORDS:  # has_pet -> "pet ownership" reads worse than "has pet record"
        base = " ".join(words)
        return base + " record", base + " records"
    single = [*words[:head], singular_word(words[head]), *words[head + 1:]]
    many = [*words[:head], plural_word(singular_word(words[head])), *words[head + 1:]]
    return " ".join(single), " ".join(many)


def column_plural(name: str) -> str:
    """`Name` -> "names", `country` -> "countries", `song_release_year` -> "song release years"."""
    words = words_of(name) or [name.lower()]
    return " ".join([*words[:-1], plural_word(words[-1])])


def spoken_value(value) -> str:
    """A value as a person would type it in a question."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) or isinstance(value, decimal.Decimal):
        text = f"{float(value):.2f}".rstrip("0").rstrip(".")
        return text
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def month_name(date: datetime.date) -> str:
    return f"{MONTHS[date.month - 1]} {date.year}"


def article(noun: str) -> str:
    return ("an " if noun[:1] in "aeiou" else "a ") + noun
