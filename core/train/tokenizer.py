"""A model's tokenizer without torch: the `tokenizers` library reads its tokenizer.json, and transformers' own
jinja renderer (which imports no torch) renders its chat template.

transformers' tokenizer classes import torch (through their GGUF support), and the studio's process must stay free
of it: the model lives in worker processes. For counting tokens and previewing prompts this class gives the same
strings and ids as AutoTokenizer (tests compare them); models without a tokenizer.json, or whose tokenizer ships
its own code, use AutoTokenizer instead (core.train.models.load_tokenizer decides).
"""

import json
from pathlib import Path

SPECIAL = ("bos_token", "eos_token", "unk_token", "pad_token")


def _token_text(value) -> str | None:
    return value.get("content") if isinstance(value, dict) else value


class FastTokenizer:
    def __init__(self, folder: Path):
        from tokenizers import Tokenizer

        folder = Path(folder)
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        config_file = folder / "tokenizer_config.json"
        config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.exists() else {}
        template_file = folder / "chat_template.jinja"
        self.chat_template = (
            template_file.read_text(encoding="utf-8")
            if template_file.exists()
            else config.get("chat_template")
        )
        for name in SPECIAL:
            setattr(self, name, _token_text(config.get(name)))

    @property
    def special_tokens_map(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in SPECIAL if getattr(self, name)}

    def apply_chat_template(
        self, messages: list[dict], tokenize: bool = False, add_generation_prompt: bool = False
    ):
        from transformers.utils.chat_template_utils import render_jinja_template

        if not self.chat_template:
            raise ValueError("this tokenizer has no chat template")
        rendered, _ = render_jinja_template(
            conversations=[messages],
            chat_template=self.chat_template,
            add_generation_prompt=add_generation_prompt,
            **self.special_tokens_map,
        )
        text = rendered[0]
        return self(text, add_special_tokens=False)["input_ids"] if tokenize else text

    def __call__(self, text, add_special_tokens: bool = False) -> dict:
        if isinstance(text, str):
            return {"input_ids": self._tokenizer.encode(text, add_special_tokens=add_special_tokens).ids}
        batch = self._tokenizer.encode_batch(list(text), add_special_tokens=add_special_tokens)
        return {"input_ids": [encoding.ids for encoding in batch]}

    def count_tokens(self, texts: list[str]) -> list[int]:
        """len(self(text)["input_ids"]) of each text, without turning 100,000s of id lists into Python lists."""
        return [len(encoding) for encoding in self._tokenizer.encode_batch(texts, add_special_tokens=False)]

    def decode(self, ids: list[int]) -> str:
        # no spacing clean-up: transformers skips it for the BPE tokenizers of chat models (it would corrupt them)
        return self._tokenizer.decode(list(ids), skip_special_tokens=False)

    def convert_tokens_to_ids(self, token: str) -> int | None:
        return self._tokenizer.token_to_id(token)


def import_renderer() -> None:
    """Import the chat-template renderer (transformers, without torch: ~2.5 s on 2 cores). The studio calls this
    once its page is up, so that the first validation or preview does not wait for it."""
    from transformers.utils import chat_template_utils  # noqa: F401


def can_load(folder: Path) -> bool:
    return (Path(folder) / "tokenizer.json").exists()
