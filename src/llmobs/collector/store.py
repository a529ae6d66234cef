"""The collector's embedded store: two SQLite databases (WAL mode) under the data directory.

``received.db`` holds every request as it arrived (protobuf bytes), appended by one writer thread per process
that groups the waiting requests into one transaction ("group commit"). A request is acknowledged once its
transaction has committed: from then on a crash (kill -9) cannot lose it. Appending one row per request keeps
acknowledgement cheap and independent of how many spans a request carries.

``llmobs.db`` is the index the queries read: one row per span with the report columns, and rollups of the LLM
calls by minute, hour and day for the dashboard and the users/sessions pages (``rollup.py``). An indexer
thread (in exactly one process: the one that holds ``indexer.lock``) turns received requests into rows, in
order, thousands of spans per transaction, and records how far it got in the same transaction, so after a
crash it resumes where it stopped. Queries first wait
until everything acknowledged before they started is indexed (``sync``), so a client never misses a span it was
told is stored. Rows are idempotent on (trace_id, span_id): a batch retried by an exporter is counted once,
in the spans and in the rollups. The index is derived data: when its layout changes (``_SCHEMA_VERSION``) it is
dropped and rebuilt from the received requests.

Why SQLite (measured on the 2-core VM; see docs/collector.md): it ships with Python, WAL lets readers run while
one writer commits (queries never block ingest), and separate files let appends and indexing commit without
waiting for each other. ``synchronous=NORMAL`` in WAL mode keeps committed transactions across a process crash;
only a power loss can drop the last ones.
"""

from __future__ import annotations

import logging
import os
import queue
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from . import rollup
from .otlp import COLUMNS, index_rows

logger = logging.getLogger("llmobs.collector")

_RECEIVED_SCHEMA = """
-- Every request as received (protobuf). AUTOINCREMENT: ids grow in commit order and are never reused, so the
-- indexer's high-water mark is exact.
CREATE TABLE IF NOT EXISTS payloads (
    id INTEGER PRIMARY KEY AUTOINCREMENT, signal TEXT NOT NULL, received_ns INTEGER NOT NULL,
    spans INTEGER NOT NULL, body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS payloads_received ON payloads (received_ns);
-- identity: made once, when this file is created. The index records the identity of the received.db it was
-- built from, and is rebuilt when it meets another (a recreated received.db starts its ids at 1 again).
CREATE TABLE IF NOT EXISTS received_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO received_meta (key, value) VALUES ('identity', 'r' || lower(hex(randomblob(16))));
"""
_INDEX_SCHEMA = """
CREATE TABLE IF NOT EXISTS spans (
    trace_id TEXT NOT NULL, span_id TEXT NOT NULL, parent_span_id TEXT, name TEXT, kind INTEGER,
    service TEXT, start_ns INTEGER, end_ns INTEGER, duration_s REAL, status_code INTEGER,
    status_message TEXT, operation TEXT, provider TEXT, model TEXT, response_model TEXT,
    input_tokens INTEGER, output_tokens INTEGER, cache_read_tokens INTEGER, cache_write_tokens INTEGER,
    reasoning_tokens INTEGER, cost_usd REAL, ttfc_s REAL, error_type TEXT, user_id TEXT, session_id TEXT,
    content TEXT, batch_id INTEGER, batch_index INTEGER,
    dur_b INTEGER, ttfc_b INTEGER  -- LLM calls: their latency buckets, as in the rollups (see rollup.py)
);
CREATE UNIQUE INDEX IF NOT EXISTS spans_id ON spans (trace_id, span_id);
CREATE INDEX IF NOT EXISTS spans_start ON spans (start_ns);
-- A user's or a session's spans by time, with their traces: the trace list filtered by either, and the traces
-- column of the users/sessions pages, read only these entries.
CREATE INDEX IF NOT EXISTS spans_user ON spans (user_id, start_ns, operation, trace_id) WHERE user_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS spans_session ON spans (session_id, start_ns, operation, trace_id)
    WHERE session_id IS NOT NULL;
-- indexed_upto: the last received payload id whose spans are in this index.
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER);
-- Received requests the indexer could not index (set aside so that the ones after them are): why, and when.
CREATE TABLE IF NOT EXISTS poison (payload_id INTEGER PRIMARY KEY, error TEXT NOT NULL, at_ns INTEGER NOT NULL);
"""
_INSERT = f"INSERT OR IGNORE INTO spans ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
_INDEXED_UPTO = "SELECT value FROM meta WHERE key = 'indexed_upto'"
_DUR_B = COLUMNS.index("dur_b")
_SCHEMA_VERSION = 2  # 2: rollups by minute, hour and day replace the llm_calls table; user and session indexes
_RETENTION = "__retention__"
_INDEX_BATCH_SPANS = 32768  # spans per index transaction: each commit rewrites the pages it touched, so
# bigger transactions touch each hot page once for more rows (8,192: ~50 µs per span at depth; 32,768: ~33)


