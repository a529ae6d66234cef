"""Starting and stopping the real backends the live integration tests talk to."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_json(url: str, timeout: float = 10.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


def wait_until(check: Callable[[], Any], timeout: float, what: str, proc: subprocess.Popen[Any] | None = None,
               log: str | None = None) -> Any:
    """Call ``check`` until it returns something truthy (exceptions count as not yet); fail after ``timeout``
    seconds, or at once if ``proc`` exited, quoting the tail of ``log``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: process exited with {proc.returncode}\n{_tail(log)}")
        try:
            result = check()
            if result:
                return result
            last = result
        except (OSError, urllib.error.URLError, ValueError, KeyError) as exc:
            last = exc
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout} s (last: {last!r})\n{_tail(log)}")


def _tail(log: str | None) -> str:
    if not log:
        return ""
    try:
        with open(log, errors="replace") as f:
            return "".join(f.readlines()[-40:])
    except OSError:
        return ""


def stop(proc: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


def promql(base_url: str, expr: str) -> list[dict[str, Any]]:
    """An instant query; returns the result vector (raises on a query error)."""
    data = get_json(f"{base_url}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    assert data["status"] == "success", data
    return list(data["data"]["result"])
