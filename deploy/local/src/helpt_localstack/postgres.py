"""PostgreSQL under FerretDB: Debian's server, run by the stack as a child like Kafka.

FerretDB 1.24 stores documents either in SQLite or in PostgreSQL. On SQLite it looks a document up by
scanning a table (its `_id` index is built on one expression and queried with another) and decodes
every document in Go for any filter but a lone string `_id`; an update costs about 15 ms however small
the collection. On PostgreSQL an equality on a string field (`_id` or another) is filtered in SQL, and
an update costs about 2 ms at a few thousand documents. Measured in docs/adr/0017; the stack therefore
runs FerretDB on PostgreSQL, planned with each query's values and with GIN twins of FerretDB's indexes,
so those equalities are index look-ups (docs/adr/0018).

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
        # FerretDB asks for an equality as `_jsonb->$1 @> $2`, a prepared statement: planned generically, the
        # field is unknown and no index can serve it, so every look-up read the whole table (see GIN_TWINS).
        "-c", "plan_cache_mode=force_custom_plan",
    ]


# FerretDB 1.24 indexes a field as a btree on `(_jsonb -> 'field')`, but asks for `field = value` as
# `_jsonb -> 'field' @> '"value"'`, an operator a btree cannot answer: a look-up by `_id`, or by any indexed
# field, scanned the whole table (8-10 ms at 20,000 documents, growing with it). Each such btree gets a GIN
# twin on the same expression, which answers `@>` (1 ms at 20,000, measured: docs/adr/0018). An event trigger
# makes the twins as FerretDB creates its indexes; the last statement makes those missing in an older store.
GIN_TWINS = r"""
CREATE OR REPLACE FUNCTION helpt_gin_twin(index_oid oid) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    tbl regclass;
    field text[];
BEGIN
    SELECT i.indrelid::regclass INTO tbl FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        JOIN pg_am a ON a.oid = c.relam WHERE i.indexrelid = index_oid AND a.amname = 'btree';
    IF tbl IS NULL THEN
        RETURN;
    END IF;
    FOR field IN SELECT regexp_matches(pg_get_indexdef(index_oid), '\(_jsonb -> ''([^'']+)''::text\)', 'g') LOOP
        EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s USING gin ((_jsonb -> %L) jsonb_path_ops) WITH (fastupdate = off)',
                       'helpt_gin_' || md5(tbl::text || '/' || field[1]), tbl, field[1]);
    END LOOP;
END
$fn$;

CREATE OR REPLACE FUNCTION helpt_gin_twins() RETURNS event_trigger LANGUAGE plpgsql AS $fn$
DECLARE
    made record;
BEGIN
    FOR made IN SELECT objid FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE INDEX' LOOP
        PERFORM helpt_gin_twin(made.objid);
    END LOOP;
END
$fn$;

DO $do$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'helpt_gin_twins') THEN
        CREATE EVENT TRIGGER helpt_gin_twins ON ddl_command_end WHEN TAG IN ('CREATE INDEX')
            EXECUTE FUNCTION helpt_gin_twins();
    END IF;
END
$do$;

DO $do$
DECLARE
    found record;
BEGIN
    FOR found IN SELECT i.indexrelid FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
            JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND pg_get_indexdef(i.indexrelid) LIKE '%_jsonb -> %' LOOP
        PERFORM helpt_gin_twin(found.indexrelid);
    END LOOP;
END
$do$;
"""


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
        tuned = subprocess.run([client, "-h", "127.0.0.1", "-p", str(port), "-U", ROLE, "-d", DATABASE, "-q",
                                "-v", "ON_ERROR_STOP=1", "-c", GIN_TWINS], capture_output=True, text=True, timeout=600, check=False)
        if tuned.returncode != 0:
            raise StackError(f"Adding FerretDB's index twins failed: {tuned.stderr.strip()}")
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StackError(f"psql could not reach PostgreSQL: {exc}") from exc
