"""Seeded train/eval split that keeps near-identical questions (and identical SQL) on the same side.

Questions are normalised (case, whitespace, numbers and quoted literals) before grouping, and pairs that
share a SQL string are grouped too (Spider writes each query twice with two wordings), so the eval set
never holds a paraphrase of a training pair.
"""

import random
import re

from core.data.load import Pair

_LITERAL = re.compile(r"'[^']*'|\"[^\"]*\"|\b\d+(\.\d+)?\b")


def normalise_question(question: str) -> str:
    text = _LITERAL.sub("<v>", question.lower())
    return re.sub(r"[\s?.!]+", " ", text).strip()


def _groups(pairs: list[Pair]) -> list[list[int]]:
    parent = list(range(len(pairs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_of: dict[str, int] = {}
    for i, p in enumerate(pairs):
        for key in ("q:" + normalise_question(p.question), "s:" + " ".join(p.sql.split()).lower()):
            if key in first_of:
                parent[find(i)] = find(first_of[key])
            else:
                first_of[key] = i
    groups: dict[int, list[int]] = {}
    for i in range(len(pairs)):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


# Generated pairs alone hold out this share of the eval fraction (never fewer than `min_eval`): they check that the
# adapter learned the database beyond the wordings it saw, while the person's own questions score it on what they ask.
# A whole held-out family also keeps its twins out of training, so 10% of 500 pairs cost 120 of them (50 held out, 70
# more that shared their SQL or question); 20 held out cost about 30.
GENERATED_SHARE = 0.4


def split_pairs(
    pairs: list[Pair], fraction: float = 0.1, seed: int = 3407, min_eval: int = 20
) -> tuple[list[Pair], list[Pair]]:
    """(train, eval). Eval holds about `fraction` of the rows, at least `min_eval` when the data allows
    (never more than half).

    When the user's own pairs sit beside generated ones (Pair.source == "generated"), the eval rows are drawn
    from the user's pairs only, so the score is measured on real questions: `fraction` then applies to those. A
    generated pair that shares a question or SQL with an eval row is left out of training (it would give the
    answer away).

    Generated pairs alone are held out by template and wording family (`Pair.family`): no held-out question shares
    its template and wording with a training question, and no training pair shares a held-out pair's SQL or
    question, so a score on them is a score on wordings the adapter never saw."""
    own = [i for i, p in enumerate(pairs) if not p.generated]
    if not own and fraction > 0 and all(p.phrasing for p in pairs):
        return _split_by_family(pairs, fraction, seed, min_eval)
    mixed = 0 < len(own) < len(pairs)
    candidates = len(own) if mixed else len(pairs)
    if fraction <= 0 or candidates < 2:
        return list(pairs), []
    target = max(round(candidates * fraction), min(min_eval, candidates // 2))
    groups = _groups(pairs)
    random.Random(seed).shuffle(groups)
    eval_idx: set[int] = set()
    left_out: set[int] = set()
    for group in groups:
        if len(eval_idx) >= target:
            break
        chosen = [i for i in group if not pairs[i].generated] if mixed else group
        if chosen and len(eval_idx) + len(chosen) <= max(target, candidates // 2):
            eval_idx.update(chosen)
            left_out.update(i for i in group if i not in eval_idx)
    train = [p for i, p in enumerate(pairs) if i not in eval_idx and i not in left_out]
    return train, [p for i, p in enumerate(pairs) if i in eval_idx]


def _split_by_family(
    pairs: list[Pair], fraction: float, seed: int, min_eval: int
) -> tuple[list[Pair], list[Pair]]:
    families: dict[str, list[int]] = {}
    for i, p in enumerate(pairs):
        families.setdefault(p.family, []).append(i)
    names = sorted(families)
    random.Random(seed).shuffle(names)
    target = max(round(len(pairs) * fraction * GENERATED_SHARE), min(min_eval, len(pairs) // 2))
    held: set[int] = set()
    for name in names:
        if len(held) >= target or len(held) + len(families[name]) > len(pairs) // 2:
            continue
        held.update(families[name])
    given = {" ".join(pairs[i].sql.split()).lower() for i in held} | {
        normalise_question(pairs[i].question) for i in held
    }
    train = [
        p
        for i, p in enumerate(pairs)
        if i not in held
        and " ".join(p.sql.split()).lower() not in given
        and normalise_question(p.question) not in given
    ]
    return train, [p for i, p in enumerate(pairs) if i in held]
