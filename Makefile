# School Partners — the two set-up commands for a fresh machine are `make run` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/schoolpartners
# DEBUG stays off (production-safe by default; `DEBUG=1 make run` is an explicit developer choice). Without
# SECRET_KEY the app generates one once into .secret_key (git-ignored, mode 600) and every command reads it
# (schoolpartners/secretkey.py); production sets its own (docs/deploy.md). Tests get a random key.

.PHONY: run test test-sqlite test-postgres lint bench assets data bundle serve clean

$(BIN)/schoolpartners: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

venv: $(BIN)/schoolpartners

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

assets: venv node_modules/.installed
	$(BIN)/python scripts/build_assets.py
	$(BIN)/schoolpartners collectstatic --noinput -v 0

# Create/upgrade the SQLite database and load the bundled national data (files already loaded are skipped).
data: venv
	$(BIN)/schoolpartners migrate --noinput -v 0
	$(BIN)/schoolpartners import --all --source bundle
	$(BIN)/schoolpartners similarity recompute
	$(BIN)/schoolpartners similarity recompute --preset intake-2025 --no-current
	$(BIN)/schoolpartners partnerships recompute
	$(BIN)/schoolpartners evaluation run
	$(BIN)/schoolpartners brokerage derive

run: assets data
	$(BIN)/schoolpartners serve --port $(PORT)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

test-sqlite: assets
	$(BIN)/pytest -p no:cacheprovider -q

test-postgres: assets
	DATABASE_URL=$(PG_URL) $(BIN)/pytest -p no:cacheprovider -q

# The whole suite: lint, type and layer (import-linter) checks, then every test against SQLite and against PostgreSQL.
test: lint test-sqlite test-postgres

bench: assets data
	$(BIN)/python bench/run_all.py
	$(BIN)/python scripts/bench_figures.py

# Rebuild the compact national data bundle (data/bundle) from ../shared/data.
bundle: venv
	$(BIN)/python scripts/build_bundle.py

clean:
	rm -rf $(VENV) node_modules staticfiles schoolpartners/static/vendor db.sqlite3*
