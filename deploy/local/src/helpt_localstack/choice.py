"""Which Kafka and MongoDB to use: servers named in the environment, Docker, or local processes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

__all__ = ["docker_answers", "external_servers", "redact_url"]


def external_servers() -> tuple[str, str] | None:
    """(bootstrap servers, MongoDB URL) when both are set in the environment, else None."""
    servers, url = os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), os.environ.get("MONGODB_URL")
    return (servers, url) if servers and url else None


def docker_answers() -> bool:
    """True when a Docker engine answers (the client alone is not enough)."""
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        result = subprocess.run([docker, "info"], capture_output=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def redact_url(url: str) -> str:
    """The URL without its password, fit for a terminal or a log."""
    return re.sub(r"//([^:/@]+):[^@/]*@", r"//\1:***@", url)
