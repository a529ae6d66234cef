"""An extra OTLP/HTTP worker process of the collector (see ``Collector._start_workers``).

    python -m llmobs.collector._worker FD DATA_DIR BODY_LIMIT MAX_PENDING MAX_UNINDEXED PARENT_PID

Serves the inherited listening socket with the same handler as the main process, appending through its own
store (the main process indexes). It exits when terminated or when its parent is gone.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from typing import Any

from .server import _Handler, _Server, ingest
from .store import Store


class _WorkerCollector:
    """What the HTTP handler needs from a collector: the store, the token, the host it answers to, the body
    limit and ingest()."""

    def __init__(self, data_dir: str, body_limit: int, max_pending: int, max_unindexed: int, host: str) -> None:
        self.store = Store(data_dir, max_pending_spans=max_pending, max_unindexed_spans=max_unindexed, index=False)
        self.token = os.environ.get("LLMOBS_COLLECTOR_TOKEN") or None
        self.host = host
        self.large_bodies = threading.Semaphore(1)
        self.body_limit = body_limit

    def ingest(self, signal_name: str, request: Any, raw: bytes | None) -> None:
        ingest(self.store, signal_name, request, raw)


def main(argv: list[str]) -> int:
    fd, data_dir, body_limit, max_pending, max_unindexed, parent = argv
    sock = socket.socket(fileno=int(fd))
    # Several processes wait on this socket: one that wakes up for a connection another took must not block
    # in accept() (it would never see its shutdown request).
    sock.setblocking(False)
    server = _Server(sock.getsockname(), _Handler, bind_and_activate=False)
    server.socket.close()
    server.socket = sock
    server.collector = _WorkerCollector(data_dir, int(body_limit), int(max_pending), int(max_unindexed),  # type: ignore[assignment]
                                        str(sock.getsockname()[0]))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    while not stop.wait(1.0):
        if os.getppid() != int(parent):  # the collector is gone
            break
    closer = threading.Thread(target=server.shutdown, daemon=True)
    closer.start()
    closer.join(3.0)
    server.collector.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
