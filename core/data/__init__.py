"""Data: load question/SQL pairs, parse schemas, validate every row, render the ChatML training text, split.

The bottom stage of the pipeline: plain Python and sqlglot, no models, no database, no MLflow. It may use
core.paths and core.redact only.
"""

from core.data.chatml import (
    DEFAULT_SYSTEM_TEMPLATE,
    SCHEMA_MODES,
    PromptFormat,
    TemplateError,
    as_prompt_completion,
    build_messages,
    count_tokens_fn,
    ensure_chat_template,
    render_example,
    system_prompt,
)
from core.data.load import DataError, Pair, load_pairs
from core.data.report import SUMMARY_LABELS, Report
from core.data.schema import DIALECTS, Schema, SchemaError, load_schema_file, parse_schema, schema_ddl_only
from core.data.split import split_pairs
from core.data.sqlcheck import WRITE_STATEMENTS
from core.data.sqlparse import parse_one_sql, parse_problem, parse_sql, transpile_sql
from core.data.validate import trainable_pairs, validate_pairs

__all__ = [
    "DEFAULT_SYSTEM_TEMPLATE",
    "DIALECTS",
    "SCHEMA_MODES",
    "PromptFormat",
    "SUMMARY_LABELS",
    "WRITE_STATEMENTS",
    "DataError",
    "Pair",
    "Report",
    "Schema",
    "SchemaError",
    "TemplateError",
    "as_prompt_completion",
    "build_messages",
    "count_tokens_fn",
    "ensure_chat_template",
    "load_pairs",
    "load_schema_file",
    "parse_one_sql",
    "parse_problem",
    "parse_schema",
    "parse_sql",
    "render_example",
    "schema_ddl_only",
    "split_pairs",
    "system_prompt",
    "trainable_pairs",
    "transpile_sql",
    "validate_pairs",
]
