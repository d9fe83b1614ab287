"""Kafka access control as code: who may write and read which topic, derived from the contracts.

Each service is a SCRAM user (`User:helpt-<service>`) that writes only its own topics (and the
dead letters of what it consumes) and reads only what it consumes, in consumer groups named after
it. Each partner organisation is a user (`User:partner-<org>`) that reads only
`matching.partner.<org>.v1`, in groups prefixed `partner.<org>.`.

    python -m helpt_localstack.kafka_security shell [--prefix P] [--partner ORG ...]
        prints the `kafka-acls.sh` commands for a production cluster (review them, then run them);
    `apply(...)` creates the users and ACLs on a broker through the admin API (the local stack's
        SASL listener, and the test that proves a partner cannot read another's topic).
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from helpt_contracts import topics

__all__ = ["SERVICES", "Acl", "apply", "partner_user", "plan", "service_user", "shell"]

_ACTIONS = (topics.HELP_REQUESTS, topics.VOLUNTEERS, topics.MAIL, topics.SCREENING_DECISIONS, topics.MATCHES)


@dataclass(frozen=True)
class Role:
    writes: tuple[str, ...]
    reads: tuple[str, ...]
    writes_prefixed: tuple[str, ...] = ()


# Who writes and who reads each topic (README "Events"; the services' subscribers).
SERVICES: Mapping[str, Role] = {
    "intake": Role(writes=(topics.HELP_REQUESTS, topics.VOLUNTEERS, topics.MAIL, topics.GDPR_RECEIPTS),
                   reads=(topics.HELP_REQUESTS, topics.MATCHES, topics.GDPR_COMMANDS)),
    "screening": Role(writes=(topics.SCREENING_DECISIONS, topics.GDPR_RECEIPTS),
                      reads=(topics.VOLUNTEERS, topics.HELP_REQUESTS, topics.MATCHES, topics.GDPR_COMMANDS)),
    "matching": Role(writes=(topics.MATCHES, topics.GDPR_RECEIPTS),
                     reads=(topics.HELP_REQUESTS, topics.VOLUNTEERS, topics.SCREENING_DECISIONS, topics.MATCHES,
                            topics.GDPR_COMMANDS),
                     writes_prefixed=(topics.PARTNER_TOPIC_TEMPLATE.split("{org}")[0],)),
    "gdpr": Role(writes=(topics.GDPR_COMMANDS,), reads=(*_ACTIONS, topics.GDPR_RECEIPTS)),
}


@dataclass(frozen=True)
class Acl:
    principal: str
    resource: str  # "topic" or "group"
    name: str
    pattern: str  # "literal" or "prefixed"
    operation: str  # "read", "write", "describe"


def service_user(service: str) -> str:
    return f"helpt-{service}"


def partner_user(org: str) -> str:
    topics.partner_topic(org)  # refuses an organisation id that is no valid topic name
    return f"partner-{org}"


def plan(prefix: str = "", partners: Iterable[str] = ()) -> list[Acl]:
    """Every ACL a deployment needs: allow-only, everything else is denied (`allow.everyone.if.no.acl.found=false`)."""
    acls: list[Acl] = []
    for service, role in SERVICES.items():
        user = f"User:{service_user(service)}"
        for topic in role.writes:
            acls += [Acl(user, "topic", prefix + topic, "literal", op) for op in ("write", "describe")]
        for topic_prefix in role.writes_prefixed:
            acls += [Acl(user, "topic", prefix + topic_prefix, "prefixed", op) for op in ("write", "describe", "create")]
        for topic in role.reads:
            acls += [Acl(user, "topic", prefix + topic, "literal", op) for op in ("read", "describe")]
            # a message that fails its retries goes to the dead letters of the topic it came from
            acls += [Acl(user, "topic", prefix + topics.dead_letter_topic(topic), "literal", op) for op in ("write", "describe")]
        acls.append(Acl(user, "group", f"{prefix}helpt-{service}", "prefixed", "read"))
    for org in partners:
        user = f"User:{partner_user(org)}"
        acls += [Acl(user, "topic", prefix + topics.partner_topic(org), "literal", op) for op in ("read", "describe")]
        acls.append(Acl(user, "group", f"{prefix}partner.{org}.", "prefixed", "read"))
    return list(dict.fromkeys(acls))  # a service reading and writing one topic needs its "describe" once


def shell(acls: Sequence[Acl], bootstrap: str = "$KAFKA_BOOTSTRAP", config: str = "admin.properties") -> list[str]:
    """The `kafka-acls.sh` commands that create `acls` on a cluster (an admin's client config in `config`)."""
    lines = []
    for acl in acls:
        kind = "--topic" if acl.resource == "topic" else "--group"
        lines.append(" ".join([
            "kafka-acls.sh", "--bootstrap-server", bootstrap, "--command-config", config, "--add",
            "--allow-principal", shlex.quote(acl.principal), "--operation", acl.operation.capitalize(),
            kind, shlex.quote(acl.name), "--resource-pattern-type", acl.pattern]))
    return lines


def apply(bootstrap: str, acls: Sequence[Acl], passwords: Mapping[str, str], *, timeout_s: float = 30) -> None:
    """Create the SCRAM users (`passwords`: user → password) and the ACLs, through the admin API (librdkafka).

    Connects to a listener whose user may alter credentials and ACLs (locally: the loopback PLAINTEXT one).
    """
    from confluent_kafka.admin import (
        AclBinding,
        AclOperation,
        AclPermissionType,
        AdminClient,
        ResourcePatternType,
        ResourceType,
        ScramCredentialInfo,
        ScramMechanism,
        UserScramCredentialUpsertion,
    )

    admin = AdminClient({"bootstrap.servers": bootstrap})
    upserts = [UserScramCredentialUpsertion(user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), password.encode())
               for user, password in passwords.items()]
    for future in admin.alter_user_scram_credentials(upserts, request_timeout=timeout_s).values():
        future.result(timeout=timeout_s)
    bindings = [AclBinding(ResourceType.TOPIC if acl.resource == "topic" else ResourceType.GROUP, acl.name,
                           ResourcePatternType.LITERAL if acl.pattern == "literal" else ResourcePatternType.PREFIXED,
                           acl.principal, "*", AclOperation[acl.operation.upper()], AclPermissionType.ALLOW)
                for acl in acls]
    for future in admin.create_acls(bindings, request_timeout=timeout_s).values():
        future.result(timeout=timeout_s)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpt_localstack.kafka_security",
                                     description="Print the Kafka ACLs of a Helpt deployment as kafka-acls.sh commands.")
    parser.add_argument("command", choices=["shell"])
    parser.add_argument("--prefix", default="", help="topic prefix of the deployment")
    parser.add_argument("--partner", action="append", default=[], help="a partner organisation id (repeat)")
    parser.add_argument("--bootstrap", default="$KAFKA_BOOTSTRAP")
    args = parser.parse_args(argv)
    for line in shell(plan(args.prefix, args.partner), args.bootstrap):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
