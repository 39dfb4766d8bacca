"""Foreign keys a database does not declare but its names suggest: `customer_id` -> `customers.customer_id` or
`customers.id`. core.db.introspect adds them to the declared ones, marked `inferred`, so the user can untick a wrong
one in the schema panel.
"""

import re

from core.db.schema_info import ForeignKey, Table


def _table_names_for(stem: str) -> set[str]:
    """Table names a column stem may refer to: customer -> customer, customers; category -> categories;
    shelf -> shelves; box -> boxes."""
    stem = stem.lower().rstrip("_")
    names = {stem, stem + "s", stem + "es"}
    if stem.endswith("y"):
        names.add(stem[:-1] + "ies")
    if stem.endswith("f"):
        names.add(stem[:-1] + "ves")
    if stem.endswith("fe"):
        names.add(stem[:-2] + "ves")
    return names


def infer_foreign_keys(tables: list[Table], declared: list[ForeignKey]) -> list[ForeignKey]:
    """Keys the names suggest (`customer_id` -> customers.customer_id or customers.id), marked inferred."""
    covered = {(k.table.lower(), c.lower()) for k in declared for c in k.columns}
    by_name = {t.name.lower(): t for t in tables}
    found = []
    for table in tables:
        for column in table.columns:
            match = re.fullmatch(r"(?i)(.+?)_?id", column.name)
            if not match or (table.name.lower(), column.name.lower()) in covered:
                continue
            if table.primary_key == [column.name]:
                continue  # a table's own key
            target = next(
                (by_name[n] for n in sorted(_table_names_for(match.group(1))) if n in by_name), None
            )
            if target is None or target is table:
                continue
            ref = target.column(column.name) or target.column("id")
            if ref is None or not (ref.primary_key or len(target.primary_key) == 0):
                continue
            found.append(ForeignKey(table.name, [column.name], target.name, [ref.name], inferred=True))
    return found
