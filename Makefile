# Every target depends on `install`, so a fresh clone needs no manual step.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# The suite runs on this many pytest-xdist workers (it mostly waits on sockets and subprocesses).
TEST_WORKERS ?= 2

.PHONY: install compile wheel wheel-check toolkit-check test lint format typecheck check demo bench bench-quick codegen codegen-check docs clean

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

# Two distributions from one repository: openai-ergo (.) and the streaming toolkit it depends on,
# ergo-streaming (packaging/ergo-streaming), both installed editable.
TOOLKIT := packaging/ergo-streaming

$(STAMP): pyproject.toml $(TOOLKIT)/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e $(TOOLKIT) -e '.[dev]'
	@touch $(STAMP)

# The release wheels: openai-ergo (pure Python) and ergo-streaming, whose wheel carries the
# decoder compiled by the hatch-mypyc hook ($(TOOLKIT)/pyproject.toml).
wheel: install
	rm -rf dist
	$(BIN)/python -m pip wheel --quiet --no-deps -w dist .
	HATCH_BUILD_HOOK_ENABLE_MYPYC=1 $(BIN)/python -m pip wheel --quiet --no-deps -w dist $(TOOLKIT)

# Installs both wheels into a scratch environment: openai-ergo resolves its toolkit from dist/,
# and the toolkit loads the compiled decoder.
wheel-check: wheel
	@scratch=$$(mktemp -d) && $(PYTHON) -m venv "$$scratch/venv" && \
	"$$scratch/venv/bin/python" -m pip install --quiet --find-links "$(CURDIR)/dist" \
	  "$(CURDIR)"/dist/openai_ergo-*.whl && \
	cd "$$scratch" && "$$scratch/venv/bin/python" -c 'import streaming._decoder as d; \
	import openai_ergo; \
	assert d.COMPILED, d.__file__; \
	assert d.SSEDecoder().feed(b"data: hi\n\n")[0].data == "hi"; \
	print("the wheels install together; the toolkit carries the compiled decoder:", \
	d.__file__.rsplit("/", 1)[1])' && \
	rm -rf "$$scratch"

# The toolkit alone: its wheel (and its test extra) in a scratch environment without
# openai-ergo, and tests/streaming run there from a copy, so nothing can reach the repository.
toolkit-check: wheel
	@scratch=$$(mktemp -d) && $(PYTHON) -m venv "$$scratch/venv" && \
	"$$scratch/venv/bin/python" -m pip install --quiet "$$(ls "$(CURDIR)"/dist/ergo_streaming-*.whl)[test]" && \
	mkdir "$$scratch/tests" && cp tests/__init__.py tests/conftest.py "$$scratch/tests/" && \
	cp -r tests/streaming "$$scratch/tests/" && cp $(TOOLKIT)/pytest.ini "$$scratch/" && \
	cd "$$scratch" && "$$scratch/venv/bin/python" -c 'import importlib.util as u, streaming._decoder as d; \
	assert u.find_spec("openai_ergo") is None, "openai_ergo is installed"; \
	assert u.find_spec("msgspec") is None, "msgspec is installed: the toolkit must not need it"; \
	assert d.COMPILED and "site-packages" in d.__file__, d.__file__' && \
	TESTS_SHARED_DIR="$(CURDIR)/../shared" "$$scratch/venv/bin/python" -m pytest -q tests/streaming && \
	echo "ergo-streaming passes its tests alone, without openai-ergo" && rm -rf "$$scratch"

test: install compile
	@command -v redis-server >/dev/null || echo "note: redis-server is not installed, so the" \
	  "Redis tests skip (CI=true fails them): apt-get install -y redis-server"
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install
	$(BIN)/mypy --strict openai_ergo streaming tests benchmarks examples docs/_hooks
	@# Narrowing by tag, under mypy and pyright alike: the hand-written unions' tests, and a
	@# program that narrows every generated tagged union by each of its tags.
	@scratch=$$(mktemp -d) && \
	$(BIN)/python -m tests.openai_ergo.types.narrowing_program "$$scratch/generated_narrowing.py" && \
	$(BIN)/mypy --strict "$$scratch/generated_narrowing.py" && \
	$(BIN)/pyright --pythonpath $(BIN)/python tests/openai_ergo/types/test_narrowing.py \
	  tests/openai_ergo/types/test_generated_types.py "$$scratch/generated_narrowing.py" && \
	rm -rf "$$scratch"

check: lint typecheck test

# The typed tier, generated from the repository's copy of the spec (openai_ergo/codegen).
codegen: install
	$(BIN)/python -m openai_ergo.codegen openai_ergo/codegen/spec/openai-openapi.yaml .

# CI: regenerating must change nothing, and leave no file git does not know.
codegen-check: codegen
	@git diff --exit-code -- openai_ergo/types/_generated openai_ergo/_namespaces/_generated openai_ergo/mock/_generated docs/api-coverage.md || \
	  (echo "the generated code differs from what the generator makes: run make codegen"; exit 1)
	@untracked=$$(git ls-files --others --exclude-standard -- openai_ergo/types/_generated openai_ergo/_namespaces/_generated openai_ergo/mock/_generated docs); \
	if [ -n "$$untracked" ]; then echo "generated files not committed: $$untracked"; exit 1; fi

demo: install compile
	$(BIN)/python examples/demo.py

bench: install compile
	$(BIN)/python -m benchmarks
	$(BIN)/python -m benchmarks.third_party_sse
	$(BIN)/python -m benchmarks.realtime
	$(BIN)/python -m benchmarks.cache_hit
	$(BIN)/python -m benchmarks.observability

bench-quick: install compile
	$(BIN)/python -m benchmarks --quick
	$(BIN)/python -m benchmarks.third_party_sse --quick
	$(BIN)/python -m benchmarks.realtime --quick
	$(BIN)/python -m benchmarks.redis_admission --quick
	$(BIN)/python -m benchmarks.cache_hit --quick
	$(BIN)/python -m benchmarks.observability --quick

# The documentation site, into site/ (docs/documentation-site.md). --strict: a broken link or
# anchor, or a page missing from the nav, fails the build. Never add -q: a quiet build drops the
# warnings before --strict counts them. Material's end-of-life notice is said once, in that page.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf site $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
	rm -f streaming/_decoder*$(EXT_SUFFIX)
