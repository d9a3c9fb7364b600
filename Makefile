# Every target depends on `install`, so a fresh clone needs no manual step.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install compile test lint format typecheck check demo bench bench-quick clean

# The SSE decoder compiled by mypyc from its own source (docs/performance.md). The build runs in
# a scratch directory that links the package in, so setuptools never reads our pyproject.toml;
# without a C compiler it says so and the decoder runs interpreted.
EXT_SUFFIX := $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
COMPILED_DECODER := streaming/_decoder$(EXT_SUFFIX)

install: $(STAMP)

compile: $(COMPILED_DECODER)

$(COMPILED_DECODER): streaming/_decoder.py $(STAMP)
	@rm -f streaming/_decoder*$(EXT_SUFFIX)
	@scratch=$$(mktemp -d) && ln -s "$(CURDIR)/streaming" "$$scratch/streaming" && \
	if (cd "$$scratch" && "$(CURDIR)/$(BIN)/mypyc" streaming/_decoder.py) >"$$scratch/log" 2>&1; \
	then echo "compiled streaming/_decoder.py with mypyc"; rm -rf "$$scratch"; \
	else echo "note: mypyc could not compile streaming/_decoder.py (log: $$scratch/log);" \
	  "the decoder runs interpreted"; fi

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

test: install compile
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install
	$(BIN)/mypy --strict openai_ergo streaming tests benchmarks examples

check: lint typecheck test

demo: install compile
	$(BIN)/python examples/demo.py

bench: install compile
	$(BIN)/python -m benchmarks

bench-quick: install compile
	$(BIN)/python -m benchmarks --quick

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
	rm -f streaming/_decoder*$(EXT_SUFFIX)