_trim_lock = threading.Lock()
_malloc_trim: Any = None


def give_memory_back() -> None:
    """glibc's ``malloc_trim(0)``: return the free memory of the heap and its arenas to the system (a few ms;
    nothing elsewhere, where it does not exist)."""
    global _malloc_trim
    if not _trim_lock.acquire(blocking=False):
        return  # another thread is trimming
    try:
        if _malloc_trim is None:
            _malloc_trim = False
            try:
                import ctypes
                import ctypes.util

                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                _malloc_trim = libc.malloc_trim
            except (OSError, AttributeError):
                pass
        if _malloc_trim:
            _malloc_trim(0)
    finally:
        _trim_lock.release()


class Overloaded(Exception):
    """The write queue (or the backlog of spans waiting to be indexed) is full: retry later (503 + Retry-After)."""


class StorageUnavailable(Overloaded):
    """The store could not commit (a full disk, an I/O error): nothing was acknowledged; retry later (503)."""


# Errors that come from the data of one request (a value SQLite cannot hold, a sum that overflows): that
# request is set aside as a poison row. Any other database error (a full disk, an I/O error, a lock held too
# long) is taken as transient: the indexer backs off and tries the same requests again.
_DATA_ERRORS: tuple[type[BaseException], ...] = (
    OverflowError, ValueError, TypeError, sqlite3.IntegrityError, sqlite3.DataError, sqlite3.InterfaceError)


def _is_data_error(exc: BaseException) -> bool:
    return isinstance(exc, _DATA_ERRORS) or (
        isinstance(exc, sqlite3.OperationalError) and "overflow" in str(exc).lower())


_IDLE_TRIM_S = 2.0  # the indexer gives its memory back after this long without work
_WRITER_CACHE_KIB = 8192  # the writer only appends: a big page cache held blob pages it never reads again
_BACKOFF_S = (0.05, 5.0)  # the indexer's wait after a failure: doubling from the first to the second
_BEHIND_S = 5.0  # /api/health says "degraded" once an acknowledged request has waited this long for indexing
_CLAMP_LOG_LIMIT = 20  # clamped spans named in the log (each one is counted in /api/health)

class _Job:
    __slots__ = ("done", "error", "n", "payload", "signal", "spans")

    def __init__(self, payload: bytes, signal: str, spans: int, n: int) -> None:
        self.payload = payload
        self.signal = signal
        self.spans = spans
        self.n = n
        self.done = threading.Event()
        self.error: BaseException | None = None


def _drop_index(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        if not name.startswith("sqlite_"):
            conn.execute(f'DROP TABLE "{name}"')
    conn.execute("COMMIT")


def _prepare_index(conn: sqlite3.Connection, received_identity: str, received_upto: int) -> None:
    """Create the index tables, or drop and recreate them when they are of another layout or were built from
    another received.db: the indexer then rebuilds them from the received requests (the index holds nothing
    that is not in received.db)."""
    where = conn.execute("PRAGMA database_list").fetchone()[2]
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    version = identity = None
    upto = 0
    if "meta" in tables:
        meta = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('schema', 'received', 'indexed_upto')"))
        version, identity, upto = meta.get("schema"), meta.get("received"), int(meta.get("indexed_upto") or 0)
    if tables and version != _SCHEMA_VERSION:
        logger.warning("collector: the index in %s is of an older layout; rebuilding it from the received "
                       "requests", where)
        _drop_index(conn)
    elif tables and (identity != received_identity if identity is not None else upto > received_upto):
        logger.warning("collector: the index in %s was built from another received.db; rebuilding it from "
                       "this one", where)
        _drop_index(conn)
    conn.executescript(_INDEX_SCHEMA + rollup.SCHEMA)
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)", (_SCHEMA_VERSION,))
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('received', ?)", (received_identity,))


