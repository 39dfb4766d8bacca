"""Greedy SQL generation with a base model, optionally with a LoRA adapter on top (transformers + peft).

Prompts are built exactly as in training (system + user turns, then the assistant's opening), so the
model sees at evaluation what it saw while training.
"""

import gc

from core.compute import GENERATION, TRAINING, generation_lock, holder, lease, training_refusal
from core.data import Pair, PromptFormat, ensure_chat_template
from core.data.metrics import extract_sql
from core.evaluate.vote import SAMPLING_SEED, TEMPERATURE, TOP_P
from core.train import needs_remote_code, remote_code_error, resolve_model, training_elsewhere

# Where the SQL of an answer ends for extract_sql (the first ';' or blank line): generating past it only costs time
# (a base model that answers in prose runs on to the token limit).
STOP_STRINGS = (";", "\n\n")


def training_busy_message() -> str:
    """ "" when no training runs (here or in another process of this data folder), else why generation must wait."""

    busy = holder(TRAINING) or training_elsewhere()
    return training_refusal(busy) if busy else ""


def generating(label: str = "evaluation"):
    """The compute lease of an evaluation or playground answer (training does not start under it)."""
    return lease(GENERATION, label)


class SqlGenerator:
    def __init__(
        self,
        model_choice: str,
        adapter_path: str | None = None,
        trust_remote_code: bool = False,
        gguf_file: str | None = None,
    ):
        """gguf_file: load the weights from this GGUF file instead (an export's self-check); the tokenizer still
        comes from the model_choice folder, because transformers' tokenizer rebuilt from a GGUF garbles text."""
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        source = resolve_model(model_choice)
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        tokenizer_source = adapter_path or source
        remote = dict(trust_remote_code=trust_remote_code)  # model-shipped code runs only on explicit opt-in
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_source, **remote)
        except ValueError as e:
            if needs_remote_code(e):
                raise remote_code_error(model_choice) from None
            raise
        ensure_chat_template(self.tokenizer)
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.tokenizer.padding_side = "left"  # batched greedy generation needs left padding
        # On a GPU: the model's own 16-bit dtype, loaded straight onto the device (a 7B model never sits in host
        # memory whole). On a CPU: float32.
        placement = (
            dict(dtype="auto", device_map={"": "cuda"})
            if self.device == "cuda"
            else dict(dtype=torch.float32)
        )
        try:
            weights = dict(gguf_file=str(gguf_file)) if gguf_file else {}
            model = AutoModelForCausalLM.from_pretrained(source, **placement, **remote, **weights)
        except ValueError as e:
            if needs_remote_code(e):
                raise remote_code_error(model_choice) from None
            raise
        if self.device == "cuda" and model.dtype == torch.float32:
            model = model.to(torch.bfloat16)
        if adapter_path:
            from peft import PeftModel

            quantized = getattr(model, "hf_quantizer", None) is not None
            model = PeftModel.from_pretrained(model, adapter_path)
            # merged into the weights: the same function at base-model speed; a quantized base keeps the adapter
            # beside its weights (merging into 4-bit weights would round the adapter away)
            if not quantized:
                model = model.merge_and_unload()
        self.model = model.eval()
        self.label = f"{model_choice} + adapter" if adapter_path else model_choice
        # Stop at the end of the assistant turn (ChatML's <|im_end|>) as well as at the tokenizer's EOS.
        stops = {self.tokenizer.eos_token_id, self.tokenizer.convert_tokens_to_ids("<|im_end|>")}
        self.stop_ids = sorted(i for i in stops if isinstance(i, int) and i != self.tokenizer.unk_token_id)

    def batch_size(self, longest_tokens: int) -> int:
        """Prompts per batch: 8 on a CPU (more only queues up); on a GPU as many as half its free memory holds in
        key/value cache, between 8 and 64 (measured at 7B on an H200: 64 rows in 34.8 s at 8, 10.1 s at 32)."""
        import torch

        if self.device != "cuda":
            return 8
        config = self.model.config
        heads = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        per_sequence = (
            2 * config.num_hidden_layers * heads * head_dim * 2 * longest_tokens
        )  # keys and values, 16-bit
        free, _ = torch.cuda.mem_get_info()
        return int(min(64, max(8, free * 0.5 // max(per_sequence, 1))))

    def generate(
        self, prompts: list[list[dict]], max_new_tokens: int = 160, batch_size: int = 0
    ) -> list[str]:
        """Raw answers (text after the prompt) for each prompt (a list of system/user messages). batch_size 0: sized
        from the free memory (see batch_size())."""
        return [answers[0] for answers in self._answers(prompts, max_new_tokens, batch_size, 1)]

    def sample(
        self, prompts: list[list[dict]], n: int, max_new_tokens: int = 160, batch_size: int = 0
    ) -> list[list[str]]:
        """`n` sampled answers per prompt (core.evaluate.vote's temperature and top-p, a fixed seed: the same
        prompts on the same model and machine draw the same answers)."""
        import torch

        torch.manual_seed(SAMPLING_SEED)
        return self._answers(
            prompts, max_new_tokens, batch_size, n, do_sample=True, temperature=TEMPERATURE, top_p=TOP_P
        )

    def _answers(self, prompts, max_new_tokens: int, batch_size: int, per_prompt: int, **sampling):
        """`per_prompt` answers for each prompt; a batch holds `batch_size` sequences in all."""
        import torch

        texts = [
            self.tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts
        ]
        if not batch_size:
            longest = max(
                (len(ids) for ids in self.tokenizer(texts, add_special_tokens=False)["input_ids"]), default=1
            )
            batch_size = self.batch_size(longest + max_new_tokens)
        step = max(1, batch_size // per_prompt)
        decoding = sampling or {"do_sample": False}
        answers: list[list[str]] = []
        with generation_lock, torch.inference_mode():
            for i in range(0, len(texts), step):
                batch = self.tokenizer(
                    texts[i : i + step], return_tensors="pt", padding=True, add_special_tokens=False
                ).to(self.device)
                out = self.model.generate(
                    **batch,
                    max_new_tokens=max_new_tokens,
                    num_return_sequences=per_prompt,
                    pad_token_id=self.tokenizer.pad_token_id,
                    eos_token_id=self.stop_ids,
                    stop_strings=list(STOP_STRINGS),
                    tokenizer=self.tokenizer,
                    **decoding,
                )
                new = self.tokenizer.batch_decode(
                    out[:, batch["input_ids"].shape[1] :], skip_special_tokens=True
                )
                answers.extend(new[j : j + per_prompt] for j in range(0, len(new), per_prompt))
        return answers

    def sql_for(self, pairs: list[Pair], fmt: PromptFormat, **kw) -> list[tuple[str, str]]:
        """(raw answer, extracted SQL) per pair, prompted exactly as in training."""
        prompts = [fmt.messages(p)[:-1] for p in pairs]
        raw = self.generate(prompts, **kw)
        return [(r, extract_sql(r)) for r in raw]

    def close(self) -> None:

        del self.model
        gc.collect()
