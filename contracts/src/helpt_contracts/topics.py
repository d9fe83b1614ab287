"""Topic names. One aggregate a topic, keyed by its id; the version is part of the name."""

from __future__ import annotations

import re

__all__ = [
    "DEAD_LETTER_SUFFIX",
    "GDPR_COMMANDS",
    "GDPR_RECEIPTS",
    "HELP_REQUESTS",
    "MAIL",
    "MATCHES",
    "SCREENING_DECISIONS",
    "VOLUNTEERS",
    "dead_letter_topic",
    "partner_topic",
]

HELP_REQUESTS = "intake.help-requests.v1"
VOLUNTEERS = "intake.volunteers.v1"
MAIL = "intake.mail.v1"
SCREENING_DECISIONS = "screening.decisions.v1"
MATCHES = "matching.matches.v1"
GDPR_COMMANDS = "gdpr.commands.v1"
GDPR_RECEIPTS = "gdpr.receipts.v1"
PARTNER_TOPIC_TEMPLATE = "matching.partner.{org}.v1"
DEAD_LETTER_SUFFIX = ".dlt"

_ORG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def partner_topic(org: str) -> str:
    """The topic on which one partner organisation receives the events of its own matches."""
    if not _ORG.match(org):
        raise ValueError(f"not a valid organisation id for a topic name: {org!r}")
    return PARTNER_TOPIC_TEMPLATE.format(org=org)


def dead_letter_topic(topic: str) -> str:
    """Where a message of `topic` goes when it failed after its retries."""
    return topic + DEAD_LETTER_SUFFIX
