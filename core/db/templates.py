"""Single-table pair templates: counts, filtered lists (text, numbers, date ranges, IN, LIKE), aggregates with and
without GROUP BY, top-N, DISTINCT, HAVING, ordering and "above the average". Each builds its SQL as a sqlglot
expression from real values and words the question with one of several phrasings (see core.db.draft)."""

import datetime

from sqlglot import exp

from core.db.draft import AGGREGATES, Draft, Drafter, literal
from core.db.phrasing import month_name


def _table_and(d: Drafter, role):
    choice = d.pick(d.tables_with(role))
    return choice if choice else (None, None)


def count_all(d: Drafter) -> Draft | None:
    table = d.pick(d.tables)
    _, many = d.nouns(table)
    q = d.say(["How many {t} are there?", "Count the {t}.", "What is the total number of {t}?",
               "How many {t} do we have?", "Number of {t}?"], t=many)
    return Draft("count_all", q, d.select(exp.Count(this=exp.Star()), table=table))


def _filter(d: Drafter, table, alias=None):
    """(condition, words) on a random text or number column of the table with a real value."""
    options = [("text", c) for c in d.texts(table)] + [("number", c) for c in d.numbers(table)]
    kind, column = d.pick(options) or (None, None)
    if column is None:
        return None, None
    if kind == "text":
        value = d.pick(column.examples)
        cond = exp.EQ(this=d.col(column, alias), expression=literal(value))
        words = d.rng.choice(["whose {c} is {v}", "with {c} {v}", "where the {c} is {v}", "with the {c} '{v}'"])
        return cond, words.format(c=d.words(column), v=d.spoken(value))
    value = d.number_threshold(column)
    more = d.rng.random() < 0.6
    cond = (exp.GT if more else exp.LT)(this=d.col(column, alias), expression=literal(value))
    words = d.rng.choice(["with {c} {op} {v}", "whose {c} is {op} {v}", "where the {c} is {op} {v}"])
    op = d.rng.choice(["greater than", "more than", "above", "over"] if more else ["less than", "below", "under"])
    return cond, words.format(c=d.words(column), op=op, v=d.spoken(value))


def count_where(d: Drafter) -> Draft | None:
    table = d.pick(d.tables)
    cond, words = _filter(d, table)
    if cond is None:
        return None
    _, many = d.nouns(table)
    q = d.say(["How many {t} are there {w}?", "Count the {t} {w}.", "What is the number of {t} {w}?",
               "How many {t} {w} are there?"], t=many, w=words)
    return Draft("count_where", q, d.select(exp.Count(this=exp.Star()), table=table).where(cond))


def list_where(d: Drafter) -> Draft | None:
    table, label = d.pick([(t, d.label(t)) for t in d.tables if d.label(t)]) or (None, None)
    if table is None:
        return None
    cond, words = _filter(d, table)
    if cond is None or label.name in str(cond):
        return None
    _, many = d.nouns(table)
    q = d.say(["List the {l} of {t} {w}.", "What are the {l} of the {t} {w}?", "Which {t} are there {w}? Give their {l}.",
               "Show the {l} of all {t} {w}.", "Find the {l} of {t} {w}."], l=d.words_plural(label), t=many, w=words)
    return Draft("list_where", q, d.select(d.col(label), table=table).where(cond))


def list_columns(d: Drafter) -> Draft | None:
    table = d.pick(d.tables)
    columns = [c for c in table.columns if not d.is_key(table, c) and c.examples]
    if len(columns) < 2:
        return None
    chosen = sorted(d.rng.sample(columns, d.rng.choice([2, 2, 3]) if len(columns) > 2 else 2), key=table.columns.index)
    sql, where = _maybe_filter(d, table, d.select(*[d.col(c) for c in chosen], table=table), chosen, 0.3)
    names = _and([d.words(c) for c in chosen])
    q = d.say(["Show the {c} of all {t}{w}.", "List the {c} of every {s}{w}.", "What are the {c} of the {t}{w}?",
               "Give the {c} for each {s}{w}."], c=names, t=d.nouns(table)[1], s=d.nouns(table)[0], w=where)
    return Draft("list_columns", q, sql)


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def between(d: Drafter) -> Draft | None:
    table, numbers = _table_and(d, d.numbers)
    label = d.label(table) if table else None
    if not label:
        return None
    column = d.pick(numbers)
    low, high = sorted(d.rng.sample(column.examples, 2)) if len(column.examples) > 1 else (None, None)
    if low is None or low == high:
        return None
    sql = d.select(d.col(label), table=table).where(exp.Between(this=d.col(column), low=literal(low), high=literal(high)))
    q = d.say(["Which {t} have a {c} between {a} and {b}? Show their {l}.", "List the {l} of {t} with {c} between {a} and {b}.",
               "What are the {l} of the {t} whose {c} is from {a} to {b}?"],
              t=d.nouns(table)[1], c=d.words(column), a=d.spoken(low), b=d.spoken(high), l=d.words_plural(label))
    return Draft("between", q, sql)


