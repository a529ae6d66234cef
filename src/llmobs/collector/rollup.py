"""Per-minute rollups of LLM calls: what the dashboard and the users/sessions pages read.

The indexer adds each batch of new LLM calls to three tables, one row per minute and key:

- ``llm_minutes`` (minute, provider, model, service, err, dur_b): calls, tokens, cost and busy time (the
  duration of calls that report output tokens) per 2 %-wide latency bucket, so latency percentiles, calls,
  errors, tokens per second and cost for any set of minutes come from summing rows;
- ``ttfc_minutes`` (minute, provider, model, service, err, ttfc_b): calls per time-to-first-chunk bucket;
- ``usage_minutes`` (kind, key, minute): per user (kind ``user``) and per session (``session``): calls,
  errors, tokens, cost, first and last call, and for sessions their user.

A page's query therefore reads one row per minute and key instead of one per call: at a million calls in
a burst that is thousands of rows, and at most as many rows as calls when calls are sparse. A time range
whose ends fall inside a minute takes those partial minutes from the ``spans`` table (its start-time
index), each span read as a rollup row (``AS_ROLLUP``) in the same query, so results are exact. Keys are
never NULL ('' stands for "none").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MINUTE_NS = 60_000_000_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS llm_minutes (
    minute INTEGER NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL, service TEXT NOT NULL,
    err INTEGER NOT NULL, dur_b INTEGER NOT NULL,
    calls INTEGER NOT NULL, input_tokens INTEGER, output_tokens INTEGER, cost_usd REAL, busy_s REAL,
    PRIMARY KEY (minute, provider, model, service, err, dur_b)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ttfc_minutes (
    minute INTEGER NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL, service TEXT NOT NULL,
    err INTEGER NOT NULL, ttfc_b INTEGER NOT NULL, calls INTEGER NOT NULL,
    PRIMARY KEY (minute, provider, model, service, err, ttfc_b)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS usage_minutes (
    kind TEXT NOT NULL, key TEXT NOT NULL, minute INTEGER NOT NULL, calls INTEGER NOT NULL,
    errors INTEGER NOT NULL, input_tokens INTEGER, output_tokens INTEGER, cost_usd REAL,
    first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL, user_id TEXT,
    PRIMARY KEY (kind, key, minute)
) WITHOUT ROWID;
"""
TABLES = ("llm_minutes", "ttfc_minutes", "usage_minutes")


def _plus(column: str) -> str:
    # SUM's rule for NULLs: NULL + x = x, and NULL only while every value was NULL
    return (f"{column} = CASE WHEN excluded.{column} IS NULL THEN {column} WHEN {column} IS NULL "
            f"THEN excluded.{column} ELSE {column} + excluded.{column} END")


UPSERT_LLM = (
    "INSERT INTO llm_minutes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (minute, provider, model, service, err, dur_b) DO UPDATE SET calls = calls + excluded.calls, "
    + ", ".join(_plus(c) for c in ("input_tokens", "output_tokens", "cost_usd", "busy_s"))
)
UPSERT_TTFC = (
    "INSERT INTO ttfc_minutes VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (minute, provider, model, service, err, ttfc_b) DO UPDATE SET calls = calls + excluded.calls"
)
UPSERT_USAGE = (
    "INSERT INTO usage_minutes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (kind, key, minute) DO UPDATE SET calls = calls + excluded.calls, "
    "errors = errors + excluded.errors, "
    + ", ".join(_plus(c) for c in ("input_tokens", "output_tokens", "cost_usd"))
    + ", first_ns = MIN(first_ns, excluded.first_ns), last_ns = MAX(last_ns, excluded.last_ns), "
    "user_id = coalesce(MAX(user_id, excluded.user_id), user_id, excluded.user_id)"
)


def _add(a: Any, b: Any) -> Any:
    return b if a is None else a if b is None else a + b


