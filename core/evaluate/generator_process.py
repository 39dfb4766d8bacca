"""SQL generation in a child process, so the studio's own process never loads a model (like training's worker).

    with GeneratorProcess(keep=1) as generator:   # `python -m core.evaluate.generator_process`, spawned
        answers = generator.generate("bundled", None, False, prompts)              # the base model
        answers = generator.generate("bundled", "data/outputs/JOB/adapter", False, prompts)

The child keeps the `keep` models it used last loaded (the playground keeps base and adapter; an evaluation one at a
time): a model asked for again goes to the back of the line, and the one unused the longest is freed first
and answers JSON lines on its stdout; everything the libraries print goes to stderr. A failure in the child (a
model that cannot be loaded, out of memory) comes back as the same kind of error with its message; a child that
dies is reported as a RuntimeError and a new one is started by the next GeneratorProcess.
"""

import json
import os
import subprocess
import sys
import threading
from collections import OrderedDict

from core.evaluate import answer_cache
from core.evaluate.generate import SqlGenerator
from core.paths import PROJECT_ROOT
from core.train import resolve_model
from core.train.models import ModelError
from core.train.threads import WAIT_POLICY


class GeneratorProcess:
    def __init__(self, keep: int = 2):
        env = {**WAIT_POLICY, **os.environ, "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "core.evaluate.generator_process", str(keep)],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self._lock = threading.Lock()

    def alive(self) -> bool:
        return self._process.poll() is None

    def generate(
        self,
        model: str,
        adapter: str | None,
        trust_remote_code: bool,
        prompts: list[list[dict]],
        max_new_tokens: int = 160,
        batch_size: int = 0,
        progress=None,
        candidates: int = 1,
    ) -> list:
        """Raw answers of one model (with the adapter merged in, when given) for system/user message lists. The
        base model's answers on a CPU come from the answer cache when the same request was answered before. With
        `candidates` > 1, a list per prompt: the greedy answer, then `candidates` - 1 sampled ones (for a vote)."""
        request = {
            "model": model,
            "adapter": adapter,
            "trust": trust_remote_code,
            "prompts": prompts,
            "max_new_tokens": max_new_tokens,
            "batch_size": batch_size,
            "samples": max(candidates - 1, 0),
        }
        with self._lock:
            try:
                self._process.stdin.write(json.dumps(request) + "\n")
                self._process.stdin.flush()
            except (BrokenPipeError, OSError):
                raise RuntimeError(self._death()) from None
            while True:
                line = self._process.stdout.readline()
                if not line:
                    raise RuntimeError(self._death())
                reply = json.loads(line)
                if "progress" in reply:
                    if progress is not None:
                        progress(reply["progress"])
                    continue
                if reply.get("ok"):
                    return reply["answers"]
                raise _error(reply.get("kind", ""), reply.get("error", "generation failed"))

    def _death(self) -> str:
        code = self._process.wait()
        how = f"signal {-code}" if code < 0 else f"exit code {code}"
        return f"The generation process ended unexpectedly ({how}); the studio is fine, try again."

    def close(self) -> None:
        try:
            self._process.stdin.close()  # EOF: the child frees its models and exits
            self._process.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self._process.kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _error(kind: str, message: str) -> Exception:
    """The child's error as the kind callers would catch in-process."""
    if kind == "ModelError":
        return ModelError(message)
    return {"ValueError": ValueError, "MemoryError": MemoryError}.get(kind, RuntimeError)(message)


class LoadedModels:
    """The models a generation child holds, at most `keep`, the least recently used freed first: the playground
    asks the base model beside each adapter, so trying another adapter frees the last adapter, not the base it has
    just asked (the oldest load), which the next question would load again."""

    def __init__(self, keep: int, load=SqlGenerator):
        self.keep, self._load, self._models = max(1, keep), load, OrderedDict()

    def __contains__(self, key: tuple) -> bool:
        return key in self._models

    def get(self, key: tuple):
        """The model of `key`, loaded now when it is not held (after freeing the least recently used)."""
        if key in self._models:
            self._models.move_to_end(key)
            return self._models[key]
        while len(self._models) >= self.keep:
            self._models.popitem(last=False)[1].close()
        self._models[key] = self._load(*key)
        return self._models[key]


def serve(keep: int) -> None:
    """The child: read requests on stdin, answer on the original stdout; library output goes to stderr."""

    answers_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # print() of any library now lands on stderr, never in the protocol
    loaded = LoadedModels(keep)

    def reply(data: dict) -> None:
        answers_out.write(json.dumps(data) + "\n")
        answers_out.flush()

    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"

    def model_for(request: dict) -> SqlGenerator:
        key = (request["model"], request["adapter"], request["trust"])
        if key not in loaded:
            reply({"progress": f"loading {request['model']}" + (" + adapter" if request["adapter"] else "")})
        return loaded.get(key)

    def answers_for(request: dict, samples: int = 0) -> list:
        """Greedy answers, or `samples` sampled ones per prompt; the base model's kept in the answer cache, prompt by
        prompt: only the prompts it does not hold are generated."""
        source, prompts = resolve_model(request["model"]), request["prompts"]
        keys = [answer_cache.key(source, request, device, samples, p) for p in prompts]
        answers = [answer_cache.read(k) for k in keys]
        missing = [i for i, a in enumerate(answers) if a is None]
        if not missing:
            reply(
                {"progress": "the base model's answers to these prompts are kept from an earlier evaluation"}
            )
            return [a[0] for a in answers]
        model, size, asked = model_for(request), request["batch_size"], [prompts[i] for i in missing]
        if samples:
            new = model.sample(asked, samples, request["max_new_tokens"], size)
        else:
            new = model.generate(asked, max_new_tokens=request["max_new_tokens"], batch_size=size)
        for i, answer in zip(missing, new, strict=True):
            answers[i] = [answer]
            answer_cache.write(keys[i], [answer])
        return [a[0] for a in answers]

    for line in sys.stdin:
        request = json.loads(line)
        try:
            answers = answers_for(request)
            if request.get("samples"):  # candidates for a vote: the greedy answer first, then the samples
                drawn = answers_for(request, request["samples"])
                answers = [[greedy, *more] for greedy, more in zip(answers, drawn, strict=True)]
            reply({"ok": True, "answers": answers})
        except Exception as e:  # noqa: BLE001 - every failure goes back to the studio as a message
            text = str(e).strip().splitlines()[0][:400] if str(e).strip() else ""
            message = (
                text
                if type(e).__name__ in ("ModelError", "ValueError") and text
                else f"{type(e).__name__}: {text}".rstrip(": ")
            )
            if "out of memory" in message.lower():
                message += " Free memory (stop the training, close other programs) or use a smaller model."
            reply({"ok": False, "kind": type(e).__name__, "error": message})


if __name__ == "__main__":
    serve(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
