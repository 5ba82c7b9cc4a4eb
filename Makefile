# `make run` and `make test` work on a fresh machine with nothing but Python 3.11+.
# `make run` installs only what serving needs; `make test` (and lint, bench) add the
# dev extras. Each install has its own stamp: `make run` after `make test` installs
# nothing, and `make test` after `make run` adds only the extras.
PYTHON ?= python3
PORT ?= 5000
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
MO := $(patsubst %.po,%.mo,$(wildcard translations/*/LC_MESSAGES/messages.po))
export FLASK_APP := wsgi

.PHONY: run test install install-dev translations messages lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# What serving needs.
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# Tests, lint and benchmarks; this also installs everything serving needs.
$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(RUN_STAMP) $@

install: $(RUN_STAMP)

install-dev: $(DEV_STAMP)

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po | $(RUN_STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d translations -l $* >/dev/null

translations: $(MO)

# Extract new strings and merge them into the pl/cs/uk catalogues.
messages: $(RUN_STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -c TRANSLATORS: -o translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete

# PORT=5001 make run serves elsewhere; the printed links follow unless PUBLIC_URL is set.
run: export PUBLIC_URL ?= http://127.0.0.1:$(PORT)
run: install translations
	$(BIN)/flask db upgrade
	$(BIN)/flask demo
	@echo "Serving on http://127.0.0.1:$(PORT)  (Ctrl+C stops)"
	SCHEDULER_IN_PROCESS=true $(BIN)/flask run --host 127.0.0.1 --port $(PORT)

test: install-dev translations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: install-dev translations
	$(BIN)/python bench/availability.py

clean:
	rm -rf $(VENV) instance .pytest_cache
