"""structlog JSON logging for every service, with bound ids and a last guard against personal data.

Application code binds `event_id`, `correlation_id` and `tenant` (see `bound`); `service` is bound
once at set-up. Third-party loggers (uvicorn, FastStream, aiokafka, PyMongo) go through the same
renderer, so every line on stdout is one JSON object.
"""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType
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


def withheld_traceback(kind: type[BaseException], tb: TracebackType | None) -> str:
    """A traceback with its frames and the exception's type, but not its message.

    An exception's text can quote what it failed on (a pydantic error echoes its input), and that
    may be personal data; the frames and the type are enough to debug.
    """
    frames = "".join(traceback.format_tb(tb))
    return f"Traceback (most recent call last):\n{frames}{kind.__module__}.{kind.__qualname__}: [message withheld]"


def _exception_without_message(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    # In place of structlog's format_exc_info, for its own records and the standard library's alike.
    exc_info = event_dict.pop("exc_info", None)
    if exc_info:
        if exc_info is True:
            exc_info = sys.exc_info()
        elif isinstance(exc_info, BaseException):
            exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
        if exc_info[0] is not None:
            event_dict["exception"] = withheld_traceback(exc_info[0], exc_info[2])
    return event_dict


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
        processors=[*shared, _exception_without_message, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, _exception_without_message, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request's full URL at INFO, uvicorn every path and query: a URL may carry what it should not.
    for noisy in ("aiokafka", "pymongo", "kafka", "httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # FastStream gives its logger its own coloured handler and stops propagation at import;
    # bring it back to the JSON renderer (and so to the withheld exception messages).
    faststream = logging.getLogger("faststream")
    faststream.handlers[:] = []
    faststream.propagate = True
    structlog.contextvars.clear_contextvars()


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    """A structured logger; its lines carry whatever is bound at the time."""
    return structlog.stdlib.get_logger(name)


@contextmanager
def bound(**ids: str) -> Iterator[None]:
    """Bind ids (event_id, correlation_id, tenant, …) to every log line in this block."""
    with structlog.contextvars.bound_contextvars(**ids):
        yield
