"""Training: models, the batch plan, the engine (one run at a time, in the background) and the worker that trains.

It may use core.db, core.tracking (the job's MLflow run goes through its journal), the config/state modules,
core.data and the bottom modules. It never imports core.evaluate: evaluation after training is handed to the
engine by whoever starts the run.
"""

from core.compute import BusyError
from core.config import ConfigError
from core.data import DataError, SchemaError, TemplateError
from core.tracking import TrackingError
from core.train.batching import plan_batches
from core.train.dataset import build_dataset, load_dataset, planned_split, prepare_run_data
from core.train.engine import Engine, ResumeError, get_engine
from core.train.estimate import estimate_run, suggested_steps
from core.train.gpus import gpu_count, visible_gpus
from core.train.jobs import StorageError, read_job, resumable_jobs, training_elsewhere
from core.train.model_size import recommended_for
from core.train.models import (
    MODEL_CHOICES,
    ModelError,
    gpu_available,
    load_tokenizer,
    needs_remote_code,
    remote_code_error,
    resolve_model,
)

# Problems a person can fix (a file, a setting, a model, a busy device, MLflow away): the studio shows them as a message
# and the CLI as one line, never as a traceback.
USER_ERRORS = (
    DataError,
    SchemaError,
    ModelError,
    ConfigError,
    BusyError,
    TemplateError,
    TrackingError,
    ResumeError,
    StorageError,
)

__all__ = [
    "USER_ERRORS",
    "MODEL_CHOICES",
    "BusyError",
    "ConfigError",
    "Engine",
    "ModelError",
    "ResumeError",
    "StorageError",
    "build_dataset",
    "estimate_run",
    "get_engine",
    "gpu_available",
    "gpu_count",
    "load_dataset",
    "load_tokenizer",
    "needs_remote_code",
    "plan_batches",
    "planned_split",
    "prepare_run_data",
    "read_job",
    "recommended_for",
    "remote_code_error",
    "resolve_model",
    "resumable_jobs",
    "suggested_steps",
    "training_elsewhere",
    "visible_gpus",
]
