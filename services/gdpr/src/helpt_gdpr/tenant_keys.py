"""Where tenant keys live. Locally: one file per tenant; in production: a KMS or Vault behind the same protocol.

The tenant key wraps every data key of that municipality. Destroying it (end of crisis) makes
every wrapped data key, and so every sealed field anywhere, unreadable.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from typing import Protocol

from helpt_gdpr.crypto import KEY_BYTES, new_key

__all__ = ["FileTenantKeys", "TenantKeyProvider"]

_TENANT = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class TenantKeyProvider(Protocol):
    """Custody of tenant keys."""

    async def get(self, tenant: str) -> bytes | None:
        """The tenant's key, or None if it has none (never created, or destroyed)."""

    async def create(self, tenant: str) -> bytes:
        """Create the tenant's key if it has none; return it."""

    async def destroy(self, tenant: str) -> bool:
        """Destroy the tenant's key for good; True if there was one."""

    def describe(self) -> str:
        """Where keys live, for the operator (never a key)."""


class FileTenantKeys:
    """Tenant keys as files (mode 0600) in one directory: for a single machine and for tests.

    Destroying overwrites the file with random bytes before unlinking it; on copy-on-write or
    flash storage that is no guarantee, which is why production uses a KMS (crypto-shredding
    there means scheduling the key's deletion).
    """

    def __init__(self, directory: Path) -> None:
        self._dir = directory

    def _path(self, tenant: str) -> Path:
        if not _TENANT.match(tenant):
            raise ValueError("not a tenant id")
        return self._dir / f"{tenant}.key"

    async def get(self, tenant: str) -> bytes | None:
        try:
            key = base64.b64decode(self._path(tenant).read_bytes())
        except FileNotFoundError:
            return None
        if len(key) != KEY_BYTES:
            raise ValueError(f"the key file of tenant {tenant} is damaged")
        return key

    async def create(self, tenant: str) -> bytes:
        if (existing := await self.get(tenant)) is not None:
            return existing
        self._dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = new_key()
        path = self._path(tenant)
        staging = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(base64.b64encode(key))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(staging, path)  # fails if another process created it meanwhile: theirs wins
        except FileExistsError:
            pass
        finally:
            staging.unlink()
        return await self.get(tenant) or key

    async def destroy(self, tenant: str) -> bool:
        path = self._path(tenant)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return False
        with path.open("r+b") as handle:
            handle.write(os.urandom(size))
            handle.flush()
            os.fsync(handle.fileno())
        path.unlink()
        return True

    def describe(self) -> str:
        return f"files in {self._dir}"
