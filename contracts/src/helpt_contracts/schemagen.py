"""Generate the checked-in JSON Schemas and the AsyncAPI 3 document from the models.

    python -m helpt_contracts.schemagen           # write contracts/schemas/v1/*.json, contracts/asyncapi.json
    python -m helpt_contracts.schemagen --check   # exit 1 if what is checked in differs

Writing refuses a change that would break consumers of the committed schema of the same version
(see `compat`): such a change needs a new event version, not an edit.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic.json_schema import models_json_schema

from helpt_contracts import topics
from helpt_contracts.compat import breaking_changes
from helpt_contracts.envelope import HEADER_NAMES
from helpt_contracts.events import Event, event_classes

__all__ = ["CONTRACTS_DIR", "asyncapi_document", "event_schema", "generated_files", "main"]

CONTRACTS_DIR = Path(__file__).resolve().parents[2]
SCHEMA_ID_BASE = "https://helpt.be/schemas"

# Who produces and who consumes each topic (shared/DESIGN.md, "Events (v1)").
_FLOWS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    topics.HELP_REQUESTS: (("intake",), ("matching",)),
    topics.VOLUNTEERS: (("intake",), ("screening", "matching")),
    topics.MAIL: (("intake",), ("gdpr",)),
    topics.SCREENING_DECISIONS: (("screening",), ("matching",)),
    topics.MATCHES: (("matching",), ("intake",)),
    topics.PARTNER_TOPIC_TEMPLATE: (("matching",), ("partner",)),
    topics.GDPR_COMMANDS: (("gdpr",), ("intake", "screening", "matching")),
    topics.GDPR_RECEIPTS: (("intake", "screening", "matching"), ("gdpr",)),
}


def event_schema(model: type[Event]) -> dict[str, Any]:
    """The self-contained JSON Schema (2020-12) of one event."""
    schema = model.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_ID_BASE}/v{model.VERSION}/{model.__name__}.json",
        "x-helpt-type": model.event_type(),
        "x-helpt-topic": model.TOPIC,
        "x-helpt-key": model.KEY_FIELD,
        **schema,
    }


def _channel_id(address: str) -> str:
    return address.replace(".{org}", "-partner").replace(".", "-")


def _headers_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": list(HEADER_NAMES),
        "properties": {
            "ce_id": {"type": "string", "format": "uuid", "description": "Event id; consumers deduplicate on it."},
            "ce_type": {"type": "string", "description": "Event type, e.g. be.helpt.HelpRequested.v1."},
            "ce_source": {"type": "string", "description": "Producing service, e.g. /helpt/intake."},
            "ce_time": {"type": "string", "format": "date-time", "description": "When it happened (UTC)."},
            "ce_subject": {"type": "string", "description": "Aggregate id, the same as the Kafka key."},
            "ce_specversion": {"const": "1.0", "description": "CloudEvents spec version."},
            "tenant": {"type": "string", "description": "The municipality the event belongs to."},
            "correlation_id": {"type": "string", "description": "Ties together the events of one user action."},
        },
    }


def asyncapi_document() -> dict[str, Any]:
    """One AsyncAPI 3.0 document for the whole system."""
    models = event_classes()
    _, defs = models_json_schema([(m, "validation") for m in models], ref_template="#/components/schemas/{model}")
    by_topic: dict[str, list[type[Event]]] = {}
    for model in models:
        by_topic.setdefault(model.TOPIC, []).append(model)
    by_topic[topics.PARTNER_TOPIC_TEMPLATE] = list(by_topic[topics.MATCHES])

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for address, (producers, consumers) in _FLOWS.items():
        cid = _channel_id(address)
        channel: dict[str, Any] = {
            "address": address,
            "messages": {m.__name__: {"$ref": f"#/components/messages/{m.__name__}"} for m in by_topic[address]},
        }
        if "{org}" in address:
            channel["parameters"] = {"org": {"description": "The partner organisation's id."}}
            channel["description"] = "One topic per partner organisation: only its own matches, no plaintext personal data."
        channels[cid] = channel
        for action, services in (("send", producers), ("receive", consumers)):
            for service in services:
                operations[f"{service}-{action}-{cid}"] = {
                    "action": action,
                    "channel": {"$ref": f"#/channels/{cid}"},
                    "summary": f"{service} {'publishes to' if action == 'send' else 'consumes'} {address}",
                    "messages": [{"$ref": f"#/channels/{cid}/messages/{m.__name__}"} for m in by_topic[address]],
                }

    messages = {
        m.__name__: {
            "name": m.event_type(),
            "title": m.__name__,
            "summary": (m.__doc__ or "").strip().splitlines()[0],
            "contentType": "application/json",
            "headers": {"$ref": "#/components/schemas/EnvelopeHeaders"},
            "payload": {"$ref": f"#/components/schemas/{m.__name__}"},
            "bindings": {"kafka": {"key": {"type": "string", "description": f"The event's {m.KEY_FIELD}."}}},
        }
        for m in models
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Helpt events",
            "version": "1.0.0",
            "description": "The events Helpt's services exchange over Kafka. Personal data appears only as SealedField.",
        },
        "defaultContentType": "application/json",
        "servers": {"local": {"host": "127.0.0.1:9092", "protocol": "kafka", "description": "make run"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": {"EnvelopeHeaders": _headers_schema(), **defs["$defs"]}},
    }


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def generated_files(root: Path = CONTRACTS_DIR) -> dict[Path, str]:
    """Every generated file, path → exact text."""
    files = {root / "schemas" / f"v{m.VERSION}" / f"{m.__name__}.json": _dump(event_schema(m)) for m in event_classes()}
    files[root / "asyncapi.json"] = _dump(asyncapi_document())
    return files


def _incompatible(root: Path) -> list[str]:
    problems = []
    for path, text in generated_files(root).items():
        if path.parent.name.startswith("v") and path.exists():
            old = json.loads(path.read_text())
            problems += [f"{path.name}: {p}" for p in breaking_changes(old, json.loads(text))]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 on a difference")
    parser.add_argument("--root", type=Path, default=CONTRACTS_DIR, help="the contracts directory")
    args = parser.parse_args(argv)
    files = generated_files(args.root)
    stale = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
    if args.check:
        for path in stale:
            print(f"out of date: {path.relative_to(args.root)}", file=sys.stderr)
        return 1 if stale else 0
    problems = _incompatible(args.root)
    if problems:
        print("refusing to write: these changes break consumers of v1; add a new version instead", file=sys.stderr)
        print("\n".join(f"  {p}" for p in problems), file=sys.stderr)
        return 1
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[path])
        print(f"wrote {path.relative_to(args.root)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
