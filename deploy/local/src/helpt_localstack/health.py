"""Waiting for a server to really work, with a deadline and the log's tail on failure."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from helpt_localstack.errors import StackError
from helpt_localstack.procs import Managed

T = TypeVar("T")


def in_fresh_thread(fn: Callable[[], T]) -> T:
    # The Kafka check runs its own event loop; a worker thread keeps that legal even when
    # start() is called from code that already runs inside an event loop.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="helpt-localstack") as pool:
        return pool.submit(fn).result()


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def wait_healthy(
    item: Managed, what: str, deadline_s: float, port: int, check: Callable[[float], None]
) -> None:
    """Poll `check` until it passes; raise with the log tail if the process dies or time is up."""
    deadline = time.monotonic() + deadline_s
    last_error = "its port never accepted a connection"
    while True:
        code = item.exit_code()
        if code is not None:
            raise StackError(
                f"{what} exited with code {code} before it was ready. "
                f"Last lines of {item.log_file}:\n{item.tail()}"
            )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise StackError(
                f"{what} was not healthy within {deadline_s:.0f} s ({last_error}). "
                f"Last lines of {item.log_file}:\n{item.tail()}"
            )
        # A plain connect first: the client libraries log loudly while the port is closed.
        if _port_open(port):
            try:
                check(max(1.0, min(15.0, remaining)))
                return
            except StackError as exc:
                last_error = str(exc)
        time.sleep(0.3)
