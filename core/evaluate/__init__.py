"""Evaluation: generate SQL with the base model and the adapter, execute both on a real database, compare.

It may use core.train (models, who is training), core.db, core.tracking and everything below.
"""

from core.evaluate.evaluate import (
    database_for,
    default_data_for,
    evaluate,
    evaluate_after_training,
    evaluate_run,
    load_run_inputs,
    logged_evaluation,
    rows_csv,
    run_schema_text,
    schema_ddl_for,
)
from core.evaluate.generate import SqlGenerator, generating, training_busy_message
from core.evaluate.generator_process import GeneratorProcess
from core.evaluate.metrics import extract_sql

__all__ = ["GeneratorProcess", "SqlGenerator", "database_for", "default_data_for", "evaluate", "evaluate_after_training",
           "evaluate_run", "extract_sql", "generating", "load_run_inputs", "logged_evaluation", "rows_csv",
           "run_schema_text", "schema_ddl_for", "training_busy_message"]
