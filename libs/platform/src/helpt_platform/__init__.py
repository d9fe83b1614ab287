"""Plumbing shared by Helpt's services, written once: settings, logging, Kafka, MongoDB, the app."""

from helpt_platform.consumers import EventHandler, subscribe_events
from helpt_platform.deadletters import DeadLetters
from helpt_platform.kafka import ACK_POLICY, create_broker, create_router, publish_event
from helpt_platform.logs import bound, configure_logging, get_logger
from helpt_platform.mongo import create_mongo_client, service_database
from helpt_platform.service import RouterFactory, Runtime, create_service_app
from helpt_platform.settings import ServiceSettings

__all__ = [
    "ACK_POLICY",
    "DeadLetters",
    "EventHandler",
    "RouterFactory",
    "Runtime",
    "ServiceSettings",
    "bound",
    "configure_logging",
    "create_broker",
    "create_mongo_client",
    "create_router",
    "create_service_app",
    "get_logger",
    "publish_event",
    "service_database",
    "subscribe_events",
]
