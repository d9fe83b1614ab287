"""The bench's own stack: a LocalStack (Kafka + FerretDB) on free ports, and the services as real processes."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from helpt_localstack.paths import find_repo_root, free_port
from helpt_localstack.procs import Managed, stop_all
from helpt_localstack.stack import LocalStack
from helpt_platform.auth import local_secret
from helpt_platform.testing import tenant_profiles_dir

TENANTS = "leuven,heverlee"


@dataclass
class Proc:
    name: str  # e.g. intake, intake-2
    service: str  # intake, screening, matching, gdpr
    port: int
    managed: Managed

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mb(self) -> float:
        """Resident memory of the service process (and any children), in MB."""
        proc = psutil.Process(self.managed.pid)
        return (proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))) / 2**20


@dataclass
class BenchStack:
    """Kafka and FerretDB on free ports under .state/bench-*, and service processes started on demand."""

    state_dir: Path = field(default_factory=lambda: _new_state_dir())
    procs: dict[str, Proc] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.infra = LocalStack(self.state_dir, kafka_port=0, kafka_controller_port=0, mongodb_port=0)
        self.secret_file = self.state_dir / "jwt.secret"

    @property
    def bootstrap(self) -> str:
        return self.infra.bootstrap_servers

    @property
    def mongodb_url(self) -> str:
        return self.infra.mongodb_url

    def start(self) -> None:
        self.infra.start()
        local_secret(self.secret_file)
        (self.state_dir / "tenants").mkdir(parents=True, exist_ok=True)  # heverlee has no shipped profile
        tenant_profiles_dir(self.state_dir / "tenants", "heverlee")

    def secret(self) -> bytes:
        return local_secret(self.secret_file)

    def env(self, service: str, port: int) -> dict[str, str]:
        env = dict(os.environ)
        up = service.upper()
        env.update({
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "MONGODB_URL": self.mongodb_url,
            "HELPT_TENANTS": TENANTS,
            "HELPT_TENANT_DIR": str(self.state_dir / "tenants"),
            "HELPT_JWT_SECRET_FILE": str(self.secret_file),
            "HELPT_GDPR_KEY_DIR": str(self.state_dir / "gdpr-keys"),
            f"HELPT_{up}_HTTP_PORT": str(port),
            f"HELPT_{up}_HTTP_HOST": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",
        })
        if "gdpr" in self.procs:
            env[f"HELPT_{up}_GDPR_URL"] = self.procs["gdpr"].url
        if service == "intake":  # no mail desk; the bench's clients all come from one address
            env.update({"HELPT_INTAKE_SMTP_PORT": "0", "HELPT_INTAKE_FORM_RATE_LIMIT": "100000000",
                        "HELPT_INTAKE_WRITE_RATE_LIMIT": "0"})  # the load comes from one address
        if service == "matching":  # no outgoing mail: the bench measures matching, not an SMTP server
            env.update({"HELPT_MATCHING_SMTP_PORT": "0",
                        "HELPT_MATCHING_LINK_SECRET_FILE": str(self.state_dir / "matching-links.secret")})
        if service == "screening":
            env["HELPT_SCREENING_LINK_SECRET_FILE"] = str(self.state_dir / "screening-links.secret")
        return env

    def start_service(self, service: str, name: str | None = None) -> Proc:
        name = name or service
        port = free_port()
        managed = Managed(name, self.state_dir / f"{name}.pid", self.state_dir / "logs" / f"{name}.log")
        managed.start([sys.executable, "-m", f"helpt_{service}"], self.state_dir, env=self.env(service, port))
        proc = Proc(name, service, port, managed)
        self.procs[name] = proc
        return proc

    def wait_ready(self, *names: str, deadline_s: float = 90.0) -> None:
        deadline = time.monotonic() + deadline_s
        pending = list(names or self.procs)
        while pending:
            for name in list(pending):
                proc = self.procs[name]
                if (code := proc.managed.exit_code()) is not None:
                    raise RuntimeError(f"{name} exited with {code}:\n{proc.managed.tail()}")
                try:
                    with urllib.request.urlopen(f"{proc.url}/readyz", timeout=2) as r:
                        if r.status == 200:
                            pending.remove(name)
                except (urllib.error.URLError, OSError):
                    pass
            if pending and time.monotonic() > deadline:
                raise RuntimeError(f"{pending} not ready within {deadline_s} s:\n{self.procs[pending[0]].managed.tail()}")
            if pending:
                time.sleep(0.3)

    def stop_service(self, name: str) -> None:
        proc = self.procs.pop(name)
        stop_all([proc.managed], self.state_dir, 15.0)

    def stop(self, keep: bool = False) -> None:
        stop_all([p.managed for p in self.procs.values()], self.state_dir, 15.0)
        self.procs.clear()
        self.infra.stop()
        if not keep:
            shutil.rmtree(self.state_dir, ignore_errors=True)


def _new_state_dir() -> Path:
    root = find_repo_root() or Path(tempfile.gettempdir())
    base = root / ".state"
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="bench-", dir=base))


class CpuMeter:
    """CPU seconds each part of the stack spent within `with meter:`: the services, Kafka, FerretDB,
    PostgreSQL (with its backends) and the bench process itself (the load generator). On two shared cores a figure
    is bounded by the sum, so this says where a request's time goes, and which part to make cheaper."""

    def __init__(self, stack: BenchStack) -> None:
        self._stack = stack
        self._before: dict[str, float] = {}
        self.seconds: dict[str, float] = {}
        self.wall = 0.0

    def _parts(self) -> dict[str, int | None]:
        infra = self._stack.infra
        parts: dict[str, int | None] = {name: proc.managed.pid for name, proc in self._stack.procs.items()}
        parts |= {"kafka": infra.kafka.pid, "ferretdb": infra.ferretdb.pid, "postgres": infra.postgres.pid,
                  "bench": os.getpid()}
        return parts

    def _snapshot(self) -> dict[str, float]:
        seen: dict[str, float] = {}
        for name, pid in self._parts().items():
            if pid is None:
                continue
            try:
                root = psutil.Process(pid)
                # The services are the bench's children: counted as themselves, not as the bench.
                procs = [root] + (root.children(recursive=True) if name != "bench" else [])
                seen[name] = sum(sum(p.cpu_times()[:2]) for p in procs)
            except psutil.Error:  # gone meanwhile: counted as far as it was seen
                continue
        return seen

    def __enter__(self) -> CpuMeter:
        self._before = self._snapshot()
        self.wall = time.perf_counter()
        return self

    def __exit__(self, *_exc: object) -> None:
        after = self._snapshot()
        self.wall = time.perf_counter() - self.wall
        self.seconds = {name: max(0.0, after[name] - self._before.get(name, 0.0)) for name in after}

    def per(self, count: int, unit: str = "request") -> str:
        """'CPU ms per request: intake 10.8, ferretdb 8.1, … (of 1.9 cores busy)', largest first."""
        if not count or not self.seconds:
            return ""
        parts = ", ".join(f"{name} {seconds * 1000 / count:.3g}" for name, seconds in
                          sorted(self.seconds.items(), key=lambda kv: -kv[1]) if seconds * 1000 / count >= 0.001)
        busy = sum(self.seconds.values()) / self.wall if self.wall else 0.0
        return f"CPU ms per {unit}: {parts} ({busy:.2f} cores busy)"
