# Helpt — the two commands a newcomer needs are `make run` and `make test`.
# Everything else they need (uv, the Python packages, Kafka's jars, FerretDB) is installed on first use.

SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
TOOLS      := .tools
UV         := $(TOOLS)/uv-$(UV_VERSION)/bin/uv
PYTHON     ?= python3
# uv must never try to download a Python build: use the machine's (3.11+).
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)

.PHONY: help run test faults install chromium contracts messages token audit-verify deadletters down clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Helpt needs Python 3.11 or later as '$(PYTHON)' (set PYTHON=...)." >&2; exit 1; }
	@echo "installing uv $(UV_VERSION) into $(TOOLS)/ ..."
	@$(PYTHON) -m venv $(TOOLS)/uv-$(UV_VERSION)
	@$(TOOLS)/uv-$(UV_VERSION)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

install: $(UV) chromium  ## install the Python workspace (locked), the local Kafka and FerretDB, and Chromium
	@$(UV) sync --locked --quiet
	@$(UV) run --locked python -m helpt_localstack install

# Debian's Chromium for the accessibility tests (axe-core in a real browser). Playwright's own
# browser download is never used: it cannot work on a machine that reaches only package registries.
chromium:
	@if command -v chromium >/dev/null 2>&1 || [ -n "$$HELPT_CHROMIUM" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; \
	else echo "Chromium is missing and cannot be installed without root: apt-get install chromium (or set HELPT_CHROMIUM)." >&2; exit 1; fi; \
	echo "installing Debian's chromium for the browser tests ..."; \
	$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium >/dev/null \
	|| { echo "Could not install chromium with apt-get; install it, or set HELPT_CHROMIUM to a Chromium binary." >&2; exit 1; }

run: install  ## start Kafka, the store and the four services on 127.0.0.1; Ctrl-C stops them all
	@$(UV) run --locked python -m helpt_localstack run

test: install  ## run the whole suite against real Kafka and a real MongoDB-wire server
	@$(UV) run --locked pytest $(PYTEST_ARGS)

FAULT_EVENTS ?= 2000
faults: install  ## kill -9 each service, stop Kafka, stop the store, mid-stream: nothing lost, nothing twice
	@HELPT_FAULT_EVENTS=$(FAULT_EVENTS) $(UV) run --locked pytest -m faults -s -p no:cacheprovider tests/test_faults.py $(PYTEST_ARGS)

contracts: $(UV)  ## regenerate contracts/schemas and contracts/asyncapi.json after changing an event
	@$(UV) run --locked python -m helpt_contracts.schemagen

messages: $(UV)  ## refresh the page catalogues after changing a text; NEW=de starts a new language
	@$(UV) run --locked python -m helpt_intake.messages $(if $(NEW),--new $(NEW))
	@$(UV) run --locked python -m helpt_screening.i18n
	@$(UV) run --locked python -m helpt_matching.i18n

ROLE   ?= operator
TENANT ?= leuven
token: $(UV)  ## print a local bearer token: make token ROLE=screener [TENANT=leuven] [ORG=…] [SUB=…]
	@HELPT_JWT_SECRET_FILE="$${HELPT_JWT_SECRET_FILE:-$${HELPT_STATE_DIR:-.state/local}/jwt.secret}" \
	  $(UV) run --locked python -m helpt_platform.token --role $(ROLE) --tenant $(TENANT) $(if $(ORG),--org $(ORG)) $(if $(SUB),--sub $(SUB))

audit-verify: $(UV)  ## verify a tenant's audit chain: make audit-verify TENANT=leuven (exit 1 names the first broken record)
	@$(UV) run --locked python -m helpt_gdpr.verify_audit --tenant $(TENANT)

ARGS ?= list
deadletters: $(UV)  ## dead letters: make deadletters [ARGS="list | show TOPIC.dlt OFFSET | replay TOPIC.dlt OFFSET|--all"]
	@$(UV) run --locked python -m helpt_platform.dlt $(ARGS)

down: $(UV)  ## stop a local stack left running (e.g. after a crash)
	@$(UV) run --locked python -m helpt_localstack down

clean: down  ## remove local state (data, logs) and the tools; downloads in the cache stay
	rm -rf .state $(TOOLS) .venv
