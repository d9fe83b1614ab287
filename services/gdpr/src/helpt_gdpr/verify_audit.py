"""Verify a tenant's audit chain from the command line: `make audit-verify TENANT=leuven`.

Exit 0 when the chain is intact, 1 when it is broken (naming the first broken record), 2 when
the store cannot be reached. Reads the same settings as the service (HELPT_GDPR_*, MONGODB_URL).
"""

from __future__ import annotations

import argparse
import asyncio

from pymongo.errors import PyMongoError

from helpt_gdpr.audit import AuditLog
from helpt_gdpr.settings import GdprSettings
from helpt_platform.mongo import create_mongo_client, service_database


async def verify(tenant: str, settings: GdprSettings) -> int:
    client = create_mongo_client(settings)
    try:
        report = await AuditLog(service_database(client, settings)["audit"]).verify(tenant)
    except PyMongoError as exc:
        print(f"cannot read the audit log: the store did not answer ({type(exc).__name__})")
        return 2
    finally:
        await client.close()
    if report.intact:
        print(f"{tenant}: intact, {report.records} records")
        return 0
    print(f"{tenant}: BROKEN at record {report.first_broken_seq}: {report.problem}")
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make audit-verify", description="Verify a tenant's hash-chained audit log.")
    parser.add_argument("--tenant", required=True)
    args = parser.parse_args(argv)
    return asyncio.run(verify(args.tenant, GdprSettings()))


if __name__ == "__main__":
    raise SystemExit(main())
