# civicgrid — the two commands: `make run` (demo city on http://127.0.0.1:8000) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-sqlite test-postgresql test-e2e bench chromium services migrate clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e ".[test]"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

## Run the product: install, migrate, build the demo city (once), serve on $(HOST):$(PORT).
run: $(STAMP)
	$(VENV)/bin/civicgrid db upgrade
	$(VENV)/bin/civicgrid demo --scale small
	$(VENV)/bin/civicgrid serve --host $(HOST) --port $(PORT)

## Run the whole suite on SQLite and on PostgreSQL (browser tests included).
test: $(STAMP) chromium services
	$(PY) -m pytest
	CIVICGRID_TEST_DB=postgresql $(PY) -m pytest

test-sqlite: $(STAMP) chromium
	$(PY) -m pytest

test-postgresql: $(STAMP) services
	CIVICGRID_TEST_DB=postgresql $(PY) -m pytest

## Only the slow real-browser tests.
test-e2e: $(STAMP) chromium
	$(PY) -m pytest -m e2e

bench: $(STAMP) services
	$(PY) bench/bench_point_to_grid.py
	$(PY) bench/bench_intake.py
	$(PY) bench/bench_intake_group.py
	$(PY) bench/bench_case_list.py

## Debian's chromium for the browser tests (a test tool's own browser download does not work offline).
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

## PostgreSQL on 127.0.0.1:5432 (started if it is installed but not running).
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || { \
	  if [ -d /etc/postgresql ]; then $(SUDO) pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; \
	  else $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql >/dev/null && \
	       $(SUDO) pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; fi; \
	  for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; }

migrate: $(STAMP)
	$(VENV)/bin/civicgrid db upgrade

clean:
	rm -rf $(VENV) var test-artifacts
