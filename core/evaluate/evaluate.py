"""Does the adapter write better SQL? Execute base and fine-tuned SQL on a real database and compare.

    report = evaluate(pairs, db, record, adapter_path)   # the base model at its best vs the adapter, same rows
    report.summaries["adapter"]["exec_accuracy"]         # as generated; "exec_accuracy_checked": with the schema check

Every prompt comes from the run's PromptRecord (core.prompt_record), the one its training rendered. Sides:
"base" is the base model at its best (the schema in the prompt: `PromptRecord.baseline`), "base_prompt" the base
model with the adapter's own prompt (only where that differs), "adapter" the fine-tuned model with its prompt.
Each answer is scored as generated and after the schema check (core.evaluate.schema_check), for every side alike.
"""

import csv
import io
import time
from dataclasses import dataclass, field

from core.data import Pair, parse_schema
from core.data.english import share
from core.db import CORRECT, Database
from core.evaluate.generate import generating
from core.evaluate.generator_process import GeneratorProcess
from core.evaluate.score import HELD_OUT, EvalRow, right, score, score_vote, summarize
from core.prompt_record import PromptRecord

# What each side is called on screen and in MLflow's metric names (eval_* is the adapter, as it always was).
SIDE_LABELS = {
    "base": "base with schema",
    "base_prompt": "base with the adapter's prompt",
    "adapter": "fine-tuned",
}
METRIC_PREFIXES = {"adapter": "eval", "base": "base", "base_prompt": "base_prompt"}


@dataclass
class EvalReport:
    rows: int
    seconds: float
    summaries: dict[str, dict]  # side ("base", "base_prompt", "adapter") -> summary of the held-out rows
    results: dict[str, list[EvalRow]]  # side -> every scored row, of every set
    gold_failures: int = 0  # gold queries that did not run on this database (left out of the scores)
    side_seconds: dict[str, float] = field(default_factory=dict)  # side -> load, generate, score
    set_summaries: dict[str, dict[str, dict]] = field(default_factory=dict)  # other set -> side -> summary
    held_out: str = "held-out rows"  # what the held-out rows are, in words ("generated questions, ...")

    def timing(self) -> str:
        """'in 61 s (base 24 s, adapter 37 s)': where an evaluation's time went."""
        sides = ", ".join(f"{SIDE_LABELS.get(name, name)} {s:.0f} s" for name, s in self.side_seconds.items())
        return f"in {self.seconds:.0f} s" + (f" ({sides})" if sides else "")

    def side_by_side(self) -> list[dict]:
        base, tuned = self.results.get("base", []), self.results.get("adapter", [])
        out = []
        for b, t in zip(base, tuned, strict=False):
            out.append(
                {
                    "row": b.row,
                    "set": b.set,
                    "question": b.question,
                    "gold_sql": b.gold_sql,
                    "base_sql": b.sql,
                    "adapter_sql": t.sql,
                    "base": b.category,
                    "adapter": t.category,
                    "change": change(b, t),
                    "adapter_checked": t.checked_category or t.category,
                    "repairs": t.repairs,
                }
            )
        return out

    def headline(self) -> str:
        """'execution accuracy on 20 held-out rows: base with schema 45%, fine-tuned 70%' and one clause per other
        set, for logs and the Train tab's final message."""

        def sides(summaries: dict, key: str = "exec_accuracy") -> str:
            return ", ".join(f"{SIDE_LABELS.get(n, n)} {right(s, key)}" for n, s in summaries.items())

        text = f"execution accuracy on {self.rows} {self.held_out}: {sides(self.summaries)}"
        voted = {n: s for n, s in self.summaries.items() if "exec_accuracy_voted" in s}
        if voted:
            n = next(iter(voted.values()))["candidates"]
            text += f"; with voting ({n} candidates): " + sides(voted, "exec_accuracy_voted")
        for name, summaries in self.set_summaries.items():
            n = next(iter(summaries.values()))["n"] if summaries else 0
            text += f"; on {n} of {name}: {sides(summaries)}"
        return text + ". " + verdict(self.summaries)


def verdict(summaries: dict) -> str:
    """Did fine-tuning beat the base model at its best? One sentence that can say no, with the counts each
    percentage rests on. A difference of one question or less is no difference; a base model that wrote no SQL at
    all is said to, not called a good prompt."""
    base, tuned = summaries.get("base"), summaries.get("adapter")
    if not base or not tuned or not tuned["n"]:
        return ""
    n = tuned["n"]
    b, t = round(base["exec_accuracy"] * n), round(tuned["exec_accuracy"] * n)
    gap = tuned["exec_accuracy"] - base["exec_accuracy"]
    one = 1 / n + 1e-9
    if gap > one:
        return (
            f"Fine-tuning beat the base model with the schema in its prompt by {gap * 100:.0f} points "
            f"({share(b, n)} -> {share(t, n)})."
        )
    if not base.get("valid_sql_rate") and not b:
        return (
            f"The base model wrote no SQL at all (it answered in words), and the adapter answered {share(t, n)} "
            "right: too few to call it a win. Train longer or on more pairs, and check the held-out rows."
        )
    if gap >= -one:
        return (
            f"Fine-tuning did not beat a good prompt: the base model with the schema in its prompt answers "
            f"{share(b, n)} right, the adapter {share(t, n)} (one question or less apart)."
        )
    return (
        f"No: the base model with the schema in its prompt did better ({share(b, n)} against the adapter's "
        f"{share(t, n)}); a good prompt beats this adapter."
    )


