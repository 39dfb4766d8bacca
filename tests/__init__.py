"""The tests, one folder per stage of core/ (data, db, train, tracking, evaluate, export) and one for app/ (its
handlers, the studio through gradio_client, the browser tests); here the cross-cutting ones (config and layout, security,
compose, concurrency, error texts, the prompt from training to evaluation, the sample data, a database through training
and evaluation) and the shared helpers (conftest.py, db_samples.py, lora_adapter.py).

Every folder is a package, so a test imports another's helpers as `from tests.<folder>.<module> import ...` and pytest
imports each test file once, under that name.
"""
