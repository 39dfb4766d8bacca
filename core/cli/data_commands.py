"""The commands about the data: `generate` (pairs made from a database, each executed), `validate` (the report of a
data file; exit 1 when rows have errors) and `preview` (rendered training samples, the trained part marked).
"""

import time

from core.cli.flags import _config
from core.data import load_pairs, render_example
from core.db import connect, describe_source, introspect
from core.defaults import pairs_to_generate
from core.pairgen import generate, template_counts, write_jsonl
from core.train import build_dataset, gpu_available, load_dataset, load_tokenizer


def cmd_generate(args) -> int:
    """Question/SQL pairs made from the database's schema and values, each executed; written as JSONL."""

    start = time.time()
    args.n = args.n or pairs_to_generate(gpu_available())
    db = connect(args.database)
    info = introspect(db)
    result = generate(db, n=args.n, seed=args.seed, info=info, dialect=args.dialect or db.dialect)
    write_jsonl(result.pairs, args.out)
    counts = template_counts(result.pairs)
    print(
        f"{len(result.pairs)} pairs ({result.stats.queries} distinct queries) from {describe_source(args.database)} "
        f"in {time.time() - start:.1f} s ({len(counts)} kinds: "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
        + f") -> {args.out}"
    )
    for note in [*info.problems, *result.stats.notes(args.n, len(result.pairs))]:
        print(f"note: {note}")
    return 0


def cmd_validate(args) -> int:

    cfg = _config(args)
    pairs = load_pairs(
        cfg.data_path
    )  # a broken file answers at once, before any model or tokenizer is loaded
    built = build_dataset(cfg, load_tokenizer(cfg.model, cfg.trust_remote_code), pairs=pairs)  # counts tokens
    schema = built.schema
    print(
        f"{args.data}: {len(pairs)} rows" + (f", schema with {len(schema.tables)} tables" if schema else "")
    )
    print(built.report.as_text(limit=args.limit))
    return 1 if built.report.error_rows else 0


def cmd_preview(args) -> int:

    cfg = _config(args)
    tokenizer = load_tokenizer(cfg.model, cfg.trust_remote_code)
    pairs, _, schema_text, _ = load_dataset(cfg)
    fmt = cfg.prompt_format(schema_text)
    for pair in pairs[: args.n]:
        ex = render_example(fmt.messages(pair), tokenizer)
        print(
            f"----- row {pair.row}: {len(ex.token_ids)} tokens, {sum(ex.trained)} trained (between >>> and <<<)"
        )
        print(ex.prompt_text + ">>>" + ex.answer_text + "<<<")
    return 0
