"""PostgreSQL under FerretDB: Debian's server, run by the stack as a child like Kafka.

FerretDB 1.24 stores documents either in SQLite or in PostgreSQL. On SQLite it looks a document up by
scanning a table (its `_id` index is built on one expression and queried with another) and decodes
every document in Go for any filter but a lone string `_id`; an update costs about 15 ms however small
the collection. On PostgreSQL a string `_id` (alone or with other fields) is an index look-up, an
equality on a string field is filtered in SQL, and an update costs about 2 ms. Measured in
docs/adr/0017; the stack therefore runs FerretDB on PostgreSQL.

PostgreSQL refuses to run as root. Started by root, the server runs as the `postgres` user that
Debian's package creates, and its data directory must be reachable by that user: inside the state
directory when every directory above it lets others through, otherwise under the system's temporary
directory, named after the state directory (`<tmp>/helpt-postgres/<hash>`, with a file naming its
owner so a later start can remove the data of a state directory that is gone).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

from helpt_localstack.errors import MissingToolError, StackError

DATABASE = "ferretdb"
ROLE = "ferretdb"
SERVER_USER = "postgres"  # the account Debian's package creates
INSTALL_HINT = "Install PostgreSQL (Debian: `apt-get install postgresql`); `make install` does it when it may."


def binaries() -> Path:
    """The directory holding `postgres` and `initdb` (Debian keeps them out of PATH)."""
    explicit = os.environ.get("HELPT_POSTGRES_BIN")
    candidates = [Path(explicit)] if explicit else []
    on_path = shutil.which("postgres")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _version(p.parent.name), reverse=True)
    candidates += debian
    for directory in candidates:
        if (directory / "postgres").is_file() and (directory / "initdb").is_file():
            return directory
    raise MissingToolError(f"PostgreSQL (postgres and initdb) was not found. {INSTALL_HINT}")


def _version(name: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in name.split("."))
    except ValueError:
        return (0,)


def run_as() -> pwd.struct_passwd | None:
    """The account the server runs as: None for the current one, `postgres` when the current one is root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError as exc:
        raise MissingToolError(f"PostgreSQL will not run as root, and there is no `{SERVER_USER}` user. {INSTALL_HINT}") from exc


def _reachable(path: Path, user: pwd.struct_passwd) -> bool:
    """Whether `user` may pass through every directory above `path` (ownership and mode bits, no ACLs)."""
    for parent in path.parents:
        info = parent.stat()
        if info.st_uid == user.pw_uid:
            bit = stat.S_IXUSR
        elif info.st_gid == user.pw_gid or info.st_gid in os.getgrouplist(user.pw_name, user.pw_gid):
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not info.st_mode & bit:
            return False
    return True


def _outside_root() -> Path:
    return Path(tempfile.gettempdir()) / "helpt-postgres"


def data_dir(state_dir: Path) -> Path:
    """Where this stack's server keeps its data (see the module's text)."""
    inside = state_dir / "postgres"
    user = run_as()
    if user is None or _reachable(inside, user):
        return inside
    name = hashlib.sha256(str(state_dir).encode()).hexdigest()[:16]
    return _outside_root() / name


def prepare(state_dir: Path) -> Path:
    """Create (once) and hand over the data directory; remove the outside data of state directories that are gone."""
    home = data_dir(state_dir)
    user = run_as()
    if home.parent == _outside_root():
        home.parent.mkdir(mode=0o711, exist_ok=True)
        home.parent.chmod(0o711)
        _remove_orphans(home.parent)
        (home.parent / f"{home.name}.owner").write_text(f"{state_dir}\n", encoding="utf-8")
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    if user is not None:
        os.chown(home, user.pw_uid, user.pw_gid)
    if not (home / "PG_VERSION").is_file():
        _initdb(home, user)
    return home


def _remove_orphans(root: Path) -> None:
    for owner in root.glob("*.owner"):
        with contextlib.suppress(OSError):
            if not Path(owner.read_text(encoding="utf-8").strip()).exists():
                shutil.rmtree(root / owner.stem, ignore_errors=True)
                owner.unlink()


def remove_outside_data(state_dir: Path) -> None:
    """Delete a stack's data kept outside its state directory (the state directory's own is deleted with it)."""
    home = data_dir(state_dir)
    if home.parent == _outside_root():
        shutil.rmtree(home, ignore_errors=True)
        (home.parent / f"{home.name}.owner").unlink(missing_ok=True)


def _initdb(home: Path, user: pwd.struct_passwd | None) -> None:
    cmd = [str(binaries() / "initdb"), "-D", str(home), "-U", ROLE, "--auth=trust", "--encoding=UTF8",
           "--locale=C", "--no-sync", "--no-instructions"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False,
                             user=user.pw_uid if user else None, group=user.pw_gid if user else None, cwd="/")
    except subprocess.TimeoutExpired as exc:
        raise StackError("initdb did not finish within 120 s") from exc
    if out.returncode != 0:
        tail = "\n".join((out.stdout + out.stderr).splitlines()[-20:])
        raise StackError(f"initdb failed (exit {out.returncode}):\n{tail}")


def command(home: Path, port: int) -> list[str]:
    return [
        str(binaries() / "postgres"),
        "-D", str(home),
        "-p", str(port),
        "-c", "listen_addresses=127.0.0.1",
        "-c", "unix_socket_directories=",  # TCP only: no socket file in a shared directory
        # Commits wait for nothing: a crash of the machine may lose the last moments, never corrupt
        # (the local and test store; production runs MongoDB).
        "-c", "synchronous_commit=off",
        "-c", "max_connections=200",
        "-c", "shared_buffers=128MB",
        "-c", "log_min_messages=warning",
    ]


def url(port: int) -> str:
    return f"postgres://{ROLE}@127.0.0.1:{port}/{DATABASE}"


def ensure_database(port: int) -> None:
    """Create FerretDB's database on first start (the role is initdb's superuser)."""
    psql = binaries() / "psql"
    client = str(psql) if psql.is_file() else (shutil.which("psql") or "psql")
    base = [client, "-h", "127.0.0.1", "-p", str(port), "-U", ROLE, "-d", "postgres", "-tAc"]
    try:
        found = subprocess.run([*base, f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"],
                               capture_output=True, text=True, timeout=30, check=False)
        if found.returncode != 0:
            raise StackError(f"PostgreSQL refused a query: {found.stderr.strip()}")
        if found.stdout.strip() != "1":
            made = subprocess.run([*base, f"CREATE DATABASE {DATABASE}"], capture_output=True, text=True, timeout=30, check=False)
            if made.returncode != 0:
                raise StackError(f"Creating FerretDB's database failed: {made.stderr.strip()}")
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StackError(f"psql could not reach PostgreSQL: {exc}") from exc
