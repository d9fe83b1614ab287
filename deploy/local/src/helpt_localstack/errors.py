"""Errors raised by the local stack; callers catch StackError for every failure."""

from __future__ import annotations

INSTALL_HINT = (
    "On Debian/Ubuntu: apt-get install openjdk-17-jre-headless maven golang; "
    "or set KAFKA_BOOTSTRAP_SERVERS and MONGODB_URL to use existing servers."
)


class StackError(RuntimeError):
    """The local Kafka/FerretDB stack could not be installed, started or stopped."""


class MissingToolError(StackError):
    """A tool needed to install or run the stack (java 17+, mvn, go) is not available."""

    def __init__(self, missing: list[str]) -> None:
        self.missing = list(missing)
        super().__init__(f"Missing tool(s): {', '.join(self.missing)}. {INSTALL_HINT}")
