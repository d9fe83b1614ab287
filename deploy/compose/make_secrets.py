"""Create the Compose deployment's secret files once: deploy/compose/secrets/*.secret (random, never committed).

    python3 deploy/compose/make_secrets.py

An existing file is kept (replacing the JWT secret signs everyone out; replacing a link secret
breaks every link already sent). The directory is 0700 so only its owner on the host reads them;
the files are 0644 because Compose mounts them into the containers with the host's owner and
mode, and the services run as uid 10001.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

NAMES = ("jwt.secret", "screening-links.secret", "matching-links.secret")


def main(directory: Path = Path(__file__).resolve().parent / "secrets") -> None:
    directory.mkdir(mode=0o700, exist_ok=True)
    os.chmod(directory, 0o700)
    for name in NAMES:
        path = directory / name
        if path.exists():
            print(f"kept    {path}")
            continue
        path.write_text(secrets.token_urlsafe(48))
        os.chmod(path, 0o644)
        print(f"created {path}")


if __name__ == "__main__":
    main()
