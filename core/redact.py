"""Keep secrets out of everything the studio writes or shows: messages, logs, MLflow params and tags.

Database URLs carry passwords (postgresql://user:PASSWORD@host/db), conninfo strings carry `password=...`, and
URLs or settings may carry tokens. `redact` masks all of these in any text; it is applied where text leaves the
process (run state and its log, MLflow params/tags, error messages) rather than trusted to each caller.
"""

import re

MASK = "***"
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][\w+.-]*://[^:/@\s]+):[^@\s]*@")  # scheme://user:secret@
_KEY_VALUE = re.compile(
    r"(?i)\b((?:password|passwd|pwd|token|secret|api[_-]?key|access[_-]?key)\w*"
    r"[\"']?\s*[=:]\s*[\"']?)([^\s&\"',;]+)"
)
_BEARER = re.compile(r"(?i)\b(bearer\s+)[\w.~+/-]+=*")
_KNOWN_TOKENS = re.compile(r"\b(hf_[A-Za-z0-9]{20,}|sk-[A-Za-z0-9_-]{20,}|gh[pousr]_[A-Za-z0-9]{20,})\b")


def redact(text: str) -> str:
    """The text with passwords and tokens replaced by ***."""
    if not text:
        return text
    text = _URL_PASSWORD.sub(rf"\1:{MASK}@", text)
    text = _BEARER.sub(rf"\1{MASK}", text)
    text = _KEY_VALUE.sub(rf"\1{MASK}", text)
    return _KNOWN_TOKENS.sub(MASK, text)


def redact_values(values: dict) -> dict:
    """A copy of a params/tags mapping with every value redacted (keys that name a secret are masked whole)."""
    out = {}
    for key, value in values.items():
        if re.search(r"(?i)password|passwd|token|secret|api_?key", str(key)):
            out[key] = MASK if value not in (None, "") else value
        else:
            out[key] = redact(value) if isinstance(value, str) else value
    return out