def date_range(d: Drafter) -> Draft | None:
    table, dates = _table_and(d, d.dates)
    if table is None:
        return None
    column, label = d.pick(dates), d.label(table)
    day = _as_date(d.pick(column.examples))
    if day is None:
        return None
    start = day.replace(day=1)
    end = (start + datetime.timedelta(days=32)).replace(day=1)
    cond = exp.and_(exp.GTE(this=d.col(column), expression=literal(start)),
                    exp.LT(this=d.col(column), expression=literal(end)))
    _, many = d.nouns(table)
    words = d.words(column)
    if label is None or d.rng.random() < 0.4:
        q = d.say(["How many {t} have a {c} in {m}?", "Count the {t} with {c} in {m}.",
                   "What is the number of {t} whose {c} falls in {m}?"], t=many, c=words, m=month_name(start))
        return Draft("date_range", q, d.select(exp.Count(this=exp.Star()), table=table).where(cond))
    if d.rng.random() < 0.5:
        q = d.say(["List the {l} of {t} with {c} in {m}.", "Which {t} have a {c} in {m}? Give their {l}.",
                   "Show the {l} of {t} whose {c} is in {m}."], l=d.words_plural(label), t=many, c=words, m=month_name(start))
        return Draft("date_range", q, d.select(d.col(label), table=table).where(cond))
    cond = exp.GTE(this=d.col(column), expression=literal(day))
    q = d.say(["List the {l} of {t} with {c} on or after {v}.", "Which {t} have a {c} from {v} on? Show their {l}.",
               "Show the {l} of {t} whose {c} is {v} or later."], l=d.words_plural(label), t=many, c=words, v=d.spoken(day))
    return Draft("date_range", q, d.select(d.col(label), table=table).where(cond))


def _as_date(value) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:  # SQLite keeps dates as text
        return datetime.datetime.fromisoformat(str(value)).date()
    except ValueError:
        return None


def _maybe_filter(d: Drafter, table, sql, avoid, share: float = 0.4):
    """The query with a random filter (and its words, " for X with ...") some of the time, else as it was."""
    if d.rng.random() >= share:
        return sql, ""
    cond, words = _filter(d, table)
    if cond is None or any(c.name in str(cond) for c in avoid):
        return sql, ""
    return sql.where(cond), " " + words


def in_list(d: Drafter) -> Draft | None:
    table, categories = _table_and(d, d.categories)
    if table is None:
        return None
    column = d.pick(categories)
    if len(column.examples) < 3:
        return None
    a, b = d.rng.sample(column.examples, 2)
    cond = exp.In(this=d.col(column), expressions=[literal(a), literal(b)]) if d.rng.random() < 0.5 else \
        exp.or_(exp.EQ(this=d.col(column), expression=literal(a)), exp.EQ(this=d.col(column), expression=literal(b)))
    _, many = d.nouns(table)
    q = d.say(["How many {t} have {c} {a} or {b}?", "Count the {t} whose {c} is {a} or {b}.",
               "How many {t} are there with {c} {a} or {b}?"], t=many, c=d.words(column), a=d.spoken(a), b=d.spoken(b))
    return Draft("in_list", q, d.select(exp.Count(this=exp.Star()), table=table).where(cond))


