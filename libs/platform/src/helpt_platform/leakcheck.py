"""A pytest plugin that reads every line the services wrote during the suite and fails the run if one holds
a test person's personal data.

The tests' people are recognisable: e-mail addresses at example.org, Belgian phone numbers, names
with "Canary" in them. The services run in the test process (threads) or as its children, so
everything they log passes through pytest's capture (stdout, stderr, logging) and lands in each
test report's sections, passed tests included. Each section is scanned; a finding names the test
and the kind of data, never the value itself. The test's own assertion messages are not sections
and are not scanned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

__all__ = ["PATTERNS", "findings_in"]

PATTERNS: dict[str, re.Pattern[str]] = {
    "e-mail address": re.compile(r"[\w.+-]+@example\.org", re.IGNORECASE),
    "phone number": re.compile(r"(?<![\w-])(?:\+32|0)\s?4\d{2}(?:[ .]?\d{2}){3}(?![\w-])|(?<![\w-])\+32\s?16(?:\s?\d{2}){3}(?![\w-])"),
    "name": re.compile(r"\bCanary [A-Z][a-z]+|\bMevrouw [A-Z][a-z]+|\b(?:Victor Volunteer|Marie Peeters|Jan Peeters)\b"),
}


@dataclass(frozen=True)
class Finding:
    test: str
    section: str
    kind: str
    line_start: str

    def __str__(self) -> str:
        return f"{self.test} [{self.section}]: {self.kind} in a line starting {self.line_start!r}"


def findings_in(text: str) -> list[tuple[str, str]]:
    """(kind, the first 40 characters of the line before the match) for each match."""
    found = []
    for line in text.splitlines():
        for kind, pattern in PATTERNS.items():
            match = pattern.search(line)
            if match:
                found.append((kind, line[: min(match.start(), 40)]))
    return found


class LeakCheck:
    def __init__(self) -> None:
        self.findings: list[Finding] = []

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for title, content in report.sections:
            for kind, start in findings_in(content):
                self.findings.append(Finding(report.nodeid, title, kind, start))

    def pytest_terminal_summary(self, terminalreporter) -> None:  # noqa: ANN001 - pytest's TerminalReporter
        if self.findings:
            terminalreporter.section("personal data in service output", red=True)
            for finding in dict.fromkeys(self.findings):
                terminalreporter.line(str(finding))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.findings and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(LeakCheck(), "helpt-leakcheck")
