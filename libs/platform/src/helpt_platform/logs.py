"""structlog JSON logging for every service, with bound ids and a last guard against personal data.

Application code binds `event_id`, `correlation_id` and `tenant` (see `bound`); `service` is bound
once at set-up. Third-party loggers (uvicorn, FastStream, aiokafka, PyMongo) go through the same
renderer, so every line on stdout is one JSON object.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import structlog

__all__ = ["REDACTED", "SENSITIVE_KEYS", "bound", "configure_logging", "get_logger", "redact_sensitive"]

REDACTED = "[redacted]"
# Keys that must never carry a value into a log line, whatever a caller passes by mistake.
SENSITIVE_KEYS = frozenset(
    {
        "name", "full_name", "first_name", "last_name", "phone", "email", "address", "street", "note",
        "birth_date", "personal", "plaintext", "password", "token", "authorization", "secret", "key",
        "mongodb_url",
    }
)


def redact_sensitive(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: replace the value of any sensitive key with a marker."""
    for key in event_dict.keys() & SENSITIVE_KEYS:
        event_dict[key] = REDACTED
    return event_dict


def _stamp(service: str) -> Any:
    # A processor, not a context variable: uvicorn and aiokafka log from tasks that never saw
    # the binding, and every line must still say which service wrote it.
    def add_service(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        event_dict.setdefault("service", service)
        event_dict.pop("color_message", None)  # uvicorn's ANSI-coloured duplicate of the message
        return event_dict

    return add_service


def configure_logging(service: str, *, level: str = "INFO", json: bool = True) -> None:
    """Set up structlog and the standard library's logging for one service process."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        _stamp(service),
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_sensitive,
    ]
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, structlog.processors.format_exc_info, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "pymongo", "kafka"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    structlog.contextvars.clear_contextvars()


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    """A structured logger; its lines carry whatever is bound at the time."""
    return structlog.stdlib.get_logger(name)


@contextmanager
def bound(**ids: str) -> Iterator[None]:
    """Bind ids (event_id, correlation_id, tenant, …) to every log line in this block."""
    with structlog.contextvars.bound_contextvars(**ids):
        yield
