# syntax=docker/dockerfile:1
# Helpt gdpr: holds every key; seal, scoped reveal, audit, erasure, purge.
# Build from the repository root (the context must hold the workspace and uv.lock):
#   docker build -f deploy/docker/gdpr.Dockerfile -t helpt-gdpr .
# deploy/docker/*.Dockerfile differ only in the service's name and port (and gdpr's key directory); a test checks that.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: uv installs helpt-gdpr and exactly its locked dependencies into /app/.venv -----
FROM ${PYTHON_IMAGE} AS builder
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# Every workspace member's pyproject.toml: uv checks the whole workspace against uv.lock.
COPY pyproject.toml uv.lock ./
COPY contracts/pyproject.toml contracts/
COPY libs/platform/pyproject.toml libs/platform/
COPY deploy/local/pyproject.toml deploy/local/
COPY services/intake/pyproject.toml services/intake/
COPY services/screening/pyproject.toml services/screening/
COPY services/matching/pyproject.toml services/matching/
COPY services/gdpr/pyproject.toml services/gdpr/
# Third-party dependencies first (a layer that changes only with uv.lock); --locked fails the
# build if uv.lock does not match the pyproject files instead of resolving anew.
RUN uv sync --locked --no-dev --no-install-workspace --package helpt-gdpr
# Then the code this service runs: contracts, the shared platform and the service itself.
COPY contracts/src contracts/src
COPY libs/platform/src libs/platform/src
COPY services/gdpr/src services/gdpr/src
# --no-editable: the workspace packages go into the venv as wheels, so the venv alone is the app.
RUN uv sync --locked --no-dev --no-editable --package helpt-gdpr

# --- runtime: the slim Python image, the venv, a user without privileges; no uv, no compilers ---
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 helpt \
 && useradd --system --uid 10001 --gid helpt --home-dir /app --no-create-home --shell /usr/sbin/nologin helpt \
 && mkdir -p /var/lib/helpt/gdpr-keys && chown 10001:10001 /var/lib/helpt/gdpr-keys && chmod 0700 /var/lib/helpt/gdpr-keys
COPY --from=builder /app/.venv /app/.venv
WORKDIR /app
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HELPT_GDPR_HTTP_HOST=0.0.0.0 \
    HELPT_GDPR_HTTP_PORT=8003 \
    HELPT_GDPR_KEY_DIR=/var/lib/helpt/gdpr-keys
# The tenant keys: gdpr writes and destroys them here. Mount a volume (a fresh named volume takes
# this directory's owner); in production a KMS takes their place (deploy/README.md).
VOLUME ["/var/lib/helpt/gdpr-keys"]
EXPOSE 8003
# Numeric, so Kubernetes' runAsNonRoot can check it.
USER 10001:10001
# Liveness only (/healthz: the process answers); readiness (/readyz: Kafka and the store) is the
# orchestrator's probe, so a broker outage does not get healthy containers restarted.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['HELPT_GDPR_HTTP_PORT'], timeout=4)"]
CMD ["python", "-m", "helpt_gdpr"]
