"""Are java (17+), mvn and go there? Checked before anything is downloaded or started."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from helpt_localstack.errors import MissingToolError


def java_executable() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def java_major_version(java: str) -> int | None:
    try:
        out = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    # Java 8 and older report "1.8.0_…".
    return int(match.group(2) or 0) if major == 1 else major


def check_tools(needed: Iterable[str] = ("java", "mvn", "go")) -> dict[str, str]:
    """Paths of the needed tools; raises MissingToolError naming every one that is missing."""
    found: dict[str, str] = {}
    missing: list[str] = []
    for tool in needed:
        path = java_executable() if tool == "java" else shutil.which(tool)
        if path is None:
            missing.append("java (17 or newer)" if tool == "java" else tool)
            continue
        if tool == "java":
            major = java_major_version(path)
            if major is None or major < 17:
                missing.append(
                    f"java 17 or newer (found {major or 'an unknown version'} at {path})"
                )
                continue
        found[tool] = path
    if missing:
        raise MissingToolError(missing)
    return found
