"""What an adapter was trained with: the base model, the system prompt template, the dialect and the compact
schema that went into every prompt.

The trainer writes it into the adapter folder (studio_prompt.json), so an adapter carries its prompt wherever
it goes (MLflow artifact, zip, registry). Exports rebuild the exact training prompt from it; for adapters
trained before the record existed, it is rebuilt from the run's config.json.
"""

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from core.config import TrainConfig
from core.data import DEFAULT_SYSTEM_TEMPLATE, Pair, build_messages, system_prompt

PROMPT_FILE = "studio_prompt.json"


@dataclass
class PromptRecord:
    base_model: str
    system_template: str = DEFAULT_SYSTEM_TEMPLATE
    dialect: str = "postgres"
    schema_text: str = ""  # the CREATE TABLEs as they appear in the prompt (compact)

    @property
    def system_prompt(self) -> str:
        return system_prompt(self.system_template, self.dialect, self.schema_text)

    @property
    def schema_hash(self) -> str:
        return hashlib.sha256(self.schema_text.encode()).hexdigest()[:16]

    def prompt_messages(self, question: str) -> list[dict]:
        """The system and user turns of a question, exactly as in training (the answer is left out)."""
        pair = Pair(question, "", 0)
        return build_messages(pair, self.system_template, self.dialect, self.schema_text)[:-1]

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
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    @classmethod
    def from_config(cls, cfg: TrainConfig) -> "PromptRecord":
        """Rebuilt from a training config, the way the trainer builds the prompt's schema."""
        from core.data import load_schema_file, parse_schema, schema_ddl_only

        if cfg.schema_path:
            schema = load_schema_file(cfg.schema_path, cfg.dialect)
        else:
            schema = parse_schema(cfg.schema_text, cfg.dialect)
        return cls(cfg.model, cfg.system_template, cfg.dialect, schema_ddl_only(schema, cfg.dialect))