def _open_index(path: Path, received_identity: str, received_upto: int) -> None:
    """Prepare the index at ``path``; one that SQLite cannot read (truncated, a bad header, a damaged page
    found earlier: ``<path>.damaged``) is moved aside, with a warning, and a new one is built."""
    marker = path.with_name(path.name + ".damaged")
    for attempt in (1, 2):
        if marker.exists() or attempt == 2:
            aside = path.with_name(f"{path.name}.unreadable-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}")
            for suffix in ("", "-wal", "-shm"):
                part = path.with_name(path.name + suffix)
                if part.exists():
                    part.replace(aside.with_name(aside.name + suffix))
            marker.unlink(missing_ok=True)
            logger.warning("collector: the index %s could not be read; moved aside to %s and rebuilt from the "
                           "received requests", path, aside)
        try:
            conn = _connect(path)
            try:
                _prepare_index(conn, received_identity, received_upto)
            finally:
                conn.close()
            return
        except sqlite3.OperationalError:  # locked or busy (another process writes): not a damaged file
            raise
        except sqlite3.DatabaseError:  # "file is not a database", "database disk image is malformed"
            if attempt == 2:
                raise


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute("PRAGMA cache_size=-65536")  # 64 MiB
    # Automatic checkpoints (copying the WAL into the database, with an fsync) ran inside commits, ~25 µs per
    # span of ingest. They run on a background thread instead (PASSIVE: never blocking writers or readers).
    conn.execute("PRAGMA wal_autocheckpoint=0")
    return conn


