"""Evaluation: generate SQL with the base model and the adapter, execute both on a real database, compare.

It may use core.train (models, who is training), core.db, core.tracking and everything below.
"""

from core.data.metrics import extract_sql
from core.evaluate.evaluate import (
    SIDE_LABELS,
    EvalReport,
    evaluate,
    rows_csv,
    schema_tables,
    verdict,
)
from core.evaluate.generate import SqlGenerator, generating, training_busy_message
from core.evaluate.generator_process import GeneratorProcess
from core.evaluate.of_run import (
    candidates_for,
    evaluate_after_training,
    evaluate_run,
    held_out_pairs,
    load_run_inputs,
    logged_evaluation,
)
from core.evaluate.schema_check import SchemaCheck, check_names
from core.evaluate.score import EvalRow
from core.train.run_database import database_for, default_data_for, schema_ddl_for

__all__ = [
    "SIDE_LABELS",
    "EvalReport",
    "EvalRow",
    "GeneratorProcess",
    "SchemaCheck",
    "SqlGenerator",
    "candidates_for",
    "check_names",
    "database_for",
    "default_data_for",
    "evaluate",
    "evaluate_after_training",
    "evaluate_run",
    "extract_sql",
    "generating",
    "held_out_pairs",
    "load_run_inputs",
    "logged_evaluation",
    "rows_csv",
    "schema_ddl_for",
    "schema_tables",
    "training_busy_message",
    "verdict",
]
