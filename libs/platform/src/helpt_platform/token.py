"""Issue a local bearer token: what `make token ROLE=… [TENANT=…] [ORG=…] [SUB=…]` runs.

    python -m helpt_platform.token --role screener --tenant leuven [--org ORG] [--sub ID] [--hours 8]
"""

from __future__ import annotations

import argparse
import datetime as dt

from helpt_contracts.roles import Role
from helpt_platform.auth import issue_token, local_secret


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make token", description="Issue a local bearer token.")
    parser.add_argument("--role", required=True, choices=[r.value for r in Role])
    parser.add_argument("--tenant", default="leuven")
    parser.add_argument("--org", default=None, help="organisation, for partner tokens")
    parser.add_argument("--sub", default=None, help="subject: a person's id, or a service name for role=service")
    parser.add_argument("--hours", type=float, default=8.0)
    args = parser.parse_args(argv)
    role = Role(args.role)
    if role is Role.PARTNER and not args.org:
        parser.error("a partner token needs --org")
    sub = args.sub or f"local-{role.value}"
    print(issue_token(local_secret(), sub=sub, role=role, tenant=args.tenant, organisation=args.org, ttl=dt.timedelta(hours=args.hours)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