def add_calls(conn: Any, llm_rows: Iterable[tuple[Any, ...]]) -> None:
    """Add new LLM calls (the indexer's rows, ``otlp.LLM_COLUMNS``) to the rollups, inside the caller's
    transaction: summed per minute and key in memory first, so each key is written once per batch."""
    llm: dict[tuple[Any, ...], list[Any]] = {}
    ttfc: dict[tuple[Any, ...], int] = {}
    usage: dict[tuple[str, str, int], list[Any]] = {}
    for (model, provider, dur_b, start, _sid, _tid, _op, service, user, session, err, duration, ttfc_b, _ttfc,
         n_in, n_out, cost) in llm_rows:
        minute = start // MINUTE_NS
        service = service or ""
        busy = duration if n_out is not None else None
        key = (minute, provider, model, service, err, dur_b)
        row = llm.get(key)
        if row is None:
            llm[key] = [1, n_in, n_out, cost, busy]
        else:
            row[0] += 1
            row[1], row[2], row[3], row[4] = (_add(row[1], n_in), _add(row[2], n_out), _add(row[3], cost),
                                              _add(row[4], busy))
        if ttfc_b is not None:
            tkey = (minute, provider, model, service, err, ttfc_b)
            ttfc[tkey] = ttfc.get(tkey, 0) + 1
        for ukey in (("user", user or "", minute), ("session", session or "", minute)):
            u = usage.get(ukey)
            if u is None:
                usage[ukey] = [1, err, n_in, n_out, cost, start, start, user]
            else:
                u[0] += 1
                u[1] += err
                u[2], u[3], u[4] = _add(u[2], n_in), _add(u[3], n_out), _add(u[4], cost)
                u[5], u[6] = min(u[5], start), max(u[6], start)
                if user is not None and (u[7] is None or user > u[7]):
                    u[7] = user
    conn.executemany(UPSERT_LLM, [(*k, *v) for k, v in llm.items()])
    conn.executemany(UPSERT_TTFC, [(*k, n) for k, n in ttfc.items()])
    conn.executemany(UPSERT_USAGE, [(*k, *v) for k, v in usage.items()])


# Each LLM span of the spans table as one row of a rollup (calls = 1), with the rollup's column names: the
# partial minutes at a range's ends are read this way and summed with the stored rows in one SQL query.
_KEYS = "coalesce(provider, '') AS provider, coalesce(model, '') AS model, coalesce(service, '') AS service"
AS_ROLLUP = {
    "llm_minutes": f"start_ns / {MINUTE_NS} AS minute, {_KEYS}, (status_code = 2) AS err, dur_b, 1 AS calls, "
                   "input_tokens, output_tokens, cost_usd, "
                   "CASE WHEN output_tokens IS NOT NULL THEN duration_s END AS busy_s",
    "ttfc_minutes": f"start_ns / {MINUTE_NS} AS minute, {_KEYS}, (status_code = 2) AS err, ttfc_b, 1 AS calls",
    "usage_minutes": f"{{key}} AS key, start_ns / {MINUTE_NS} AS minute, 1 AS calls, (status_code = 2) AS errors, "
                     "input_tokens, output_tokens, cost_usd, start_ns AS first_ns, start_ns AS last_ns, user_id",
}
USAGE_KEYS = {"user": "coalesce(user_id, '')", "session": "coalesce(session_id, '')"}
STORED = {  # the same columns, in the same order, in the tables
    "llm_minutes": "minute, provider, model, service, err, dur_b, calls, input_tokens, output_tokens, cost_usd, "
                   "busy_s",
    "ttfc_minutes": "minute, provider, model, service, err, ttfc_b, calls",
    "usage_minutes": "key, minute, calls, errors, input_tokens, output_tokens, cost_usd, first_ns, last_ns, user_id",
}


def minute_span(since_ns: int | None, until_ns: int | None) -> tuple[int | None, int | None,
                                                                     list[tuple[int | None, int | None]]]:
    """The whole minutes [lo, hi) inside a time range and the partial pieces at its ends (as [start, end)
    nanosecond ranges, None for unbounded), to read from the spans table."""
    lo = None if since_ns is None else -(-since_ns // MINUTE_NS)  # ceil
    hi = None if until_ns is None else until_ns // MINUTE_NS
    if lo is not None and hi is not None and lo >= hi:  # inside one minute (or two partial ones)
        return lo, lo, [(since_ns, until_ns)]
    edges: list[tuple[int | None, int | None]] = []
    if since_ns is not None and since_ns % MINUTE_NS:
        edges.append((since_ns, lo * MINUTE_NS))  # type: ignore[operator]
    if until_ns is not None and until_ns % MINUTE_NS:
        edges.append((hi * MINUTE_NS, until_ns))  # type: ignore[operator]
    return lo, hi, edges
