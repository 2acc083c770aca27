# The two commands of CONTRACT.md: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# Tests always run on PostgreSQL (select_for_update, partial indexes, constraints).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/credit_desk
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
PYTEST_ARGS ?=
# Two test processes (the machine's two cores); the slow tests (browser, real worker, large
# data) form one group on one of them (tests/conftest.py). `PYTEST_XDIST= make test` runs serially.
PYTEST_XDIST ?= -n 2 --dist loadgroup

.PHONY: run test test-fast lint format messages bench install-run install-dev services clean

$(VENV)/.run-installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	touch $(VENV)/.run-installed $@

install-run: $(VENV)/.run-installed
install-dev: $(VENV)/.dev-installed

run: install-run
	@bash scripts/run.sh

services:
	@bash scripts/ensure_services.sh

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) manage.py makemigrations --check --dry-run

test: install-dev services lint
	DATABASE_URL=$(TEST_DATABASE_URL) TEST_REDIS_URL=$(TEST_REDIS_URL) \
		$(VENV)/bin/pytest $(PYTEST_XDIST) $(PYTEST_ARGS)

# The fast local subset: no browser, no real worker, no large data.
test-fast: install-dev services
	DATABASE_URL=$(TEST_DATABASE_URL) TEST_REDIS_URL=$(TEST_REDIS_URL) \
		$(VENV)/bin/pytest $(PYTEST_XDIST) -m "not slow" $(PYTEST_ARGS)

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

messages: install-dev
	$(PY) manage.py makemessages -l zh_Hans -l en --no-obsolete --ignore=.venv --ignore=var --ignore=tests --ignore=bench
	$(PY) manage.py compilemessages --ignore=.venv

bench: install-dev services
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m bench

clean:
	rm -rf var db.sqlite3 staticfiles
