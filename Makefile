# The two commands a newcomer needs: `make run` and `make test` (README.md).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
TEST_ENV := DJANGO_SETTINGS_MODULE=waitingroom.test_settings

.PHONY: run test install chromium node lint typecheck bench services-run services-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Reinstall whenever pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(STAMP)

# Browser journeys drive Debian's Chromium; never `playwright install` (no internet here).
chromium:
	@test -x /usr/bin/chromium || { echo "Installing Debian's chromium for the browser tests..."; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }
	@test -x /usr/bin/chromium || { echo "chromium is still missing at /usr/bin/chromium"; exit 1; }

# ESLint for static/ and axe-core for the browser tests' accessibility sweep: installed like Chromium,
# Debian's node and npm when they are missing, then
# the pinned packages of package-lock.json (again whenever either is missing).
node:
	@command -v node >/dev/null && command -v npm >/dev/null || { echo "Installing Debian's nodejs and npm for ESLint..."; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm >/dev/null; }
	@test -x node_modules/.bin/eslint -a -f node_modules/axe-core/axe.min.js || npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error

services-run: install
	@$(BIN)/python manage.py check_services --redis --database --create

services-test: install
	@$(TEST_ENV) $(BIN)/python manage.py check_services --redis --database

lint: install node
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	npx eslint static/

# The packages to check and the plugin's settings module are in pyproject.toml ([tool.mypy]).
typecheck: install
	$(BIN)/mypy

test: install chromium services-test lint typecheck
	$(TEST_ENV) $(BIN)/pytest

run: install services-run
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@mkdir -p .run
	@echo
	@echo "  Waiting room:   http://127.0.0.1:8000/"
	@echo "  Staff sign-in:  http://127.0.0.1:8000/accounts/login/   (provider, csr, scheduler, clinicadmin)"
	@echo "  Django admin:   http://127.0.0.1:8000/admin/            (admin, clinicadmin, scheduler)"
	@echo "  Patient link:   http://127.0.0.1:8000/c/demo/"
	@echo "  Every demo password: demo-pass-123"
	@echo
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/honcho start -f Procfile

bench: install services-test
	$(TEST_ENV) $(BIN)/python -m bench $(ARGS)
