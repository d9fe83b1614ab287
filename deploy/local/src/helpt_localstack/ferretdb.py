"""The FerretDB side: command line and health check."""

from __future__ import annotations

import uuid
from pathlib import Path

from helpt_localstack.errors import StackError

HEALTH_DB = "helpt_localstack_health"


def command(binary: Path, state_dir: Path, port: int, postgresql_url: str) -> list[str]:
    return [
        str(binary),
        # On PostgreSQL, not SQLite: see helpt_localstack.postgres and docs/adr/0017.
        "--handler=postgresql",
        f"--postgresql-url={postgresql_url}",
        f"--listen-addr=127.0.0.1:{port}",
        f"--state-dir={state_dir}",
        "--telemetry=disable",
        # "-" turns the debug HTTP listener off; its fixed default port would collide
        # between two stacks on one machine.
        "--debug-addr=-",
        "--log-format=text",
        "--log-level=info",
    ]


def check_insert_find(url: str, timeout: float) -> None:
    """Insert one unique document and find it again; raises StackError on failure."""
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    ms = int(timeout * 1000)
    token = uuid.uuid4().hex
    client: MongoClient[dict[str, object]] = MongoClient(
        url,
        serverSelectionTimeoutMS=ms,
        connectTimeoutMS=ms,
        socketTimeoutMS=ms,
    )
    try:
        probes = client[HEALTH_DB]["probes"]
        probes.insert_one({"token": token})
        found = probes.find_one({"token": token})
        if found is None:
            raise StackError("FerretDB accepted an insert but could not find the document")
        probes.delete_one({"token": token})
    except PyMongoError as exc:
        raise StackError(f"FerretDB insert/find failed: {type(exc).__name__}: {exc}") from exc
    finally:
        client.close()
