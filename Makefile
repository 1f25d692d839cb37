# The two commands: `make demo` (export the shipped demo models, verify, bench, report) and
# `make test`. Each creates .venv and installs the pinned set when it is missing.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast venv clean

$(STAMP): requirements/ci.txt pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements/ci.txt
	$(BIN)/pip install --disable-pip-version-check -q --no-deps -e . --config-settings editable_mode=compat
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/mobilekit export --config examples/digits/mobilekit.toml
	$(BIN)/mobilekit verify dist/digits
	$(BIN)/mobilekit bench dist/digits --runs 50
	$(BIN)/mobilekit bench harness dist/digits
	$(BIN)/mobilekit report dist/digits
	$(BIN)/mobilekit export --config examples/translation/mobilekit.toml
	$(BIN)/mobilekit verify dist/translator

test: $(STAMP)
	$(BIN)/python -m pytest -q --durations=15

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

clean:
	rm -rf dist .pytest_cache
