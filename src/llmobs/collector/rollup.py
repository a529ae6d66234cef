"""Rollups of LLM calls by minute, hour and day: what the dashboard and the users/sessions pages read.

The indexer adds each batch of new LLM calls to three tables, one row per time bucket and key, at three
levels (``level`` = the bucket's size in minutes: 1, 60, 1440; ``minute`` = its first minute since the epoch):

- ``llm_rollup`` (provider, model, service, err, dur_b): calls, tokens, cost and busy time (the duration of
  calls that report output tokens) per 2 %-wide latency bucket, so latency percentiles, calls, errors,
  tokens per second and cost for any time range come from summing rows;
- ``ttfc_rollup`` (provider, model, service, err, ttfc_b): calls per time-to-first-chunk bucket;
- ``usage_rollup`` (kind, key): per user (kind ``user``) and per session (``session``): calls, errors,
  tokens, cost, first and last call, and for sessions their user.

A query splits its time range into whole days, then whole hours, then whole minutes at the ends, and the
partial minutes at the very ends, which it reads from the ``spans`` table (start-time index), each span as a
rollup row (``AS_ROLLUP``), all summed in one SQL query: results are exact for any range, and a week of
calls costs ~7 day rows per key plus at most two days' worth of hour and minute rows, however many calls
there were. Keys are never NULL ('' stands for "none"). Buckets are aligned to UTC.
"""

from __future__ import annotations

from typing import Any

from .otlp import LLM_OPERATIONS

MINUTE_NS = 60_000_000_000

LEVELS = (1440, 60, 1)  # bucket sizes in minutes, coarsest first

SCHEMA = """
CREATE TABLE IF NOT EXISTS llm_rollup (
    level INTEGER NOT NULL, minute INTEGER NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL,
    service TEXT NOT NULL, err INTEGER NOT NULL, dur_b INTEGER NOT NULL,
    calls INTEGER NOT NULL, input_tokens INTEGER, output_tokens INTEGER, cost_usd REAL, busy_s REAL,
    PRIMARY KEY (level, minute, provider, model, service, err, dur_b)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ttfc_rollup (
    level INTEGER NOT NULL, minute INTEGER NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL,
    service TEXT NOT NULL, err INTEGER NOT NULL, ttfc_b INTEGER NOT NULL, calls INTEGER NOT NULL,
    PRIMARY KEY (level, minute, provider, model, service, err, ttfc_b)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS usage_rollup (
    kind TEXT NOT NULL, level INTEGER NOT NULL, minute INTEGER NOT NULL, key TEXT NOT NULL,
    calls INTEGER NOT NULL, errors INTEGER NOT NULL, input_tokens INTEGER, output_tokens INTEGER, cost_usd REAL,
    first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL, user_id TEXT,
    PRIMARY KEY (kind, level, minute, key)
) WITHOUT ROWID;
"""
TABLES = ("llm_rollup", "ttfc_rollup", "usage_rollup")


# Each LLM span of the spans table as one row of a rollup (calls = 1), with the rollup's column names: the
# partial minutes at a range's ends are read this way and summed with the stored rows in one SQL query.
_KEYS = "coalesce(provider, '') AS provider, coalesce(model, '') AS model, coalesce(service, '') AS service"
AS_ROLLUP = {
    "llm_rollup": f"start_ns / {MINUTE_NS} AS minute, {_KEYS}, (status_code = 2) AS err, dur_b, 1 AS calls, "
                  "input_tokens, output_tokens, cost_usd, "
                  "CASE WHEN output_tokens IS NOT NULL THEN duration_s END AS busy_s",
    "ttfc_rollup": f"start_ns / {MINUTE_NS} AS minute, {_KEYS}, (status_code = 2) AS err, ttfc_b, 1 AS calls",
    "usage_rollup": f"{{key}} AS key, start_ns / {MINUTE_NS} AS minute, 1 AS calls, (status_code = 2) AS errors, "
                    "input_tokens, output_tokens, cost_usd, start_ns AS first_ns, start_ns AS last_ns, user_id",
}
USAGE_KEYS = {"user": "coalesce(user_id, '')", "session": "coalesce(session_id, '')"}
LLM_OPERATIONS_SQL = f"operation IN ({', '.join(repr(op) for op in sorted(LLM_OPERATIONS))})"
STORED = {  # the same columns, in the same order, in the tables
    "llm_rollup": "minute, provider, model, service, err, dur_b, calls, input_tokens, output_tokens, cost_usd, "
                  "busy_s",
    "ttfc_rollup": "minute, provider, model, service, err, ttfc_b, calls",
    "usage_rollup": "key, minute, calls, errors, input_tokens, output_tokens, cost_usd, first_ns, last_ns, user_id",
}