def like(d: Drafter) -> Draft | None:
    table, texts = _table_and(d, d.texts)
    if table is None:
        return None
    column, label = d.pick(texts), d.label(table)
    words = [w for v in column.examples if isinstance(v, str) for w in v.split() if len(w) >= 3 and w.isalpha()]
    if not words or label is None:
        return None
    word = d.pick(words)
    cond = exp.Like(this=d.col(column), expression=literal(f"%{word}%"))
    outputs = [d.col(label)] + ([d.col(column)] if column is not label else [])
    q = d.say(["Which {t} have '{w}' in their {c}? Show their {l}.", "List the {l} of {t} whose {c} contains '{w}'.",
               "Find the {t} with a {c} containing \"{w}\"; give the {l}.", "What are the {l} of {t} with {w} in the {c}?"],
              t=d.nouns(table)[1], w=word, c=d.words(column), l=_and([d.words_plural(label)] +
                                                                      ([d.words(column)] if column is not label else [])))
    return Draft("like", q, d.select(*outputs, table=table).where(cond))


def aggregate(d: Drafter) -> Draft | None:
    table, numbers = _table_and(d, d.numbers)
    if table is None:
        return None
    column, name = d.pick(numbers), d.rng.choice(list(AGGREGATES))
    func, words = AGGREGATES[name]
    sql = d.select(func(this=d.col(column)), table=table)
    where = ""
    if d.rng.random() < 0.5:
        cond, where = _filter(d, table)
        if cond is None or column.name in str(cond):
            return None
        sql = sql.where(cond)
        where = " " + where
    _, many = d.nouns(table)
    q = d.say(["What is the {f} {c} of {t}{w}?", "Give the {f} {c} of all {t}{w}.", "What's the {f} {c} among {t}{w}?",
               "Find the {f} {c} of the {t}{w}."], f=d.rng.choice(words), c=d.words(column), t=many, w=where)
    return Draft("aggregate", q, sql)


def multi_aggregate(d: Drafter) -> Draft | None:
    table, numbers = _table_and(d, d.numbers)
    if table is None:
        return None
    column = d.pick(numbers)
    names = d.rng.choice([("avg", "min", "max"), ("max", "min"), ("min", "max", "avg"), ("max", "avg")])
    sql = d.select(*[AGGREGATES[n][0](this=d.col(column)) for n in names], table=table)
    labels = _and([AGGREGATES[n][1][0] for n in names])
    q = d.say(["What are the {f} {c} of all {t}?", "Show the {f} {c} of the {t}.", "Give the {f} of the {c} of {t}.",
               "Find the {f} {c} across all {t}."], f=labels, c=d.words(column), t=d.nouns(table)[1])
    return Draft("multi_aggregate", q, sql)


def group_count(d: Drafter) -> Draft | None:
    table, categories = _table_and(d, d.categories)
    if table is None:
        return None
    column = d.pick(categories)
    sql = d.select(d.col(column), exp.Count(this=exp.Star()), table=table)
    sql, where = _maybe_filter(d, table, sql, [column])
    sql = sql.group_by(d.col(column))
    many = d.nouns(table)[1] + where
    q = d.say(["How many {t} are there for each {c}?", "Show each {c} and the number of {t} with it.",
               "Count the {t} per {c}.", "For every {c}, how many {t} are there?", "List all {cs} and the number of {t} in each."],
              t=many, c=d.words(column), cs=d.words_plural(column))
    return Draft("group_count", q, sql)


def group_aggregate(d: Drafter) -> Draft | None:
    table, categories = _table_and(d, d.categories)
    numbers = d.numbers(table) if table else []
    if not numbers:
        return None
    column, number, name = d.pick(categories), d.pick(numbers), d.rng.choice(list(AGGREGATES))
    func, words = AGGREGATES[name]
    sql = d.select(d.col(column), func(this=d.col(number)), table=table)
    sql, where = _maybe_filter(d, table, sql, [column, number])
    sql = sql.group_by(d.col(column))
    q = d.say(["What is the {f} {n} of {t} for each {c}?", "Show each {c} with the {f} {n} of its {t}.",
               "For every {c}, give the {f} {n} of {t}.", "List the {f} {n} of {t} per {c}."],
              f=d.rng.choice(words), n=d.words(number), t=d.nouns(table)[1] + where, c=d.words(column))
    return Draft("group_aggregate", q, sql)


