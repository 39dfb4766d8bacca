"""Evaluation: generate SQL with the base model and the adapter, execute both on a real database, compare.

It may use core.train (models, who is training), core.db, core.tracking and everything below.
"""

from core.evaluate.evaluate import (
    default_data_for,
    evaluate,
    evaluate_after_training,
    evaluate_run,
    load_run_inputs,
    logged_evaluation,
    rows_csv,
    schema_ddl_for,
)
from core.evaluate.generate import SqlGenerator, generating, training_busy_message
from core.evaluate.generator_process import GeneratorProcess
from core.evaluate.metrics import extract_sql

__all__ = ["GeneratorProcess", "SqlGenerator", "default_data_for", "extract_sql", "evaluate", "evaluate_after_training", "evaluate_run", "generating",
           "load_run_inputs", "logged_evaluation", "rows_csv", "schema_ddl_for", "training_busy_message"]
