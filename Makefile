# MBFlow — `make run` serves the designer on :8181 (embedded: SQLite, in-process dispatcher);
# `make test` runs lint, the backend suite, the frontend unit tests and the browser tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8181
SERVER ?= uvicorn

.PHONY: run test lint install codegen frontend migrate demo browser test-backend test-frontend test-e2e bench clean worker

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

# json-schema-to-typescript and tsc for `mbflow generate client --language typescript` (and its tests).
mbflow/codegen/node/node_modules/.installed: mbflow/codegen/node/package.json mbflow/codegen/node/package-lock.json
	cd mbflow/codegen/node && npm ci --no-audit --no-fund
	touch $@

codegen: mbflow/codegen/node/node_modules/.installed

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $@

frontend/dist/index.html: frontend/node_modules/.installed $(shell find frontend/src frontend/index.html frontend/vite.config.ts -type f 2>/dev/null)
	cd frontend && npm run build

frontend: frontend/dist/index.html

migrate: install
	$(BIN)/python manage.py migrate --no-input

demo: migrate
	$(BIN)/python manage.py mbflow_demo

run: install frontend demo
	@echo "MBFlow designer: http://localhost:$(PORT)  (sign in as admin)"
ifeq ($(SERVER),daphne)
	$(BIN)/daphne -b 0.0.0.0 -p $(PORT) mbflow_site.asgi:application
else
	$(BIN)/uvicorn mbflow_site.asgi:application --host 0.0.0.0 --port $(PORT) --log-level warning
endif

worker: install
	$(BIN)/celery -A mbflow_site worker --pool threads --concurrency 16 --loglevel=info

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Debian's chromium drives the browser tests; never a downloaded browser.
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; fi; }

test-backend: install codegen
	$(BIN)/pytest -q -m "not e2e" -p no:randomly

test-frontend: frontend/node_modules/.installed
	cd frontend && npm test

test-e2e: install frontend browser
	$(BIN)/pytest -q -m e2e tests/e2e

test: lint test-backend test-frontend test-e2e

bench: install
	$(BIN)/python bench/validate.py

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist staticfiles mbflow.sqlite3
