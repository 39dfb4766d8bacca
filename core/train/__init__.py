"""Training: models, the batch plan, the engine (one run at a time, in the background) and the worker that trains.

It may use core.db, core.tracking (the job's MLflow run goes through its journal), the config/state modules,
core.data and the bottom modules. It never imports core.evaluate: evaluation after training is handed to the
engine by whoever starts the run.
"""

from core.compute import BusyError
from core.train.batching import plan_batches
from core.train.engine import ConfigError, Engine, ResumeError, get_engine
from core.train.jobs import StorageError, read_job, resumable_jobs, training_elsewhere
from core.train.models import (
    MODEL_CHOICES,
    ModelError,
    gpu_available,
    load_tokenizer,
    needs_remote_code,
    remote_code_error,
    resolve_model,
    start_warmup,
)
from core.train.worker import load_dataset

__all__ = ["MODEL_CHOICES", "BusyError", "ConfigError", "Engine", "ModelError", "ResumeError", "StorageError",
           "get_engine", "gpu_available", "load_dataset", "load_tokenizer", "needs_remote_code", "plan_batches", "read_job",
           "remote_code_error", "resolve_model", "resumable_jobs", "start_warmup", "training_elsewhere"]
