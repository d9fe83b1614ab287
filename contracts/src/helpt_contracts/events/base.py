"""The base of every event: its tenant, and the type, topic and key it travels under."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from helpt_contracts.types import ContractModel, TenantId

__all__ = ["Event", "EVENT_TYPE_PREFIX", "UnknownEventType", "event_class", "event_classes"]

EVENT_TYPE_PREFIX = "be.helpt."
_REGISTRY: dict[str, type[Event]] = {}


class UnknownEventType(LookupError):
    """A `ce_type` no contracts model answers to."""


class Event(ContractModel):
    """An event: a past-tense fact. Its CloudEvents type is `be.helpt.<ClassName>.v<VERSION>`."""

    TOPIC: ClassVar[str]
    KEY_FIELD: ClassVar[str]
    VERSION: ClassVar[int] = 1

    tenant: TenantId = Field(description="The municipality (tenant) the event belongs to.")

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if getattr(cls, "TOPIC", None) and not cls.__name__.startswith("_"):
            if cls.event_type() in _REGISTRY:
                raise TypeError(f"two events claim the type {cls.event_type()}")
            _REGISTRY[cls.event_type()] = cls

    @classmethod
    def event_type(cls) -> str:
        """The CloudEvents `type` of this event, e.g. `be.helpt.HelpRequested.v1`."""
        return f"{EVENT_TYPE_PREFIX}{cls.__name__}.v{cls.VERSION}"

    def key(self) -> bytes:
        """The Kafka key: the id of the aggregate, so its events keep their order."""
        return str(getattr(self, self.KEY_FIELD)).encode()


def event_class(event_type: str) -> type[Event]:
    """The model for a CloudEvents type; `UnknownEventType` if none."""
    try:
        return _REGISTRY[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None


def event_classes() -> tuple[type[Event], ...]:
    """Every registered event model, in a stable order (topic, then name)."""
    return tuple(sorted(_REGISTRY.values(), key=lambda c: (c.TOPIC, c.__name__)))