def top_n(d: Drafter) -> Draft | None:
    table, numbers = _table_and(d, d.numbers)
    label = d.label(table) if table else None
    if label is None:
        return None
    column, n, high = d.pick(numbers), d.rng.choice([3, 3, 5, 10]), d.rng.random() < 0.6
    if n >= table.rows:
        return None
    order = exp.Ordered(this=d.col(column), desc=high)
    sql, where = _maybe_filter(d, table, d.select(d.col(label), table=table), [label, column], 0.3)
    sql = sql.order_by(order).limit(n)
    q = where and d.say(["Among {t}{w}, which {n} have the {hl} {c}? Show their {l}.",
                         "List the {l} of the {n} {t}{w} with the {hl} {c}."],
                        n=n, t=d.nouns(table)[1], w=where, hl="highest" if high else "lowest", c=d.words(column),
                        l=d.words_plural(label)) or d.say(["What are the {n} {t} with the {hl} {c}? Show their {l}.", "List the {l} of the top {n} {t} by {c}" +
               ("." if high else " (lowest first)."), "Which {n} {t} have the {hl} {c}?", "Give the {l} of the {n} {t} with the {hl} {c}."],
              n=n, t=d.nouns(table)[1], hl="highest" if high else "lowest", c=d.words(column), l=d.words_plural(label))
    return Draft("top_n", q, sql)


def superlative(d: Drafter) -> Draft | None:
    table, numbers = _table_and(d, d.numbers)
    label = d.label(table) if table else None
    if label is None:
        return None
    column, high = d.pick(numbers), d.rng.random() < 0.5
    extra = d.pick([c for c in d.plain(table, ("text", "number", "date")) if c is not label and c is not column])
    outputs = [label] + ([extra] if extra is not None and d.rng.random() < 0.4 else [])
    sql, where = _maybe_filter(d, table, d.select(*[d.col(c) for c in outputs], table=table), [*outputs, column], 0.3)
    sql = sql.order_by(exp.Ordered(this=d.col(column), desc=high)).limit(1)
    single = d.nouns(table)[0] + where
    q = d.say(["Which {s} has the {hl} {c}? Give the {o}.", "What is the {o} of the {s} with the {hl} {c}?",
               "Show the {o} of the {s} whose {c} is the {hl}.", "Find the {o} for the {s} with the {hl} {c}."],
              s=single, hl="highest" if high else "lowest", c=d.words(column), o=_and([d.words(c) for c in outputs]))
    return Draft("superlative", q, sql)


def order_by(d: Drafter) -> Draft | None:
    table, numbers = _table_and(d, d.numbers)
    label = d.label(table) if table else None
    if label is None:
        return None
    column, desc = d.pick(numbers), d.rng.random() < 0.5
    sql, where = _maybe_filter(d, table, d.select(d.col(label), d.col(column), table=table), [label, column], 0.3)
    sql = sql.order_by(exp.Ordered(this=d.col(column), desc=desc))
    direction = d.rng.choice(["from highest to lowest", "in descending order"] if desc else
                             ["from lowest to highest", "in ascending order"])
    q = d.say(["List the {l} and {c} of all {t}, sorted by {c} {dir}.", "Show every {s}'s {l1} and {c} ordered by {c} {dir}.",
               "What are the {l} and {c} of the {t}, ordered by {c} {dir}?"],
              l=d.words_plural(label), l1=d.words(label), c=d.words(column), t=d.nouns(table)[1] + where,
              s=d.nouns(table)[0], dir=direction)
    return Draft("order_by", q, sql)


def distinct(d: Drafter) -> Draft | None:
    table, categories = _table_and(d, d.categories)
    if table is None:
        return None
    column = d.pick(categories)
    sql = d.select(d.col(column), table=table).distinct()
    where = ""
    if d.rng.random() < 0.4:
        cond, where = _filter(d, table)
        if cond is None or column.name in str(cond):
            return None
        sql, where = sql.where(cond), " of " + d.nouns(table)[1] + " " + where
    else:
        where = " of the " + d.nouns(table)[1]
    q = d.say(["What are the distinct {cs}{w}?", "List the different {cs}{w}.", "Show all unique {cs}{w}.",
               "Which {cs} appear{w}?"], cs=d.words_plural(column), w=where)
    return Draft("distinct", q, sql)


