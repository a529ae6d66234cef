"""The collector's embedded store: one SQLite database file (WAL mode) under the data directory.

Why SQLite (measured on the 2-core VM; see docs/collector.md): it ships with Python (nothing to install), a
WAL database lets readers run while one writer commits (queries never block ingest), inserts of 512-span
batches in one transaction run well above the ingest gate, and a trace fetch is an index lookup. Aggregates
such as a per-model p95 use window functions over an index on (operation, model, duration), so they stay
within the report budget at a million spans without a second engine.

Writes go through one writer thread that groups the batches waiting in its queue into one transaction
("group commit"); each HTTP/gRPC request is acknowledged only after the transaction holding its spans has
committed. Inserts are idempotent on (trace_id, span_id): a batch retried by an exporter is stored once.
``synchronous=NORMAL`` in WAL mode keeps committed transactions across a process crash (kill -9); only a
power loss can drop the last ones.
"""

from __future__ import annotations

import os
import queue
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .otlp import COLUMNS, LLM_COLUMNS, llm_rows

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spans (
    trace_id TEXT NOT NULL, span_id TEXT NOT NULL, parent_span_id TEXT, name TEXT, kind INTEGER,
    service TEXT, start_ns INTEGER, end_ns INTEGER, duration_s REAL, status_code INTEGER,
    status_message TEXT, operation TEXT, provider TEXT, model TEXT, response_model TEXT,
    input_tokens INTEGER, output_tokens INTEGER, cache_read_tokens INTEGER, cache_write_tokens INTEGER,
    reasoning_tokens INTEGER, cost_usd REAL, ttfc_s REAL, error_type TEXT, user_id TEXT, session_id TEXT,
    content TEXT, resource TEXT, batch_id INTEGER, batch_index INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS spans_id ON spans (trace_id, span_id);
CREATE INDEX IF NOT EXISTS spans_start ON spans (start_ns);
DROP INDEX IF EXISTS spans_llm;
-- LLM calls again, narrow and clustered by (model, provider, duration bucket): the per-model report reads
-- them in key order, so grouping needs no sort (see queries.report).
CREATE TABLE IF NOT EXISTS llm_calls (
    model TEXT NOT NULL, provider TEXT NOT NULL, dur_b INTEGER NOT NULL, trace_id TEXT NOT NULL,
    span_id TEXT NOT NULL, start_ns INTEGER, operation TEXT, service TEXT, user_id TEXT, session_id TEXT,
    err INTEGER, duration_s REAL, ttfc_b INTEGER, ttfc_s REAL, input_tokens INTEGER, output_tokens INTEGER,
    cost_usd REAL,
    PRIMARY KEY (model, provider, dur_b, trace_id, span_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS llm_calls_ttfc ON llm_calls (model, provider, ttfc_b, start_ns, err)
    WHERE ttfc_b IS NOT NULL;
-- Every request as received (protobuf): traces keep their spans' full detail here (attributes, events,
-- links), referenced by spans.batch_id; metrics and logs are kept as they came.
CREATE TABLE IF NOT EXISTS payloads (
    id INTEGER PRIMARY KEY, signal TEXT NOT NULL, received_ns INTEGER NOT NULL, body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS payloads_received ON payloads (received_ns);
"""
_INSERT = f"INSERT OR IGNORE INTO spans ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
_INSERT_LLM = f"INSERT OR IGNORE INTO llm_calls ({', '.join(LLM_COLUMNS)}) VALUES ({', '.join('?' * len(LLM_COLUMNS))})"


_RETENTION = "__retention__"


class Overloaded(Exception):
    """The write queue is full: the client should retry later (429/503 with Retry-After)."""


def new_batch_id() -> int:
    """A random positive 63-bit id for a stored request (unique across worker processes)."""
    return secrets.randbits(63) or 1


class _Job:
    __slots__ = ("batch_id", "done", "error", "n", "payload", "rows", "signal")

    def __init__(self, rows: Any, signal: str | None, payload: bytes | None, batch_id: int | None, n: int) -> None:
        self.batch_id = batch_id
        self.n = n
        self.rows = rows
        self.signal = signal
        self.payload = payload
        self.done = threading.Event()
        self.error: BaseException | None = None


class Store:
    """Spans (and raw metric/log payloads) in ``<data_dir>/llmobs.db``.

    ``max_pending_spans`` bounds what may wait for the writer: past it, ``write`` raises ``Overloaded``
    at once, so memory stays bounded under overload. ``retention_s`` (None = keep everything) drops spans
    that started longer ago, checked once a minute by the writer.
    """

    def __init__(self, data_dir: str | os.PathLike[str], *, retention_s: float | None = None,
                 max_pending_spans: int = 200_000, commit_timeout_s: float = 30.0) -> None:
        self.path = Path(data_dir) / "llmobs.db"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.retention_s = retention_s
        self.max_pending_spans = max_pending_spans
        self.commit_timeout_s = commit_timeout_s
        self._pending = 0
        self._pending_lock = threading.Lock()
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._local = threading.local()
        self._writer_conn = self._connect()
        self._writer_conn.executescript(_SCHEMA)
        # An automatic checkpoint (copying the WAL into the database, with an fsync) ran inside every few
        # commits: ~25 µs per span of ingest. The writer no longer checkpoints; a background thread does,
        # PASSIVE (never blocking the writer or the readers), once a second.
        self._writer_conn.execute("PRAGMA wal_autocheckpoint=0")
        self._checkpointer = threading.Thread(target=self._checkpoint_loop, name="llmobs-store-checkpoint",
                                              daemon=True)
        self._writer = threading.Thread(target=self._run, name="llmobs-store-writer", daemon=True)
        self._closed = False
        self._writer.start()
        self._checkpointer.start()

    # --- connections --------------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA cache_size=-65536")  # 64 MiB
        return conn

    def reader(self) -> sqlite3.Connection:
        """A connection for the calling thread (WAL: reads see the last commit and never block the writer)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only=ON")
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    # --- writing -------------------------------------------------------------------------------------------
    def write(self, rows: Sequence[tuple[Any, ...]] | Callable[[], Sequence[tuple[Any, ...]]], *,
              signal: str | None = None, payload: bytes | None = None, batch_id: int | None = None,
              count: int | None = None) -> None:
        """Store ``rows`` (and a raw ``payload`` of another signal) and return once committed.

        Raises ``Overloaded`` when the queue is full, ``TimeoutError`` if the commit did not happen in time,
        or the database error that prevented it."""
        if self._closed:
            raise Overloaded("the store is shutting down")
        n = max(count if count is not None else len(rows), 1)  # type: ignore[arg-type]
        with self._pending_lock:
            if self._pending + n > self.max_pending_spans and self._pending > 0:
                raise Overloaded(f"{self._pending} spans are waiting to be written")
            self._pending += n
        job = _Job(rows, signal, payload, batch_id, n)
        self._queue.put(job)
        if not job.done.wait(self.commit_timeout_s):
            raise TimeoutError("the store did not commit in time")
        if job.error is not None:
            raise job.error

    def _run(self) -> None:
        conn = self._writer_conn
        last_retention = 0.0
        while True:
            job = self._queue.get()
            if job is None:
                return
            jobs = [job]
            while len(jobs) < 256:  # group commit: everything already waiting goes into one transaction
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                jobs.append(more)
            # Rows given as a function are built here, on the writer: one thread doing decode and insert in
            # turn beats handler threads and the writer passing the interpreter lock back and forth.
            ready = []
            for j in jobs:
                if callable(j.rows):
                    try:
                        j.rows = j.rows()
                    except Exception as exc:  # that request is malformed: it alone fails
                        j.error = exc
                        j.rows = ()
                        j.payload = None
                        continue
                ready.append(j)
            error: BaseException | None = None
            try:
                conn.execute("BEGIN IMMEDIATE")
                now = time.time_ns()
                for j in ready:
                    if j.signal == _RETENTION:
                        self._apply_retention(conn)
                    if j.rows:
                        conn.executemany(_INSERT, j.rows)
                        conn.executemany(_INSERT_LLM, llm_rows(j.rows))
                    if j.payload is not None:
                        conn.execute("INSERT OR IGNORE INTO payloads (id, signal, received_ns, body) "
                                     "VALUES (?, ?, ?, ?)", (j.batch_id, j.signal, now, j.payload))
                conn.execute("COMMIT")
            except BaseException as exc:  # the requests get an error; nothing was acknowledged
                error = exc
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            with self._pending_lock:
                self._pending -= sum(j.n for j in jobs)
            for j in ready:
                j.error = error
            for j in jobs:
                j.done.set()
            if self.retention_s is not None and time.monotonic() - last_retention > 60:
                last_retention = time.monotonic()
                conn.execute("BEGIN IMMEDIATE")
                self._apply_retention(conn)
                conn.execute("COMMIT")

    def _checkpoint_loop(self) -> None:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30.0)
        try:
            while not self._closed:
                time.sleep(1.0)
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error:
                    pass
        finally:
            conn.close()

    def _apply_retention(self, conn: sqlite3.Connection) -> None:
        if self.retention_s is None:
            return
        cutoff = time.time_ns() - int(self.retention_s * 1e9)
        try:
            conn.execute("DELETE FROM spans WHERE start_ns < ?", (cutoff,))
            conn.execute("DELETE FROM llm_calls WHERE start_ns < ?", (cutoff,))
            conn.execute("DELETE FROM payloads WHERE received_ns < ?", (cutoff,))
        except sqlite3.Error:
            pass

    def apply_retention(self) -> None:
        """Drop what is past the retention now, on the writer (which also does this once a minute)."""
        self.write([], signal=_RETENTION)

    @property
    def pending(self) -> int:
        return self._pending

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._writer.join(timeout=10)
        try:
            self._writer_conn.close()
        except sqlite3.Error:
            pass

    # --- reading -------------------------------------------------------------------------------------------
    def count(self) -> int:
        return int(self.reader().execute("SELECT COUNT(*) FROM spans").fetchone()[0])
