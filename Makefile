# Everything starts here. `make chat` and `make test` are the two commands a fresh machine needs.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PYTHON ?= python3
TEST_POSTGRES_URL ?= postgresql://root@127.0.0.1:5432/test

.PHONY: help install lock lint run up down status token session chat test test-sqlite test-postgres bench nlu-report soak orders audit contracts-check new-agent clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

install: $(VENV)/.installed  ## virtual environment: this project installed in place, every package pinned by constraints.txt

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test,dev]'
	touch $@

lock: install  ## rewrite constraints.txt from what is installed (after changing a pin in pyproject.toml)
	$(PY) -m pip freeze --all --exclude-editable --disable-pip-version-check | grep -v -e '^-e ' -e '^pip==' > constraints.txt

lint: install  ## ruff (lint and format) and mypy, as CI runs them
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy agentkit sales-agent/sales_agent

run: install  ## every agent and the chat API under gunicorn, logs prefixed by agent; Ctrl-C stops all
	$(BIN)/retail-run up

up: install  ## the same, left running in the background (logs in var/log/)
	$(BIN)/retail-run up --detach

down:  ## stop what `make up` or `make chat` started
	$(BIN)/retail-run down

status:  ## which services answer /health
	$(BIN)/retail-run status

chat: install  ## the terminal chat (starts the agents first if they are not running); USER_ID=U1002 to pick a shopper
	$(BIN)/retail-chat $(if $(USER_ID),--user $(USER_ID))

test: install contracts-check lint  ## contract compatibility, lint and types, then the whole suite on SQLite and again on PostgreSQL (what CI runs)
	$(PY) -m pytest
	@if $(PY) -c "import psycopg,sys; psycopg.connect('$(TEST_POSTGRES_URL)', connect_timeout=3).close()" 2>/dev/null; then \
	  echo "== the suite again with every agent on PostgreSQL =="; \
	  TEST_DATABASE=postgres TEST_POSTGRES_URL=$(TEST_POSTGRES_URL) $(PY) -m pytest; \
	elif [ -n "$$CI" ]; then echo "PostgreSQL at $(TEST_POSTGRES_URL) is required in CI" >&2; exit 1; \
	else echo "PostgreSQL not reachable at $(TEST_POSTGRES_URL): skipped the PostgreSQL pass"; fi

test-sqlite: install  ## the suite on SQLite only
	$(PY) -m pytest

test-postgres: install  ## the suite with every agent on PostgreSQL only
	TEST_DATABASE=postgres TEST_POSTGRES_URL=$(TEST_POSTGRES_URL) $(PY) -m pytest

bench: install  ## throughput ratios, checkout cost before/after the owner checks, web chat stream timings, memory per turn, on loopback (not part of the tests)
	$(PY) -m benchmarks.agents
	$(PY) -m benchmarks.checkout
	$(PY) -m benchmarks.stream
	$(PY) sales-agent/bench_memory.py

nlu-report: install  ## per-intent accuracy of the offline model on the labelled dev and held-out phrasings (ERRORS=1 lists misses)
	$(PY) -m sales_agent.offline.report $(if $(ERRORS),--errors)

soak: install  ## the checkout fault run at full size (2000 checkouts; CI runs a smaller one)
	CHECKOUT_FAULT_RUNS=2000 $(PY) -m pytest -q -s tests/test_checkout_faults.py

token: install  ## print a bearer token for one caller: make -s token ROLE=operator (sales, operator or an agent name)
	@$(BIN)/retail-token $(ROLE)

session: install  ## print a chat session token for an existing shopper: make -s session USER_ID=U1002
	@$(PY) -m sales_agent token $(USER_ID)

orders: install  ## run a batch of orders: make orders FILE=orders.json
	$(BIN)/retail-orders process $(FILE)

audit: install  ## cross-check every agent's records through their APIs as the operator; prints each finding, exits 1 if any (GRACE=seconds skips younger charges)
	$(PY) -m agentkit.audit $(if $(GRACE),--grace $(GRACE))

contracts-check: install  ## fail on a breaking change against contracts/released/ (a major version bump acknowledges one)
	$(BIN)/retail-contracts-check

new-agent: install  ## scaffold a new agent: make new-agent NAME=gift-cards PORT=5008
	$(BIN)/retail-new-agent $(NAME) $(PORT)
	@# the scaffold added the agent's package to pyproject.toml: install it in place now, not on the next target
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(VENV)/.installed

clean:  ## remove local databases and logs
	rm -rf var/