def count_distinct(d: Drafter) -> Draft | None:
    table, categories = _table_and(d, d.categories)
    if table is None:
        return None
    column = d.pick(categories)
    sql = d.select(exp.Count(this=exp.Distinct(expressions=[d.col(column)])), table=table)
    q = d.say(["How many different {cs} are there among the {t}?", "Count the distinct {cs} of {t}.",
               "How many unique {cs} do the {t} have?"], cs=d.words_plural(column), t=d.nouns(table)[1])
    return Draft("count_distinct", q, sql)


def having(d: Drafter) -> Draft | None:
    table, categories = _table_and(d, d.categories)
    if table is None or table.rows < 4:
        return None
    column, least = d.pick(categories), d.rng.choice([2, 2, 3])
    count = exp.Count(this=exp.Star())
    sql = d.select(d.col(column), table=table).group_by(d.col(column)).having(exp.GTE(this=count, expression=literal(least)))
    q = d.say(["Which {cs} have at least {n} {t}?", "List the {cs} shared by {n} or more {t}.",
               "Show the {cs} that appear in at least {n} {t}."], cs=d.words_plural(column), n=least, t=d.nouns(table)[1])
    return Draft("having", q, sql)


def group_top(d: Drafter) -> Draft | None:
    table, categories = _table_and(d, d.categories)
    if table is None:
        return None
    column = d.pick(categories)
    count = exp.Count(this=exp.Star())
    sql = d.select(d.col(column), table=table).group_by(d.col(column)).order_by(exp.Ordered(this=count, desc=True)).limit(1)
    q = d.say(["Which {c} has the most {t}?", "What is the most common {c} among {t}?", "Which {c} do most {t} have?",
               "Find the {c} with the largest number of {t}."], c=d.words(column), t=d.nouns(table)[1])
    return Draft("group_top", q, sql)


def above_average(d: Drafter) -> Draft | None:
    table, numbers = _table_and(d, d.numbers)
    label = d.label(table) if table else None
    if label is None:
        return None
    column, above = d.pick(numbers), d.rng.random() < 0.65
    average = d.select(exp.Avg(this=d.col(column)), table=table)
    cond = (exp.GT if above else exp.LT)(this=d.col(column), expression=exp.Subquery(this=average))
    sql = d.select(d.col(label), table=table).where(cond)
    q = d.say(["Which {t} have a {c} {ab} the average? Show their {l}.", "List the {l} of {t} whose {c} is {ab} average.",
               "Find the {t} with {c} {ab} the average {c}; give their {l}."],
              t=d.nouns(table)[1], c=d.words(column), ab="above" if above else "below", l=d.words_plural(label))
    return Draft("above_average", q, sql)


def intersect(d: Drafter) -> Draft | None:
    table, categories = _table_and(d, d.categories)
    numbers = d.numbers(table) if table else []
    if not numbers:
        return None
    column, number = d.pick(categories), d.pick(numbers)
    low, high = sorted(d.rng.sample(number.examples, 2)) if len(number.examples) > 1 else (None, None)
    if low is None or low == high:
        return None
    first = d.select(d.col(column), table=table).where(exp.GT(this=d.col(number), expression=literal(high)))
    second = d.select(d.col(column), table=table).where(exp.LT(this=d.col(number), expression=literal(low)))
    set_op, join = (exp.intersect, "and also") if d.rng.random() < 0.6 else (exp.except_, "but no")
    sql = set_op(first, second, distinct=True)
    q = d.say(["Which {cs} have {t} with {n} above {b} {j} {t} with {n} below {a}?",
               "Show the {cs} that have a {s} with {n} over {b} {j} {s} with {n} under {a}.",
               "List the {cs} with some {s} whose {n} is more than {b} {j} {s} whose {n} is less than {a}."],
              cs=d.words_plural(column), t=d.nouns(table)[1], s=d.nouns(table)[0], n=d.words(number),
              a=d.spoken(low), b=d.spoken(high), j=join)
    return Draft("intersect" if set_op is exp.intersect else "except", q, sql)


TEMPLATES = [count_all, count_where, list_where, list_columns, between, date_range, in_list, like, aggregate,
             multi_aggregate, group_count, group_aggregate, top_n, superlative, order_by, distinct, count_distinct,
             having, group_top, above_average, intersect]