def change(base: EvalRow, tuned: EvalRow) -> str:
    b, t = base.category == CORRECT, tuned.category == CORRECT
    return {
        (False, True): "fixed by fine-tuning",
        (True, False): "broken by fine-tuning",
        (True, True): "both correct",
        (False, False): "still wrong",
    }[(b, t)]


def schema_tables(record: PromptRecord) -> dict[str, list[str]]:
    """The schema's tables and columns, for the schema check ({} when the run recorded no schema)."""
    try:
        return parse_schema(record.schema_text, record.dialect).tables if record.schema_text.strip() else {}
    except ValueError:
        return {}


def sides_for(
    record: PromptRecord, adapter_path: str | None, include_base: bool = True, base_prompt: bool = True
) -> list[tuple[str, str | None, PromptRecord]]:
    """(side, adapter or None, prompt record) for each model an evaluation asks."""
    baseline = record.baseline()
    sides = []
    if include_base:
        sides.append(("base", None, baseline))
        if base_prompt and adapter_path and record.format != baseline.format:
            sides.append(("base_prompt", None, record))
    if adapter_path:
        sides.append(("adapter", adapter_path, record))
    return sides


def evaluate(
    pairs: list[Pair],
    db: Database,
    record: PromptRecord,
    adapter_path: str | None = None,
    include_base: bool = True,
    progress=print,
    batch_size: int = 0,
    trust_remote_code: bool = False,
    base_prompt: bool = True,
    other_sets: dict[str, list[Pair]] | None = None,
    candidates: int = 1,
) -> EvalReport:
    """Generate SQL greedily for each pair with the base model and/or the adapter (in a child process: the models
    never load into the studio's), execute, compare. `other_sets` (name -> pairs, e.g. the person's own questions)
    are scored beside the held-out rows and summarised on their own. With `candidates` > 1 every side also draws
    that many candidates per question (the greedy answer and sampled ones) and is scored again on their vote
    (core.evaluate.vote): the "with voting" line."""

    with generating(), GeneratorProcess(keep=1) as generator:
        return _evaluate(
            pairs,
            db,
            record,
            sides_for(record, adapter_path, include_base, base_prompt),
            progress,
            batch_size,
            trust_remote_code,
            generator,
            other_sets or {},
            candidates,
        )


def _evaluate(
    pairs, db, record, sides, progress, batch_size, trust_remote_code, generator, other_sets, candidates=1
):
    start = time.time()
    dialect = record.dialect
    sets = [(HELD_OUT, pairs), *other_sets.items()]
    golds = [(name, p, db.execute(p.sql, dialect)) for name, ps in sets for p in ps]
    usable = [(name, p, g) for name, p, g in golds if g.ok]
    if not usable:
        first = golds[0][2].error if golds else "no rows"
        raise ValueError(
            f"None of the {len(golds)} gold SQL queries ran on {db.label} (first error: {first}). "
            "Give the schema and the data of your database (a SQL script, CSVs or a SQLite file), or "
            "connect to PostgreSQL."
        )
    if len(usable) < len(golds):
        progress(f"{len(golds) - len(usable)} gold queries did not run on this database; they are left out")
    tables = schema_tables(record)
    results: dict[str, list[EvalRow]] = {}
    side_seconds: dict[str, float] = {}
    for name, adapter, side_record in sides:
        side_start = time.time()
        each = f", {candidates} candidates each" if candidates > 1 else ""
        progress(f"generating SQL for {len(usable)} rows{each} with the {SIDE_LABELS[name]} model ...")
        prompts = [side_record.prompt_messages(p.question) for _, p, _ in usable]
        answers = generator.generate(
            record.base_model,
            adapter,
            trust_remote_code,
            prompts,
            batch_size=batch_size,
            max_new_tokens=96,
            progress=progress,
            candidates=candidates,
        )
        rows = []
        for (set_name, p, g), raw in zip(usable, answers, strict=True):
            drawn = raw if candidates > 1 else [raw]
            rows.append(score(p, drawn[0], g, db, dialect, tables))
            rows[-1].set = set_name
            if candidates > 1:
                score_vote(rows[-1], p, drawn, g, db, dialect)
        results[name] = rows
        side_seconds[name] = time.time() - side_start
    held = {name: [r for r in rows if r.set == HELD_OUT] for name, rows in results.items()}
    others = {
        set_name: {name: summarize([r for r in rows if r.set == set_name]) for name, rows in results.items()}
        for set_name, _ in sets[1:]
        if any(s == set_name for s, _, _ in usable)
    }
    return EvalReport(
        len(held[sides[0][0]]) if sides else 0,
        time.time() - start,
        {name: summarize(rows) for name, rows in held.items()},
        results,
        len(golds) - len(usable),
        side_seconds,
        others,
        describe_held_out(pairs),
    )


def describe_held_out(pairs: list[Pair]) -> str:
    """What the held-out rows are, as a score on them should be read."""
    if pairs and all(p.generated for p in pairs):
        return "held-out generated questions (template wordings never trained on)"
    return "held-out rows of your pairs"


def rows_csv(report: EvalReport) -> str:
    buffer = io.StringIO()
    side = report.side_by_side()
    if side:
        fields = list(side[0])
    else:
        name = next(iter(report.results), "")
        side = [
            {
                "row": r.row,
                "set": r.set,
                "question": r.question,
                "gold_sql": r.gold_sql,
                f"{name}_sql": r.sql,
                name: r.category,
                "error": r.error,
            }
            for r in report.results.get(name, [])
        ]
        fields = list(side[0]) if side else ["row"]
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    writer.writerows(side)
    return buffer.getvalue()
