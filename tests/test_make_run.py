"""`make run`'s runner end to end: the four services come up ready, and Ctrl-C leaves nothing behind."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.infra

SERVICES = ("intake", "screening", "matching", "gdpr")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def readyz(port: int) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=3) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


def processes_mentioning(text: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and proc.name != str(os.getpid()):
            try:
                if text in (proc / "cmdline").read_bytes().decode(errors="replace") or text in (
                    proc / "environ"
                ).read_bytes().decode(errors="replace"):
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def offer_to_walk_a_dog(base: str) -> str:
    """What a person does on the home page: English, the dog-walking tile, the form, the confirmation."""
    import re
    from urllib.parse import urlencode

    with httpx.Client(base_url=base, follow_redirects=True, headers={"Accept-Language": "en"}) as browser:
        home = browser.get("/")
        assert str(home.url) == f"{base}/en/" and 'href="/en/offer/dog-walking"' in home.text
        form = browser.get("/en/offer/dog-walking")
        token = re.search(r'name="submission" value="([^"]+)"', form.text).group(1)
        sent = browser.post("/en/offer/dog-walking", headers={"content-type": "application/x-www-form-urlencoded"},
                            content=urlencode({"tasks": "dog-walking", "postcode": "3000", "languages": "en",
                                               "name": "Run Test", "email": "run.test@example.org", "consent": "yes",
                                               "is_adult": "yes", "submission": token}))
        assert sent.status_code == 200 and "Thank you for your offer to help" in sent.text, sent.text[:2000]
        return re.search(r'class="reference">([^<]+)<', sent.text).group(1)


def smtp_banner(port: int) -> bytes:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            return sock.recv(200)
    except OSError:
        return b""


def test_run_brings_up_four_ready_services_and_ctrl_c_stops_every_process(infra, unique_name, tmp_path):
    ports = {name: free_port() for name in SERVICES}
    smtp = free_port()
    marker = f"helpt-run-test-{unique_name}"  # lets us find every child afterwards
    env = os.environ | {
        "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap_servers,
        "MONGODB_URL": infra.mongodb_url,
        "HELPT_TOPIC_PREFIX": f"{unique_name}.",
        "HELPT_STATE_DIR": str(tmp_path / "state"),
        "HELPT_RUN_TEST_MARKER": marker,
        "HELPT_INTAKE_SMTP_PORT": str(smtp),
        **{f"HELPT_{name.upper()}_HTTP_PORT": str(port) for name, port in ports.items()},
    }
    runner = subprocess.Popen(
        [sys.executable, "-m", "helpt_localstack", "run"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in runner.stdout], daemon=True).start()
    printed: list[str] = []
    try:
        # A person presses Ctrl-C after the runner says everything is up, not before.
        deadline = time.monotonic() + 120
        while not any("Ctrl-C stops everything" in line for line in printed):
            assert time.monotonic() < deadline and runner.poll() is None, "".join(printed)
            try:
                printed.append(lines.get(timeout=1))
            except queue.Empty:
                continue
        status = {name: readyz(port)[0] for name, port in ports.items()}
        assert all(code == 200 for code in status.values()), status
        assert smtp_banner(smtp).startswith(b"220 "), "intake should take mail for the help address"
        assert processes_mentioning(marker), "the services should be running now"
        reference = offer_to_walk_a_dog(f"http://127.0.0.1:{ports['intake']}")
        assert reference.startswith("V-"), reference

        runner.send_signal(signal.SIGINT)  # what Ctrl-C sends
        runner.wait(timeout=90)
        time.sleep(0.2)  # let the reader thread drain the last lines
        while not lines.empty():
            printed.append(lines.get())
        output = "".join(printed)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()

    assert runner.returncode == 0, output
    for name, port in ports.items():
        assert f"127.0.0.1:{port}" in output, f"the runner should print {name}'s URL"
        assert readyz(port)[0] == 0, f"{name} still answers after Ctrl-C"
    assert f"smtp://127.0.0.1:{smtp}" in output, "the runner should print where mail goes"
    assert smtp_banner(smtp) == b"", "the SMTP port still answers after Ctrl-C"
    assert processes_mentioning(marker) == []
    assert (tmp_path / "state" / "jwt.secret").exists(), "the stack's secrets live in its own state dir, not the developer's"
