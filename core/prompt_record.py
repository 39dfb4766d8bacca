"""What an adapter was trained with: the base model, the system prompt template, the dialect and the compact
schema that went into every prompt.

The trainer writes it into the adapter folder (studio_prompt.json), so an adapter carries its prompt wherever
it goes (MLflow artifact, zip, registry). Exports rebuild the exact training prompt from it; for adapters
trained before the record existed, it is rebuilt from the run's config.json.
"""

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from core.config import TrainConfig
from core.data import (
    DEFAULT_SYSTEM_TEMPLATE,
    Pair,
    PromptFormat,
    load_schema_file,
    parse_schema,
    schema_ddl_only,
)

PROMPT_FILE = "studio_prompt.json"
# Above this many characters of CREATE TABLEs (about 3,000 tokens) the baseline prompt holds only the tables a
# question mentions: the whole schema would crowd out the question in a small model's context.
BASELINE_FULL_SCHEMA_CHARS = 12_000


@dataclass
class PromptRecord:
    base_model: str
    system_template: str = DEFAULT_SYSTEM_TEMPLATE
    dialect: str = "postgres"
    schema_text: str = ""  # the CREATE TABLEs of the whole database, compact
    schema_mode: str = "full"  # what the prompt holds of them: full, relevant (per question) or none
    database: str = ""  # the database's name, for templates with {database}
    # How "relevant" finds the tables a question names (core.data.schema.PLURALS): records written before the field
    # existed were trained with the suffix rule, and keep it.
    plurals: str = "inflect"

    @property
    def format(self) -> PromptFormat:
        return PromptFormat(
            self.system_template,
            self.dialect,
            self.schema_text,
            self.schema_mode,
            self.database,
            self.plurals,
        )

    @property
    def system_prompt(self) -> str:
        """The system turn (for "relevant", the one a question that names no table gets: the whole schema)."""
        return self.format.system(Pair("", "", 0))

    @property
    def schema_hash(self) -> str:
        return hashlib.sha256(self.schema_text.encode()).hexdigest()[:16]

    def baseline(self) -> "PromptRecord":
        """The base model at its best, as a person without fine-tuning would prompt it: the default template with
        the schema in the prompt (every table, or the tables the question mentions when the schema is long)."""
        mode = "full" if len(self.schema_text) <= BASELINE_FULL_SCHEMA_CHARS else "relevant"
        return replace(self, system_template=DEFAULT_SYSTEM_TEMPLATE, schema_mode=mode)

    def prompt_messages(self, question: str) -> list[dict]:
        """The system and user turns of a question, exactly as in training (the answer is left out)."""
        return self.format.prompt(question)

    def save(self, folder: Path) -> None:
        (Path(folder) / PROMPT_FILE).write_text(json.dumps(asdict(self), indent=1), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "PromptRecord | None":
        path = Path(folder) / PROMPT_FILE
        if not path.exists():
            return None
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))

    @classmethod
    def from_dict(cls, data: dict) -> "PromptRecord":
        data = {"plurals": "suffix", **data}  # a record from before `plurals`: the rule it was trained with
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    @classmethod
    def from_config(cls, cfg: TrainConfig) -> "PromptRecord":
        """Rebuilt from a training config, the way the trainer builds the prompt's schema."""

        if cfg.schema_path:
            schema = load_schema_file(cfg.schema_path, cfg.dialect)
        else:
            schema = parse_schema(cfg.schema_text, cfg.dialect)
        return cls.for_run(cfg, schema_ddl_only(schema, cfg.dialect))

    @classmethod
    def for_run(cls, cfg: TrainConfig, schema_text: str) -> "PromptRecord":
        fmt = cfg.prompt_format(schema_text)
        return cls(cfg.model, fmt.template, fmt.dialect, schema_text, fmt.mode, fmt.database, fmt.plurals)