def _ceil(n: int, size: int) -> int:
    return -(-n // size) * size


def pieces(lo: int | None, hi: int | None, levels: tuple[int, ...] = LEVELS,
           ) -> list[tuple[int, int | None, int | None]]:
    """Whole minutes [lo, hi) (None: unbounded) as (level, first, end) bucket ranges, coarsest buckets in the
    middle: e.g. three days and a few hours become 2 day rows, 23 hour rows and some minute rows per key."""
    if lo is not None and hi is not None and lo >= hi:
        return []
    size, finer = levels[0], levels[1:]
    a = None if lo is None else _ceil(lo, size)
    b = None if hi is None else hi // size * size
    if finer and a is not None and b is not None and a >= b:  # no whole bucket of this size inside
        return pieces(lo, hi, finer)
    out = [(size, a, b)]
    if finer and lo is not None and lo < a:  # type: ignore[operator]
        out += pieces(lo, a, finer)
    if finer and hi is not None and b < hi:  # type: ignore[operator]
        out += pieces(b, hi, finer)
    return out


def split(since_ns: int | None, until_ns: int | None, retained_from: int | None = None, within: int = 0,
          ) -> tuple[list[tuple[int, int | None, int | None]], list[tuple[int | None, int | None]]]:
    """A time range as bucket ranges of the rollups (``pieces``) and the partial minutes at its ends (as
    [start, end) nanosecond ranges, None for unbounded) to read from the spans table. ``retained_from``: the
    first minute the retention kept (buckets that began before it were dropped, spans before it too).
    ``within``: only levels whose buckets fall within one bucket of that many minutes (a time series')."""
    if retained_from is not None:
        since_ns = max(since_ns or 0, retained_from * MINUTE_NS)
    lo = None if since_ns is None else _ceil(since_ns, MINUTE_NS) // MINUTE_NS
    hi = None if until_ns is None else until_ns // MINUTE_NS
    if lo is not None and hi is not None and lo >= hi:  # inside one minute (or two partial ones)
        return [], [(since_ns, until_ns)]
    edges: list[tuple[int | None, int | None]] = []
    if since_ns is not None and since_ns % MINUTE_NS:
        edges.append((since_ns, lo * MINUTE_NS))  # type: ignore[operator]
    if until_ns is not None and until_ns % MINUTE_NS:
        edges.append((hi * MINUTE_NS, until_ns))  # type: ignore[operator]
    levels = tuple(level for level in LEVELS if not within or within % level == 0)
    return pieces(lo, hi, levels), edges


def _plus(column: str) -> str:
    # SUM's rule for NULLs: NULL + x = x, and NULL only while every value was NULL
    return (f"{column} = CASE WHEN excluded.{column} IS NULL THEN {column} WHEN {column} IS NULL "
            f"THEN excluded.{column} ELSE {column} + excluded.{column} END")


_SUMS = "SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens, SUM(cost_usd) AS cost_usd"
_PLUS = ", ".join(_plus(c) for c in ("input_tokens", "output_tokens", "cost_usd"))
# Per rollup: one indexer batch's calls (``rollup_batch``) grouped by minute and key, and how each level's
# buckets are summed from those groups and added to the table.
_STEPS = (
    ("llm_rollup",
     f"SELECT minute, provider, model, service, err, dur_b, COUNT(*) AS calls, {_SUMS}, SUM(busy_s) AS busy_s "
     "FROM rollup_batch GROUP BY minute, provider, model, service, err, dur_b",
     "SELECT {level}, minute / {level} * {level} AS m, provider, model, service, err, dur_b, SUM(calls), "
     "SUM(input_tokens), SUM(output_tokens), SUM(cost_usd), SUM(busy_s) FROM rollup_group WHERE true "
     "GROUP BY m, provider, model, service, err, dur_b "
     "ON CONFLICT (level, minute, provider, model, service, err, dur_b) DO UPDATE SET calls = calls + excluded.calls, "
     f"{_PLUS}, {_plus('busy_s')}"),
    ("ttfc_rollup",
     "SELECT minute, provider, model, service, err, ttfc_b, COUNT(*) AS calls FROM rollup_batch "
     "WHERE ttfc_b IS NOT NULL GROUP BY minute, provider, model, service, err, ttfc_b",
     "SELECT {level}, minute / {level} * {level} AS m, provider, model, service, err, ttfc_b, SUM(calls) "
     "FROM rollup_group WHERE true GROUP BY m, provider, model, service, err, ttfc_b "
     "ON CONFLICT (level, minute, provider, model, service, err, ttfc_b) DO UPDATE SET calls = calls + excluded.calls"),
    *(("usage_rollup",
       f"SELECT minute, {kind}_key AS key, COUNT(*) AS calls, SUM(err) AS errors, {_SUMS}, "
       "MIN(start_ns) AS first_ns, MAX(start_ns) AS last_ns, MAX(user_id) AS user_id FROM rollup_batch "
       "GROUP BY minute, key",
       f"SELECT '{kind}', {{level}}, minute / {{level}} * {{level}} AS m, key, SUM(calls), SUM(errors), "
       "SUM(input_tokens), SUM(output_tokens), SUM(cost_usd), MIN(first_ns), MAX(last_ns), MAX(user_id) "
       "FROM rollup_group WHERE true GROUP BY m, key "
       "ON CONFLICT (kind, level, minute, key) DO UPDATE SET calls = calls + excluded.calls, "
       f"errors = errors + excluded.errors, {_PLUS}, first_ns = MIN(first_ns, excluded.first_ns), "
       "last_ns = MAX(last_ns, excluded.last_ns), "
       "user_id = coalesce(MAX(user_id, excluded.user_id), user_id, excluded.user_id)")
      for kind in USAGE_KEYS),
)


def add_spans(conn: Any, after_rowid: int) -> None:
    """Add the LLM spans stored after ``after_rowid`` (one indexer batch, inside its transaction; SQLite
    gives new rows rowids above the largest so far, so retried spans, which were not stored again, are not
    among them) to every rollup at every level. The spans are read once, as ``AS_ROLLUP`` reads them for a
    query's partial minutes; each rollup groups them by minute, and each level sums those groups: in a burst
    a few rows per minute however many calls, and SQLite writes each level in key order."""
    conn.execute("DROP TABLE IF EXISTS temp.rollup_batch")
    conn.execute(
        f"CREATE TEMP TABLE rollup_batch AS SELECT {AS_ROLLUP['llm_rollup']}, ttfc_b, "
        f"{USAGE_KEYS['user']} AS user_key, {USAGE_KEYS['session']} AS session_key, start_ns, user_id "
        f"FROM spans WHERE rowid > ? AND {LLM_OPERATIONS_SQL}", (int(after_rowid),))
    try:
        for table, group, add in _STEPS:
            conn.execute("DROP TABLE IF EXISTS temp.rollup_group")
            conn.execute(f"CREATE TEMP TABLE rollup_group AS {group}")
            for level in LEVELS:
                conn.execute(f"INSERT INTO {table} " + add.format(level=level))
    finally:
        conn.execute("DROP TABLE IF EXISTS temp.rollup_group")
        conn.execute("DROP TABLE IF EXISTS temp.rollup_batch")
