"""A training run's settings: TrainConfig, one documented dataclass (core.config.train_config), its fields declared
in three steps (core.config.inputs, core.config.recipe, then train_config); ConfigError names every problem.
"""

from core.config.recipe import ALL_PROJECTIONS
from core.config.train_config import ConfigError, TrainConfig, default_value, validate_config

__all__ = ["ALL_PROJECTIONS", "ConfigError", "TrainConfig", "default_value", "validate_config"]