class Store:
    """Received requests in ``<data_dir>/received.db``, the span index in ``<data_dir>/llmobs.db``.

    ``max_pending_spans`` bounds what may wait in memory for the writer and ``max_unindexed_spans`` what may
    wait on disk for the indexer: past either, ``write`` raises ``Overloaded`` at once, so a flood gets
    back-pressure instead of growing without bound. ``retention_s`` (None = keep everything) drops spans that
    started longer ago, and requests received longer ago, checked once a minute. ``index=False`` (the extra
    HTTP worker processes) only appends; the process holding the data directory's ``indexer.lock`` indexes.
    """

    def __init__(self, data_dir: str | os.PathLike[str], *, retention_s: float | None = None,
                 max_pending_spans: int = 200_000, max_unindexed_spans: int = 2_000_000,
                 commit_timeout_s: float = 30.0, index: bool = True) -> None:
        self.dir = Path(data_dir)
        if self.dir.exists() and not self.dir.is_dir():
            from .._errors import ConfigError

            raise ConfigError("data directory", str(data_dir), "a directory (this is a file)")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "llmobs.db"
        self.received_path = self.dir / "received.db"
        self.retention_s = retention_s
        self.max_pending_spans = max_pending_spans
        self.max_unindexed_spans = max_unindexed_spans
        self.commit_timeout_s = commit_timeout_s
        self.index_errors = 0  # received requests set aside as poison rows since start
        self.clamped_spans = 0  # spans indexed with a value clamped (otlp.INT64_MAX, otlp.TOKENS_MAX)
        self.index_failure: str | None = None  # the indexer's last error while it is failing, else None
        self.write_failure: str | None = None  # the writer's last error while commits fail, else None
        self.index_damage: str | None = None  # a query met a damaged index page (see damaged())
        self._pending = 0
        self._pending_lock = threading.Lock()
        self._backlog = 0
        self._backlog_checked = 0.0
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._local = threading.local()
        self._closed = False
        self._closing = threading.Event()
        self._wake = threading.Event()  # set after each commit: the indexer has work
        self._indexed = threading.Condition()
        self._indexed_upto = 0
        self._writer_conn = _connect(self.received_path)
        self._writer_conn.execute(f"PRAGMA cache_size=-{_WRITER_CACHE_KIB}")
        self._writer_conn.executescript(_RECEIVED_SCHEMA)
        (identity,) = self._writer_conn.execute("SELECT value FROM received_meta WHERE key = 'identity'").fetchone()
        (received_upto,) = self._writer_conn.execute("SELECT coalesce(max(id), 0) FROM payloads").fetchone()
        _open_index(self.path, identity, received_upto)
        self._lock_file: Any = None
        self._threads = [threading.Thread(target=self._write_loop, name="llmobs-store-writer", daemon=True)]
        if index and self._take_indexer_lock():
            self._threads.append(threading.Thread(target=self._index_loop, name="llmobs-store-indexer",
                                                  daemon=True))
            self._threads.append(threading.Thread(target=self._checkpoint_loop, name="llmobs-store-checkpoint",
                                                  daemon=True))
        for thread in self._threads:
            thread.start()

    @property
    def indexing(self) -> bool:
        """Whether this process indexes (it holds the data directory's indexer lock)."""
        return self._lock_file is not None

    def _take_indexer_lock(self) -> bool:
        try:
            import fcntl
        except ImportError:  # Windows: one collector per data directory is the user's job
            self._lock_file = True
            return True
        f = open(self.dir / "indexer.lock", "a+b")  # noqa: SIM115 - held for the store's lifetime
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            return False
        self._lock_file = f
        return True

    # --- connections --------------------------------------------------------------------------------------
    def reader(self) -> sqlite3.Connection:
        """A read-only connection for the calling thread: the index, with the received requests attached as
        ``received`` (WAL: reads see the last commit and never block a writer)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path)
            conn.execute("ATTACH DATABASE ? AS received", (str(self.received_path),))
            conn.execute("PRAGMA query_only=ON")
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    # --- writing -------------------------------------------------------------------------------------------
    def write(self, payload: bytes, *, signal: str, spans: int = 0) -> None:
        """Store one received request (``spans`` spans of ``signal``) and return once committed.

        Raises ``Overloaded`` when the queue or the index backlog is full, ``TimeoutError`` if the commit did
        not happen in time, or the database error that prevented it."""
        if self._closed:
            raise Overloaded("the store is shutting down")
        n = max(spans, 1)
        if spans and self._backlogged():
            raise Overloaded(f"{self._backlog} spans are waiting to be indexed")
        with self._pending_lock:
            if self._pending + n > self.max_pending_spans and self._pending > 0:
                raise Overloaded(f"{self._pending} spans are waiting to be written")
            self._pending += n
        job = _Job(payload, signal, spans, n)
        self._queue.put(job)
        if not job.done.wait(self.commit_timeout_s):
            raise TimeoutError("the store did not commit in time")
        if job.error is not None:
            raise job.error

    def _backlogged(self) -> bool:
        now = time.monotonic()
        if now - self._backlog_checked > 0.25:  # a range sum over the unindexed requests, 4 times a second
            self._backlog_checked = now
            try:
                self._backlog = self.backlog()
            except sqlite3.Error:
                pass
        return self._backlog > self.max_unindexed_spans

    def backlog(self) -> int:
        """Spans received but not yet indexed."""
        return int(self.reader().execute(
            f"SELECT coalesce(sum(spans), 0) FROM received.payloads WHERE id > coalesce(({_INDEXED_UPTO}), 0)"
        ).fetchone()[0])

    def damaged(self, exc: BaseException) -> None:
        """A query met a damaged index page: say so in /api/health and rebuild the index at the next start
        (the received requests are intact: they are another file)."""
        if self.index_damage is None:
            logger.error("collector: the index %s is damaged (%s); it is rebuilt from the received requests at "
                         "the next start", self.path, exc)
            self.path.with_name(self.path.name + ".damaged").touch()
        self.index_damage = str(exc)

    def health(self) -> dict[str, Any]:
        """What ``/api/health`` answers: "ok", or "degraded" with the reasons (the indexer failing or behind,
        the store unable to write); the counts of spans stored and waiting, of received requests set aside
        as poison rows, and of spans indexed with a clamped value since start. Waits at most a second for the
        indexer (so the counts include what was acknowledged just before), never longer."""
        self.sync(timeout=1.0)
        reader = self.reader()
        found = reader.execute(_INDEXED_UPTO).fetchone()
        upto = int(found[0]) if found else 0
        oldest = reader.execute("SELECT received_ns FROM received.payloads WHERE id > ? ORDER BY id LIMIT 1",
                                (upto,)).fetchone()
        waiting = self.backlog() if oldest else 0
        reasons = []
        if self.write_failure:
            reasons.append(f"the store cannot write: {self.write_failure}")
        if self.index_failure:
            reasons.append(f"indexing is failing: {self.index_failure}")
        if self.index_damage:
            reasons.append(f"the index is damaged ({self.index_damage}): restart the collector to rebuild it")
        if oldest:
            age = (time.time_ns() - oldest[0]) / 1e9
            if age > _BEHIND_S:
                reasons.append(f"indexing is behind: {waiting} spans acknowledged up to {age:.0f} s ago are "
                               "not queryable yet")
        return {
            "status": "degraded" if reasons else "ok", "reasons": reasons,
            "spans": self.count(sync=False), "pending": self.pending, "unindexed": waiting,
            "poison_requests": int(reader.execute("SELECT count(*) FROM poison").fetchone()[0]),
            "clamped_spans": self.clamped_spans,
        }

    def _write_loop(self) -> None:
        conn = self._writer_conn
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
            error: BaseException | None = None
            try:
                now = time.time_ns()
                cutoff = self._payload_cutoff() if any(j.signal == _RETENTION for j in jobs) else None
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(
                    "INSERT INTO payloads (signal, received_ns, spans, body) VALUES (?, ?, ?, ?)",
                    [(j.signal, now, j.spans, j.payload) for j in jobs if j.signal != _RETENTION],
                )
                if cutoff is not None:
                    conn.execute("DELETE FROM payloads WHERE received_ns < ? AND id <= ?", cutoff)
                conn.execute("COMMIT")
            except BaseException as exc:  # the requests get an error; nothing was acknowledged
                error = exc
                if isinstance(exc, sqlite3.Error):  # a full disk, an I/O error: the client should retry
                    error = StorageUnavailable(f"the store cannot write: {exc}")
                    if self.write_failure is None:
                        logger.error("collector: cannot write to %s: %s (answering 503 until it can)",
                                     self.received_path, exc)
                    self.write_failure = str(exc)
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            else:
                if self.write_failure is not None:
                    logger.warning("collector: writing to %s works again", self.received_path)
                self.write_failure = None
            with self._pending_lock:
                self._pending -= sum(j.n for j in jobs)
            self._wake.set()
            for j in jobs:
                j.error = error
                j.done.set()

    def _payload_cutoff(self) -> tuple[int, int] | None:
        """(received before, id at most) for requests past the retention that are already indexed."""
        if self.retention_s is None:
            return None
        found = self.reader().execute(_INDEXED_UPTO).fetchone()
        return time.time_ns() - int(self.retention_s * 1e9), int(found[0]) if found else 0

    # --- indexing ------------------------------------------------------------------------------------------
    def _index_loop(self) -> None:
        conn = _connect(self.path)
        # The index's B-trees take random inserts (span ids); past a few hundred thousand spans a 64 MiB page
        # cache made each insert a cache miss (50 -> 60 µs per span at a million); 256 MiB kept it at ~35 µs.
        conn.execute("PRAGMA cache_size=-262144")
        source = _connect(self.received_path)
        source.execute("PRAGMA query_only=ON")
        found = conn.execute(_INDEXED_UPTO).fetchone()
        upto = int(found[0]) if found else 0
        self._set_indexed(upto)
        last_retention = time.monotonic()
        backoff = _BACKOFF_S[0]
        indexed_since_trim, last_indexed = False, 0.0
        try:
            while not self._closed:
                try:
                    done = self._index_some(conn, source, upto)
                except Exception as exc:  # transient (see _is_data_error): wait, then the same requests again
                    if self.index_failure is None:
                        logger.error("collector: indexing stopped at received request %d: %s (retrying)",
                                     upto + 1, exc)
                    self.index_failure = f"{type(exc).__name__}: {exc}"
                    self._closing.wait(backoff)
                    backoff = min(backoff * 2, _BACKOFF_S[1])
                    continue
                if self.index_failure is not None:
                    logger.warning("collector: indexing resumed")
                    self.index_failure = None
                backoff = _BACKOFF_S[0]
                if done == upto:
                    if indexed_since_trim and time.monotonic() - last_indexed > _IDLE_TRIM_S:
                        # Idle a while: the page cache (up to 256 MiB) and what the batches' rows took go back
                        # to the system; a new burst reads its pages from the OS's file cache again.
                        indexed_since_trim = False
                        conn.execute("PRAGMA shrink_memory")
                        give_memory_back()
                    if self.retention_s is not None and time.monotonic() - last_retention > 60:
                        last_retention = time.monotonic()
                        self.apply_retention(wait=False)
                    self._wake.wait(0.05)  # woken by this process's commits; other processes' within 50 ms
                    self._wake.clear()
                    continue
                upto = done
                indexed_since_trim, last_indexed = True, time.monotonic()
                self._set_indexed(upto)
        finally:
            conn.close()
            source.close()

    def _index_some(self, conn: sqlite3.Connection, source: sqlite3.Connection, upto: int) -> int:
        """Index the next received requests (up to ~32k spans) in one transaction; the new high-water mark.

        When that transaction fails on the data of one request, the requests are indexed one by one instead,
        and the one that fails alone is set aside as a poison row (counted, logged, skipped), so one bad value
        never stops the requests after it. Any other failure is raised: the caller backs off and retries."""
        batch: list[tuple[int, list[Any] | BaseException]] = []
        n = 0
        last = upto
        clamped: list[str] = []
        cursor = source.execute("SELECT id, signal, body FROM payloads WHERE id > ? ORDER BY id LIMIT 256", (upto,))
        try:
            for payload_id, signal, body in cursor:
                last = payload_id
                if signal == "traces":
                    try:
                        span_rows = index_rows(body, payload_id, clamped)
                    except Exception as exc:  # validated at ingest, so a bug: set it aside, never stall
                        batch.append((payload_id, exc))
                        continue
                    batch.append((payload_id, span_rows))
                    n += len(span_rows)
                    if n >= _INDEX_BATCH_SPANS:
                        break
        finally:
            cursor.close()
        if last == upto:
            return upto
        try:
            self._commit(conn, [row for _pid, rows in batch if isinstance(rows, list) for row in rows], last,
                         [(pid, exc) for pid, exc in batch if isinstance(exc, BaseException)])
        except Exception as exc:
            if not _is_data_error(exc):
                raise
            self._index_one_by_one(conn, batch, last)
        self._note_clamped(clamped)
        return last

    def _index_one_by_one(self, conn: sqlite3.Connection, batch: list[tuple[int, list[Any] | BaseException]],
                          last: int) -> None:
        for i, (payload_id, rows) in enumerate(batch):
            upto = last if i == len(batch) - 1 else payload_id  # past the other signals' requests too
            if isinstance(rows, BaseException):
                self._commit(conn, [], upto, [(payload_id, rows)])
                continue
            try:
                self._commit(conn, rows, upto, [])
            except Exception as exc:
                if not _is_data_error(exc):
                    raise
                self._commit(conn, [], upto, [(payload_id, exc)])

    def _commit(self, conn: sqlite3.Connection, rows: list[Any], upto: int,
                poison: list[tuple[int, BaseException]]) -> None:
        """One index transaction: ``rows``, their rollups, the requests set aside, and the high-water mark."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            before = conn.execute("SELECT coalesce(max(rowid), 0) FROM spans").fetchone()[0]
            conn.executemany(_INSERT, rows)
            if any(row[_DUR_B] is not None for row in rows):  # LLM calls among them
                rollup.add_spans(conn, before)  # the LLM spans this batch stored (not retried ones)
            now = time.time_ns()
            for payload_id, exc in poison:
                conn.execute("INSERT OR REPLACE INTO poison (payload_id, error, at_ns) VALUES (?, ?, ?)",
                             (payload_id, f"{type(exc).__name__}: {exc}"[:1000], now))
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('indexed_upto', ?)", (upto,))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # a failed COMMIT (a full disk) may have rolled back already
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            raise
        for payload_id, exc in poison:
            self.index_errors += 1
            logger.error("collector: received request %d cannot be indexed and is set aside (its spans stay "
                         "in received.db, not queryable): %s: %s", payload_id, type(exc).__name__, exc)

    def _note_clamped(self, clamped: list[str]) -> None:
        if not clamped:
            return
        for where in clamped[:max(0, _CLAMP_LOG_LIMIT - self.clamped_spans)]:
            logger.warning("collector: span %s out of range: clamped in the index (the received request keeps "
                           "the original)", where)
        self.clamped_spans += len(clamped)

    def _set_indexed(self, upto: int) -> None:
        with self._indexed:
            self._indexed_upto = upto
            self._indexed.notify_all()

    def sync(self, timeout: float = 10.0) -> bool:
        """Wait until every request committed before this call is indexed, so a query sees every span that was
        acknowledged before it started. False if that did not happen within ``timeout``, and at once while the
        indexer is failing (waiting would not help; /api/health says why)."""
        reader = self.reader()
        target = reader.execute("SELECT coalesce(max(id), 0) FROM received.payloads").fetchone()[0]
        deadline = time.monotonic() + timeout
        while True:
            if self.indexing:
                upto = self._indexed_upto
            else:
                found = reader.execute(_INDEXED_UPTO).fetchone()
                upto = int(found[0]) if found else 0
            if upto >= target:
                return True
            if self.index_failure is not None:
                return False
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if self.indexing:
                with self._indexed:
                    if self._indexed_upto < target:
                        self._indexed.wait(min(left, 0.1))
            else:
                time.sleep(min(left, 0.005))

    def _checkpoint_loop(self) -> None:
        conns = [sqlite3.connect(p, check_same_thread=False, isolation_level=None, timeout=30.0)
                 for p in (self.received_path, self.path)]
        try:
            while not self._closing.wait(1.0):
                for conn in conns:
                    try:
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    except sqlite3.Error:
                        pass
        finally:
            for conn in conns:
                conn.close()

    def apply_retention(self, wait: bool = True) -> None:
        """Drop spans that started, and requests that arrived, before the retention (also done once a minute
        by the indexer). Requests are dropped only once indexed."""
        if self.retention_s is None:
            return
        cutoff = (time.time_ns() - int(self.retention_s * 1e9)) // rollup.MINUTE_NS * rollup.MINUTE_NS
        if wait:
            self.sync()
        conn = _connect(self.path)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("DELETE FROM spans WHERE start_ns < ?", (cutoff,))
            # Whole minutes, so the rollups lose exactly what the spans lose: buckets that began before the
            # cutoff go (an hour or a day holding it too), and queries then read what follows the cutoff
            # from finer buckets (rollup.split's retained_from).
            minute = cutoff // rollup.MINUTE_NS
            for table in rollup.TABLES:
                kinds = ("user", "session") if table == "usage_rollup" else (None,)
                for kind, level in ((k, lv) for k in kinds for lv in rollup.LEVELS):
                    where = "kind = ? AND level = ?" if kind else "level = ?"
                    conn.execute(f"DELETE FROM {table} WHERE {where} AND minute < ?",
                                 (*((kind,) if kind else ()), level, minute))
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('retained_from', ?)", (minute,))
            conn.execute("COMMIT")
        except sqlite3.Error:
            logger.warning("collector: could not apply the retention to the index", exc_info=True)
        finally:
            conn.close()
        job = _Job(b"", _RETENTION, 0, 1)
        with self._pending_lock:
            self._pending += 1
        self._queue.put(job)
        if wait:
            job.done.wait(self.commit_timeout_s)

    @property
    def pending(self) -> int:
        return self._pending

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._closing.set()
        self._queue.put(None)
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=10)
        try:
            self._writer_conn.close()
        except sqlite3.Error:
            pass
        if self._lock_file is not None and self._lock_file is not True:
            self._lock_file.close()
        self._lock_file = None

    # --- reading -------------------------------------------------------------------------------------------
    def count(self, sync: bool = True) -> int:
        """Spans stored (after ``sync``: every span acknowledged so far)."""
        if sync:
            self.sync()
        return int(self.reader().execute("SELECT COUNT(*) FROM spans").fetchone()[0])
