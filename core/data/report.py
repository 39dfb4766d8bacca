"""The validation report of a list of pairs: each Finding names the row, the field, the problem in plain words and
how to fix it; the Report holds them with the summary the Data tab's tiles show (SUMMARY_LABELS), the token counts
and, on a connected database, the pre-flight's line. Errors make a row unfit for training; warnings do not block.

core.data.validate writes reports; core.db.preflight adds its findings; the UI, the CLI and MLflow read them.
"""

from dataclasses import dataclass, field

ERROR, WARNING = "error", "warning"

# Summary keys, in display order, with the label the UI shows.
SUMMARY_LABELS = {
    "rows": "rows",
    "trainable": "rows that will train",
    "errors": "rows with errors",
    "warnings": "rows with warnings",
    "empty": "missing or empty fields",
    "duplicates": "exact duplicates",
    "conflicts": "same question, different SQL",
    "invalid_sql": "invalid SQL",
    "writes": "statements that write",
    "unknown_names": "unknown tables/columns",
    "too_long": "too long",
    # filled by the pre-flight on a connected database (core.db.preflight)
    "db_errors": "fail on the database",
    "db_empty": "empty results",
    "db_timeouts": "time outs",
}
DATABASE_KINDS = ("db_errors", "db_empty", "db_timeouts")


@dataclass
class Finding:
    row: int
    field: str
    severity: str
    problem: str
    fix: str
    kind: str  # one of SUMMARY_LABELS' keys


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    summary: dict[str, int] = field(default_factory=dict)
    token_lengths: list[int] = field(default_factory=list)  # per row, same order as the pairs
    token_stats: dict[str, float] = field(default_factory=dict)
    error_rows: set[int] = field(default_factory=set)
    preflight: str = ""  # "N of M run on your database", when the pairs were run on a connected database

    @property
    def ok(self) -> bool:
        return not self.error_rows

    def as_text(self, limit: int = 50) -> str:
        lines = [
            ", ".join(
                f"{SUMMARY_LABELS[k]}: {v}"
                for k, v in self.summary.items()
                if self.preflight or k not in DATABASE_KINDS
            )
        ]
        if self.preflight:
            lines.append(self.preflight)
        if self.token_stats:
            lines.append("tokens per row: " + ", ".join(f"{k} {v:g}" for k, v in self.token_stats.items()))
        for f in self.findings[:limit]:
            lines.append(f"row {f.row} [{f.severity}] {f.field}: {f.problem} -> {f.fix}")
        if len(self.findings) > limit:
            lines.append(f"... and {len(self.findings) - limit} more findings")
        return "\n".join(lines)

    def to_dict(self, whole: bool = False) -> dict:
        """The report as JSON data (MLflow's artifact); `whole` adds what `from_dict` needs to rebuild it."""
        data = {
            "summary": self.summary,
            "token_stats": self.token_stats,
            "preflight": self.preflight,
            "findings": [f.__dict__ for f in self.findings],
        }
        if whole:
            data.update(token_lengths=self.token_lengths, error_rows=sorted(self.error_rows))
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Report":
        return cls(
            [Finding(**f) for f in data["findings"]],
            data["summary"],
            data["token_lengths"],
            data["token_stats"],
            set(data["error_rows"]),
            data.get("preflight", ""),
        )
