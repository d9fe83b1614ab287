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

.PHONY: bench bench-smoke help run test faults install chromium postgresql contracts messages token audit-verify deadletters rebuild-matching down clean validate-deploy compose-config docker-dry-build

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Helpt needs Python 3.11 or later as '$(PYTHON)' (set PYTHON=...)." >&2; exit 1; }
	@echo "installing uv $(UV_VERSION) into $(TOOLS)/ ..."
	@$(PYTHON) -m venv $(TOOLS)/uv-$(UV_VERSION)
	@$(TOOLS)/uv-$(UV_VERSION)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

install: $(UV) chromium postgresql  ## install the Python workspace (locked), the local Kafka, FerretDB and PostgreSQL, and Chromium
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

# Debian's PostgreSQL: the local store's FerretDB keeps its documents there (docs/adr/0017). The stack
# starts its own server on a port of its own; the system's service, if any, is left alone.
postgresql:
	@if ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || command -v postgres >/dev/null 2>&1 || [ -n "$$HELPT_POSTGRES_BIN" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; \
	else echo "PostgreSQL is missing and cannot be installed without root: apt-get install postgresql (or set HELPT_POSTGRES_BIN)." >&2; exit 1; fi; \
	echo "installing Debian's postgresql for the local store ..."; \
	$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq postgresql >/dev/null \
	|| { echo "Could not install postgresql with apt-get; install it, or set HELPT_POSTGRES_BIN to its bin directory." >&2; exit 1; }

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

DLT ?= list
deadletters: $(UV)  ## dead letters: make deadletters [DLT="list | show TOPIC.dlt OFFSET | replay TOPIC.dlt OFFSET|--all"]
	@$(UV) run --locked python -m helpt_platform.dlt $(DLT)

rebuild-matching: $(UV)  ## refold matching's projections and statistics from the topics (stop matching first; see README)
	@$(UV) run --locked python -m helpt_matching.rebuild

down: $(UV)  ## stop a local stack left running (e.g. after a crash)
	@$(UV) run --locked python -m helpt_localstack down

clean: down  ## remove local state (data, logs) and the tools; downloads in the cache stay
	rm -rf .state $(TOOLS) .venv

# --- deployment files (deploy/docker, deploy/compose, deploy/k8s) ----------------------------------
# The static checks of the Dockerfiles and the Compose file are in tests/test_deployment_files.py
# (part of `make test`). These targets do what needs more tools than Python.
KUBECONFORM_VERSION := v0.8.0
KUSTOMIZE_VERSION   := v5.8.1
K8S_VERSION         := 1.33.0
KUBERNETES_VALIDATE_VERSION := 1.37.0
GOTOOLS     := $(abspath $(TOOLS))/go
KUBECONFORM := $(GOTOOLS)/kubeconform-$(KUBECONFORM_VERSION)/kubeconform
KUSTOMIZE   := $(GOTOOLS)/kustomize-$(KUSTOMIZE_VERSION)/kustomize
K8S_SCHEMAS := $(TOOLS)/k8s-schemas-$(KUBERNETES_VALIDATE_VERSION)
RENDERED    := $(TOOLS)/rendered

$(KUBECONFORM):
	@command -v go >/dev/null || { echo "validate-deploy needs Go (apt-get install golang)" >&2; exit 1; }
	@echo "installing kubeconform $(KUBECONFORM_VERSION) into $(dir $@) ..."
	@GOTOOLCHAIN=local GOBIN=$(dir $@) go install github.com/yannh/kubeconform/cmd/kubeconform@$(KUBECONFORM_VERSION)

$(KUSTOMIZE):
	@command -v go >/dev/null || { echo "validate-deploy needs Go (apt-get install golang)" >&2; exit 1; }
	@echo "installing kustomize $(KUSTOMIZE_VERSION) into $(dir $@) ..."
	@GOTOOLCHAIN=local GOBIN=$(dir $@) go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)

# kubeconform downloads schemas from GitHub by default, which is not reachable here: the schemas
# come from PyPI's kubernetes-validate instead, made readable from disk (deploy/k8s/vendor_schemas.py).
$(K8S_SCHEMAS)/.done-$(K8S_VERSION):
	@echo "fetching the Kubernetes $(K8S_VERSION) schemas (kubernetes-validate $(KUBERNETES_VALIDATE_VERSION), PyPI) ..."
	@$(PYTHON) -m venv $(K8S_SCHEMAS)/venv
	@$(K8S_SCHEMAS)/venv/bin/pip install --quiet --disable-pip-version-check kubernetes-validate==$(KUBERNETES_VALIDATE_VERSION)
	@$(K8S_SCHEMAS)/venv/bin/python deploy/k8s/vendor_schemas.py --version $(K8S_VERSION) --out $(K8S_SCHEMAS)
	@touch $@

validate-deploy: $(KUBECONFORM) $(KUSTOMIZE) $(K8S_SCHEMAS)/.done-$(K8S_VERSION)  ## render deploy/k8s with kustomize and validate it with kubeconform (offline schemas)
	@mkdir -p $(RENDERED)
	@$(KUSTOMIZE) build deploy/k8s/base > $(RENDERED)/base.yaml
	@$(KUSTOMIZE) build deploy/k8s/overlays/production > $(RENDERED)/production.yaml
	@$(KUBECONFORM) -strict -summary -kubernetes-version $(K8S_VERSION) \
	  -schema-location '$(K8S_SCHEMAS)/{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json' \
	  $(RENDERED)/base.yaml $(RENDERED)/production.yaml

compose-config:  ## check deploy/compose/compose.yaml with `docker compose config`, where the Compose CLI exists
	@if docker compose version >/dev/null 2>&1; then compose="docker compose"; \
	elif command -v docker-compose >/dev/null 2>&1; then compose=docker-compose; \
	else echo "compose CLI not available: docker compose config NOT run (the static checks in tests/test_deployment_files.py still apply)"; exit 0; fi; \
	[ -d deploy/compose/secrets ] || $(PYTHON) deploy/compose/make_secrets.py; \
	$$compose -f deploy/compose/compose.yaml config --quiet && echo "docker compose config: deploy/compose/compose.yaml is valid"

docker-dry-build: $(UV)  ## replay each Dockerfile's builder stage without Docker and start the service from the venv alone
	@for s in intake screening matching gdpr; do $(PYTHON) deploy/docker/dry_build.py $$s --uv $(UV) || exit 1; done

# --- benchmarks (bench/README.md) ---------------------------------------------------------------------
bench: install  ## run the benchmarks on their own local stack: make bench [ARGS="--quick --only 1,4"]; writes bench/results/latest.json
	@$(UV) run --locked python -m bench $(ARGS)

bench-smoke: $(UV)  ## the bench harness's own quick check (a well-formed results file; never asserts speed)
	@$(UV) run --locked pytest bench/tests -q
