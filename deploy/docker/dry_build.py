"""Run a Dockerfile's builder stage without Docker, then start the service from the venv it made.

There is no Docker engine on every machine that works on Helpt (CI has none). This replays the
builder stage of deploy/docker/<service>.Dockerfile on the host: each `COPY <src> <dst>` from the
build context (after .dockerignore) into a scratch directory, each `RUN uv ...` there with the
stage's ENV (the venv path moved into the scratch directory), then starts `python -m helpt_<service>`
from that venv alone — outside the repository, so nothing comes from the workspace — and asks
/healthz. It proves that the locked install works and that the venv is the whole app; it does not
prove anything about the base image, the user or the HEALTHCHECK (the static test checks those).

    python deploy/docker/dry_build.py intake [--uv PATH]
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def dockerfile_stages(path: Path) -> list[dict[str, Any]]:
    """[{from, name, instructions: [(INSTR, args)]}] with continuation lines joined, comments dropped."""
    stages: list[dict[str, Any]] = []
    args: dict[str, str] = {}
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        instruction, _, rest = line.partition(" ")
        instruction, rest = instruction.upper(), rest.strip()
        if instruction == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif instruction == "FROM":
            image, _, name = rest.partition(" AS ")
            image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), image.strip())
            stages.append({"from": image, "name": name.strip(), "instructions": []})
        else:
            stages[-1]["instructions"].append((instruction, rest))
    return stages



def builder_steps(dockerfile: Path) -> list[tuple[str, str]]:
    """(instruction, arguments) of the first stage, continuation lines joined, comments dropped."""
    return dockerfile_stages(dockerfile)[0]["instructions"]


def ignored(relative: str, patterns: list[str]) -> bool:
    out = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern[1:] if negate else pattern
        pattern = pattern.rstrip("/")
        if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(relative, pattern + "/*") or any(
            fnmatch.fnmatch(part, pattern.removeprefix("**/")) for part in relative.split("/") if pattern.startswith("**/")
        ):
            out = not negate
    return out


def copy_into(src: str, dst: str, workdir: Path, patterns: list[str]) -> None:
    source = ROOT / src
    target = workdir / dst if not dst.endswith("/") else workdir / dst / source.name
    if source.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        return
    for path in source.rglob("*"):
        relative = path.relative_to(ROOT).as_posix()
        if path.is_file() and not ignored(relative, patterns):
            out = target / path.relative_to(source)
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, out)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("service", choices=["intake", "screening", "matching", "gdpr"])
    parser.add_argument("--uv", default="uv")
    args = parser.parse_args()
    patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines() if p.strip() and not p.startswith("#")]
    scratch = Path(tempfile.mkdtemp(prefix=f"helpt-dry-build-{args.service}-"))
    workdir = scratch / "src"
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    try:
        for instruction, arguments in builder_steps(ROOT / "deploy/docker" / f"{args.service}.Dockerfile"):
            if instruction == "WORKDIR":
                workdir.mkdir(parents=True, exist_ok=True)
            elif instruction == "ENV":
                for assignment in shlex.split(arguments):
                    key, _, value = assignment.partition("=")
                    env[key] = value.replace("/app/", f"{scratch}/app/")
                env["UV_PYTHON"] = sys.executable  # the image's interpreter is the host's here
            elif instruction == "COPY":
                *sources, dst = shlex.split(arguments)
                for src in sources:
                    copy_into(src, dst, workdir, patterns)
            elif instruction == "RUN" and arguments.startswith("uv "):
                command = [str(Path(args.uv).resolve()) if "/" in args.uv else args.uv, *shlex.split(arguments)[1:]]
                print("+", " ".join(command), flush=True)
                subprocess.run(command, cwd=workdir, env=env, check=True)
        venv_python = scratch / "app/.venv/bin/python"
        shutil.rmtree(workdir)  # the venv must be the whole app, as in the runtime stage
        port = free_port()
        name = args.service.upper()
        run_env = {"PATH": "/usr/bin:/bin", f"HELPT_{name}_HTTP_PORT": str(port), f"HELPT_{name}_HTTP_HOST": "127.0.0.1",
                   "HELPT_JWT_SECRET_FILE": str(scratch / "jwt.secret"), "HELPT_GDPR_KEY_DIR": str(scratch / "keys"),
                   "HELPT_INTAKE_SMTP_PORT": "0", "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
                   "MONGODB_URL": "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500"}
        process = subprocess.Popen([str(venv_python), "-m", f"helpt_{args.service}"], cwd=scratch, env=run_env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                        print(f"{args.service}: /healthz {answer.status} {answer.read().decode()} (from the venv alone)")
                        return 0
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        print(f"{args.service} did not answer /healthz:", process.stderr.read().decode()[-2000:] if process.poll() is not None else "timeout", file=sys.stderr)
                        return 1
                    time.sleep(0.3)
        finally:
            process.terminate()
            process.wait(timeout=15)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
