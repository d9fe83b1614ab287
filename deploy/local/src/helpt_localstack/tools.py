"""Install steps: Kafka jars from Maven Central and a FerretDB binary built with Go.

Both land in the cache directory and are marked complete by a stamp file, so a second
run downloads and builds nothing. A file lock keeps two concurrent installs apart.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from helpt_localstack.errors import StackError
from helpt_localstack.paths import FERRETDB_VERSION, KAFKA_VERSION, cache_dir
from helpt_localstack.toolcheck import check_tools, java_executable

__all__ = [
    "check_tools",
    "ensure_ferretdb",
    "ensure_kafka",
    "ferretdb_installed",
    "java_executable",
    "kafka_installed",
]

log = logging.getLogger(__name__)

FERRETDB_MODULE = "github.com/FerretDB/FerretDB"
# No VCS stamping: the copied source has no .git, and a repo above the cache is not ours.
_GO_BUILD_FLAGS = ("-trimpath", "-buildvcs=false")
_INSTALL_TIMEOUT_S = 20 * 60
STAMP = ".complete"


def _pom_path() -> Path:
    # deploy/local/kafka/pom.xml, next to src/ in the workspace member.
    pom = Path(__file__).resolve().parents[2] / "kafka" / "pom.xml"
    if not pom.is_file():
        raise StackError(f"Kafka dependency list not found at {pom}")
    return pom


def kafka_home(cache: Path | None = None) -> Path:
    return (cache or cache_dir()) / f"kafka-{KAFKA_VERSION}"


def ferretdb_binary(cache: Path | None = None) -> Path:
    return (cache or cache_dir()) / f"ferretdb-{FERRETDB_VERSION}" / "ferretdb"


def _kafka_stamp_text() -> str:
    return hashlib.sha256(_pom_path().read_bytes()).hexdigest()


def _ferretdb_stamp_text() -> str:
    return f"{FERRETDB_MODULE}@v{FERRETDB_VERSION} {' '.join(_GO_BUILD_FLAGS)} CGO_ENABLED=0"


def _stamp_ok(directory: Path, expected: str) -> bool:
    stamp = directory / STAMP
    return stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == expected


def kafka_installed(cache: Path | None = None) -> bool:
    return _stamp_ok(kafka_home(cache), _kafka_stamp_text())


def ferretdb_installed(cache: Path | None = None) -> bool:
    binary = ferretdb_binary(cache)
    return binary.is_file() and _stamp_ok(binary.parent, _ferretdb_stamp_text())


@contextmanager
def _locked(cache: Path, name: str) -> Iterator[None]:
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(
    cmd: list[str], what: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> str:
    log.info("running %s", " ".join(cmd))
    try:
        out = subprocess.run(
            cmd,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=_INSTALL_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise StackError(
            f"{what} did not finish within {_INSTALL_TIMEOUT_S} s: {' '.join(cmd)}"
        ) from exc
    if out.returncode != 0:
        tail = "\n".join((out.stdout + out.stderr).splitlines()[-30:])
        raise StackError(f"{what} failed (exit {out.returncode}): {' '.join(cmd)}\n{tail}")
    return out.stdout


def _replace_dir(staging: Path, final: Path) -> None:
    if final.exists():
        shutil.rmtree(final)
    staging.rename(final)


def ensure_kafka(cache: Path | None = None) -> Path:
    """Directory whose libs/ holds every jar the broker needs; downloads them once."""
    cache = cache or cache_dir()
    home = kafka_home(cache)
    if kafka_installed(cache):
        return home
    tools = check_tools(("mvn",))
    with _locked(cache, "kafka"):
        if kafka_installed(cache):  # another process finished while we waited
            return home
        staging = Path(tempfile.mkdtemp(prefix=f"{home.name}.", dir=cache))
        try:
            _run(
                [
                    tools["mvn"],
                    "-B",
                    "-q",
                    "-f",
                    str(_pom_path()),
                    "dependency:copy-dependencies",
                    "-DincludeScope=runtime",
                    f"-DoutputDirectory={staging / 'libs'}",
                ],
                "Downloading Kafka jars with Maven",
            )
            if not (staging / "libs" / f"kafka_2.13-{KAFKA_VERSION}.jar").is_file():
                raise StackError(f"Maven finished but kafka_2.13-{KAFKA_VERSION}.jar is missing")
            (staging / STAMP).write_text(_kafka_stamp_text() + "\n", encoding="utf-8")
            _replace_dir(staging, home)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return home


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    # The user's GOFLAGS (e.g. -mod=vendor) or a go.work above the cache would break the build;
    # FerretDB's SQLite driver is pure Go, so without cgo no C compiler is needed.
    env.update(GOFLAGS="", GOWORK="off", CGO_ENABLED="0")
    return env


def ensure_ferretdb(cache: Path | None = None) -> Path:
    """Path of a FerretDB binary; built once from the Go module source."""
    cache = cache or cache_dir()
    binary = ferretdb_binary(cache)
    if ferretdb_installed(cache):
        return binary
    tools = check_tools(("go",))
    with _locked(cache, "ferretdb"):
        if ferretdb_installed(cache):
            return binary
        staging = Path(tempfile.mkdtemp(prefix=f"{binary.parent.name}.", dir=cache))
        try:
            # `go install …@version` needs the proxy's @v/list, which some proxies refuse;
            # downloading the one module version and building from its source does not.
            out = _run(
                [tools["go"], "mod", "download", "-json", f"{FERRETDB_MODULE}@v{FERRETDB_VERSION}"],
                "Downloading FerretDB source with Go",
                cwd=staging,
                env=_go_env(),
            )
            module_dir = Path(json.loads(out)["Dir"])
            src = staging / "src"
            shutil.copytree(module_dir, src)
            for path in [src, *src.rglob("*")]:  # the module cache is read-only
                path.chmod(path.stat().st_mode | 0o200)
            # FerretDB refuses to start without a version file that its release tooling writes.
            (src / "build" / "version" / "version.txt").write_text(f"v{FERRETDB_VERSION}\n")
            _run(
                [
                    tools["go"],
                    "build",
                    *_GO_BUILD_FLAGS,
                    "-o",
                    str(staging / "out" / "ferretdb"),
                    "./cmd/ferretdb",
                ],
                "Building FerretDB with Go",
                cwd=src,
                env=_go_env(),
            )
            shutil.rmtree(src)
            (staging / "out" / STAMP).write_text(_ferretdb_stamp_text() + "\n", encoding="utf-8")
            _replace_dir(staging / "out", binary.parent)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return binary
