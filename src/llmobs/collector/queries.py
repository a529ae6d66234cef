"""Queries over the store: trace lists, one trace as a tree, and the per-model report.

All functions take a read connection (``Store.reader()``) and plain Python filters; none of them formats
output (see ``cli.py`` for tables and CSV). Percentiles are nearest-rank (the smallest value with at least
p % of the values at or below it), computed inside SQLite with window functions.
"""

from __future__ import annotations

import math
import re
import sqlite3
import time
from dataclasses import dataclass, replace
from typing import Any

from .. import semconv as sc
from . import rollup
from .otlp import INT64_MAX, bucket_value, span_details, spans_of

LLM_OPERATIONS = sc.LLM_OPERATIONS
_LLM_OPS_SQL = rollup.LLM_OPERATIONS_SQL  # "operation IN (...)": the spans that are LLM calls
GROUPS = {  # report group name -> column
    "model": "model",
    "response_model": "response_model",
    "provider": "provider",
    "service": "service",
    "user": "user_id",
    "session": "session_id",
    "operation": "operation",
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}


def parse_duration(text: str) -> float:
    """Seconds from ``"90s"``, ``"15m"``, ``"24h"``, ``"7d"`` (a bare number is seconds)."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration (e.g. 30s, 15m, 24h, 7d)")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


MAX_BUCKET_S = 3650 * 86400.0
# The query parameters that filter (Filters.from_params), and the range of a page's limit and offset.
FILTER_PARAMS = ("service", "provider", "model", "status", "user", "session", "since", "until", "q")
LIMIT_RANGE, OFFSET_RANGE = (1, 10_000), (0, 10**9)


def parse_time(text: str | None, now_ns: int | None = None) -> int | None:
    """Nanoseconds since the epoch from a duration ago with its unit (``"1h"``), epoch seconds, or ISO-8601:
    from 1970 to 2262 (what a span's times can be). Raises ValueError otherwise."""
    if text is None or text == "":
        return None
    ns = _parse_time(text, now_ns)
    if not 0 <= ns <= INT64_MAX:  # what a span's times can be in the index
        raise ValueError(f"{text!r} is not a time from 1970 to 2262")
    return ns


def _parse_time(text: str, now_ns: int | None) -> int:
    now_ns = time.time_ns() if now_ns is None else now_ns
    match = _DURATION.match(text)
    if match and match.group(2):  # "15m", "24h": that long ago (a bare number is epoch seconds)
        seconds = parse_duration(text)
        return now_ns - int(seconds * 1e9) if seconds < 1e12 else -1
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return int(seconds * 1e9) if math.isfinite(seconds) and abs(seconds) < 1e12 else -1
    from datetime import datetime, timezone

    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a time (e.g. 1h ago as '1h', epoch seconds, or ISO-8601)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    try:
        return int(dt.timestamp() * 1e9)
    except (OverflowError, ValueError, OSError):
        return -1


def named(parse: Any, name: str, value: Any) -> Any:
    """``parse(value)``, its ValueError naming the parameter."""
    try:
        return parse(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def int_param(params: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter from ``low`` to ``high``; a ValueError naming it otherwise."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ValueError(f"{name}: {raw!r} is not an integer from {low} to {high}")
    return value


def page_params(params: dict[str, Any], default_limit: int) -> tuple[int, int]:
    """``limit`` and ``offset`` of a page (LIMIT_RANGE, OFFSET_RANGE); a ValueError naming a bad one."""
    return (int_param(params, "limit", default_limit, *LIMIT_RANGE),
            int_param(params, "offset", 0, *OFFSET_RANGE))


def bucket_param(params: dict[str, Any], default: str = "1h") -> float:
    """The ``bucket`` of a time series: a duration from 1 s to 3650 days."""
    seconds = named(parse_duration, "bucket", params.get("bucket") or default)
    if not 1 <= seconds <= MAX_BUCKET_S:
        raise ValueError(f"bucket: {params.get('bucket')!r} is not a duration from 1s to 3650d")
    return seconds


@dataclass
class Filters:
    service: str | None = None
    provider: str | None = None
    model: str | None = None
    status: str | None = None  # "error" or "ok"
    user: str | None = None
    session: str | None = None
    since_ns: int | None = None
    until_ns: int | None = None
    text: str | None = None

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Filters:
        """From API query parameters / CLI options (``since``/``until`` as text, ``q`` for text search). Raises
        ValueError naming a bad parameter, or ``until`` before ``since``."""
        filters = cls(
            service=params.get("service"), provider=params.get("provider"), model=params.get("model"),
            status=params.get("status"), user=params.get("user"), session=params.get("session"),
            since_ns=named(parse_time, "since", params.get("since")),
            until_ns=named(parse_time, "until", params.get("until")),
            text=params.get("q"),
        )
        if filters.since_ns is not None and filters.until_ns is not None and filters.until_ns < filters.since_ns:
            raise ValueError(f"until: {params['until']!r} is before since {params['since']!r}")
        return filters

    def where(self, table: str = "spans") -> tuple[str, list[Any]]:
        """A SQL condition and its arguments, for the ``spans`` table, a rollup table (``rollup``; the
        time range is left to the caller, see ``rollup.split``; users, sessions and text are not in the
        rollups, see ``on_rollups``) or the spans as the rollups count them (``calls``). In the last two,
        ``model`` matches the requested model only."""
        on_rollup = table == "rollup"
        narrow = on_rollup or table == "calls"
        clauses: list[str] = []
        args: list[Any] = []
        for column, value in (("service", self.service), ("provider", self.provider),
                              ("user_id", self.user), ("session_id", self.session)):
            if value:
                clauses.append(f"{column} = ?")
                args.append(value)
        if self.model:
            clauses.append("model = ?" if narrow else "(model = ? OR response_model = ?)")
            args += [self.model] if narrow else [self.model, self.model]
        if self.status == "error":
            clauses.append("err = 1" if on_rollup else "status_code = 2")
        elif self.status == "ok":
            clauses.append("err = 0" if on_rollup else "status_code != 2")
        elif self.status:
            raise ValueError(f"status must be 'error' or 'ok', not {self.status!r}")
        if self.since_ns is not None and not on_rollup:
            clauses.append("start_ns >= ?")
            args.append(self.since_ns)
        if self.until_ns is not None and not on_rollup:
            clauses.append("start_ns < ?")
            args.append(self.until_ns)
        if self.text and not on_rollup:
            clauses.append("content LIKE ? ESCAPE '\\'")
            escaped = self.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            args.append(f"%{escaped}%")
        return (" AND ".join(clauses) or "1"), args

    @property
    def on_rollups(self) -> bool:
        """Whether aggregates under these filters can be read from the rollups (minute, hour, day)."""
        return not (self.user or self.session or self.text)


def list_traces(conn: sqlite3.Connection, filters: Filters, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """Traces with at least one span matching ``filters``, newest first, with their totals."""
    where, args = filters.where()
    # Walk matching spans newest first (the start_ns index) and stop at enough distinct traces: a page of a
    # filtered list costs what it shows, not a scan and sort of the whole table.
    wanted = int(limit) + int(offset)
    ids: list[str] = []
    seen: set[str] = set()
    cursor = conn.execute(f"SELECT trace_id FROM spans WHERE {where} ORDER BY start_ns DESC", args)
    while len(ids) < wanted:
        batch = cursor.fetchmany(512)
        if not batch:
            break
        for (trace_id,) in batch:
            if trace_id not in seen:
                seen.add(trace_id)
                ids.append(trace_id)
                if len(ids) >= wanted:
                    break
    cursor.close()
    out = []
    for trace_id in ids[int(offset):]:
        agg = conn.execute(
            "SELECT MIN(start_ns), MAX(end_ns), COUNT(*), "
            f"SUM({_LLM_OPS_SQL}), "
            "SUM(input_tokens), SUM(output_tokens), SUM(cost_usd), MAX(status_code = 2), "
            "GROUP_CONCAT(DISTINCT service), GROUP_CONCAT(DISTINCT model), GROUP_CONCAT(DISTINCT user_id), "
            "GROUP_CONCAT(DISTINCT session_id) FROM spans WHERE trace_id = ?",
            (trace_id,),
        ).fetchone()
        root = conn.execute(
            "SELECT name, service FROM spans WHERE trace_id = ? ORDER BY (parent_span_id IS NOT NULL), start_ns "
            "LIMIT 1", (trace_id,),
        ).fetchone()
        start, end = agg[0], agg[1]
        out.append({
            "trace_id": trace_id, "root": root[0] if root else None, "service": root[1] if root else None,
            "start_ns": start, "duration_s": (end - start) / 1e9 if start and end else None, "spans": agg[2],
            "llm_calls": agg[3] or 0, "input_tokens": agg[4], "output_tokens": agg[5], "cost_usd": agg[6],
            "error": bool(agg[7]), "services": sorted((agg[8] or "").split(",")) if agg[8] else [],
            "models": sorted(agg[9].split(",")) if agg[9] else [],
            "users": sorted(agg[10].split(",")) if agg[10] else [],
            "sessions": sorted(agg[11].split(",")) if agg[11] else [],
        })
    return out


_SPAN_FIELDS = (
    "trace_id", "span_id", "parent_span_id", "name", "kind", "service", "start_ns", "end_ns", "duration_s",
    "status_code", "status_message", "operation", "provider", "model", "response_model", "input_tokens",
    "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "cost_usd", "ttfc_s",
    "error_type", "user_id", "session_id", "batch_id", "batch_index",
)


def get_trace(conn: sqlite3.Connection, trace_id: str) -> list[dict[str, Any]] | None:
    """The spans of one trace as a forest (``children`` lists), roots first by start time; None if unknown."""
    rows = conn.execute(
        f"SELECT {', '.join(_SPAN_FIELDS)} FROM spans WHERE trace_id = ? ORDER BY start_ns", (trace_id.lower(),)
    ).fetchall()
    if not rows:
        return None
    spans = []
    batches: dict[int, list[Any]] = {}
    for row in rows:
        span = dict(zip(_SPAN_FIELDS, tuple(row), strict=False))
        span["attributes"], span["events"] = _details(conn, batches, span.pop("batch_id"), span.pop("batch_index"))
        span["children"] = []
        spans.append(span)
    by_id = {s["span_id"]: s for s in spans}
    roots: list[dict[str, Any]] = []
    for span in spans:
        parent = by_id.get(span["parent_span_id"] or "")
        (parent["children"] if parent is not None else roots).append(span)
    return roots


def _details(conn: sqlite3.Connection, batches: dict[int, list[Any]], batch_id: int | None,
             index: int | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if batch_id is None or index is None:
        return {}, []
    spans = batches.get(batch_id)
    if spans is None:
        found = conn.execute("SELECT body FROM received.payloads WHERE id = ?", (batch_id,)).fetchone()
        spans = batches[batch_id] = spans_of(found[0]) if found else []
    return span_details(spans[index]) if index < len(spans) else ({}, [])


def _pct_expr(rank: str, count: str, value: str, p: int) -> str:
    # nearest rank: the value whose rank is the first >= ceil(p/100 * n)
    return f"MIN(CASE WHEN {rank} >= ({count} * {p} + 99) / 100 THEN {value} END)"


REPORT_FIELDS = (
    "calls", "errors", "error_rate", "latency_p50_s", "latency_p95_s", "latency_p99_s", "ttfc_p50_s",
    "ttfc_p95_s", "input_tokens", "output_tokens", "output_tokens_per_s", "cost_usd",
)


_FAST_GROUPS = {"model", "provider", "service"}


def report(conn: sqlite3.Connection, filters: Filters, group_by: tuple[str, ...] = ("provider", "model"),
           ) -> list[dict[str, Any]]:
    """Per group of LLM calls (chat, text_completion, generate_content, embeddings): calls, errors, latency
    and TTFT percentiles, tokens, output tokens per second of call time, cost. Most expensive first.

    Grouped by model, provider and/or service, and not filtered by user, session or text (the dashboard),
    it reads the rollups and takes percentiles from 2 %-wide latency buckets (within 1 % of the
    exact value): milliseconds at a million calls. Other groupings and filters compute exact percentiles with
    window functions over the spans, which takes seconds at that size unless a user or session narrows it."""
    unknown = [g for g in group_by if g not in GROUPS]
    if unknown or not group_by:
        raise ValueError(f"group_by takes {', '.join(GROUPS)}; got {', '.join(unknown) or 'nothing'}")
    if set(group_by) <= _FAST_GROUPS and filters.on_rollups:
        return _bucket_report(conn, filters, group_by)
    return _exact_report(conn, filters, group_by)


def _minutes(conn: sqlite3.Connection, filters: Filters, table: str, by: str | None = None, within: int = 0,
             ) -> tuple[str, list[Any]]:
    """A FROM source with the rows of a rollup ``table`` for ``filters``: day, hour and minute buckets that
    tile the time range and, for the partial minutes at its ends, each matching LLM span as one row of the
    same shape (see ``rollup.split``)."""
    found = conn.execute("SELECT value FROM meta WHERE key = 'retained_from'").fetchone()
    buckets, edges = rollup.split(filters.since_ns, filters.until_ns, found[0] if found else None, within)
    where, where_args = filters.where("rollup")
    parts: list[str] = []
    args: list[Any] = []
    for level, first, end in buckets:
        conditions = ["level = ?", where]
        piece_args: list[Any] = [level, *where_args]
        if by is not None:
            conditions.insert(0, "kind = ?")
            piece_args.insert(0, by)
        if first is not None:
            conditions.append("minute >= ?")
            piece_args.append(first)
        if end is not None:
            conditions.append("minute < ?")
            piece_args.append(end)
        parts.append(f"SELECT {rollup.STORED[table]} FROM {table} WHERE {' AND '.join(conditions)}")
        args += piece_args
    columns = rollup.AS_ROLLUP[table].format(key=rollup.USAGE_KEYS.get(by or "", ""))
    for since_ns, until_ns in edges:
        edge, edge_args = replace(filters, since_ns=since_ns, until_ns=until_ns).where("calls")
        if table == "ttfc_rollup":
            edge += " AND ttfc_b IS NOT NULL"
        parts.append(f"SELECT {columns} FROM spans WHERE {_LLM_OPS_SQL} AND {edge}")
        args += edge_args
    if not parts:  # an empty range
        parts.append(f"SELECT {rollup.STORED[table]} FROM {table} WHERE 0")
    return f"({' UNION ALL '.join(parts)})", args


def _percentile(histogram: dict[int, int], total: int, p: int) -> float | None:
    if not total:
        return None
    rank = (total * p + 99) // 100
    seen = 0
    for b in sorted(histogram):
        seen += histogram[b]
        if seen >= rank:
            return bucket_value(b)
    return None


def _add(a: Any, b: Any) -> Any:
    return b if a is None else a if b is None else a + b


def _bucket_report(conn: sqlite3.Connection, filters: Filters, group_by: tuple[str, ...]) -> list[dict[str, Any]]:
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}

    def key_of(provider: str, model: str, service: str) -> tuple[Any, ...]:
        values = {"model": model or None, "provider": provider or None, "service": service or None}
        return tuple(values[g] for g in group_by)

    source, args = _minutes(conn, filters, "llm_rollup")
    for provider, model, service, b, n, errors, tin, tout, cost, busy in conn.execute(
        "SELECT provider, model, service, dur_b, SUM(calls), SUM(err * calls), SUM(input_tokens), "
        f"SUM(output_tokens), SUM(cost_usd), SUM(busy_s) FROM {source} GROUP BY provider, model, service, dur_b",
        args,
    ):
        g = groups.setdefault(key_of(provider, model, service), {
            "n": 0, "errors": 0, "tin": None, "tout": None, "cost": None, "busy": None, "lat": {}, "ttfc": {},
            "nt": 0})
        g["n"] += n
        g["errors"] += errors or 0
        g["tin"], g["tout"] = _add(g["tin"], tin), _add(g["tout"], tout)
        g["cost"], g["busy"] = _add(g["cost"], cost), _add(g["busy"], busy)
        g["lat"][b] = g["lat"].get(b, 0) + n
    source, args = _minutes(conn, filters, "ttfc_rollup")
    for provider, model, service, b, n in conn.execute(
        f"SELECT provider, model, service, ttfc_b, SUM(calls) FROM {source} GROUP BY provider, model, service, ttfc_b",
        args,
    ):
        found = groups.get(key_of(provider, model, service))
        if found is not None:
            found["ttfc"][b] = found["ttfc"].get(b, 0) + n
            found["nt"] += n
    out = []
    for key, g in groups.items():
        item: dict[str, Any] = dict(zip(group_by, key, strict=True))
        n = g["n"]
        item.update({
            "calls": n, "errors": g["errors"], "error_rate": g["errors"] / n if n else 0.0,
            "latency_p50_s": _percentile(g["lat"], n, 50), "latency_p95_s": _percentile(g["lat"], n, 95),
            "latency_p99_s": _percentile(g["lat"], n, 99), "ttfc_p50_s": _percentile(g["ttfc"], g["nt"], 50),
            "ttfc_p95_s": _percentile(g["ttfc"], g["nt"], 95), "input_tokens": g["tin"], "output_tokens": g["tout"],
            "output_tokens_per_s": g["tout"] / g["busy"] if g["tout"] is not None and g["busy"] else None,
            "cost_usd": g["cost"],
        })
        out.append(item)
    out.sort(key=lambda r: (r["cost_usd"] is None, -(r["cost_usd"] or 0), -r["calls"]))
    return out


def _exact_report(conn: sqlite3.Connection, filters: Filters, group_by: tuple[str, ...]) -> list[dict[str, Any]]:
    cols = [GROUPS[g] for g in group_by]
    part = ", ".join(cols)
    where, args = filters.where()
    sql = f"""
        WITH f AS (
            SELECT {part}, duration_s, ttfc_s, status_code, input_tokens, output_tokens, cost_usd
            FROM spans WHERE {_LLM_OPS_SQL} AND {where}
        ), r AS (
            SELECT *,
                ROW_NUMBER() OVER (PARTITION BY {part} ORDER BY duration_s) AS rd,
                COUNT(*) OVER (PARTITION BY {part}) AS nd,
                ROW_NUMBER() OVER (PARTITION BY {part} ORDER BY ttfc_s IS NULL, ttfc_s) AS rt,
                COUNT(ttfc_s) OVER (PARTITION BY {part}) AS nt
            FROM f
        )
        SELECT {part}, COUNT(*), SUM(status_code = 2),
            {_pct_expr('rd', 'nd', 'duration_s', 50)}, {_pct_expr('rd', 'nd', 'duration_s', 95)},
            {_pct_expr('rd', 'nd', 'duration_s', 99)},
            {_pct_expr('rt', 'nt', 'ttfc_s', 50)}, {_pct_expr('rt', 'nt', 'ttfc_s', 95)},
            SUM(input_tokens), SUM(output_tokens),
            SUM(output_tokens) / NULLIF(SUM(CASE WHEN output_tokens IS NOT NULL THEN duration_s END), 0),
            SUM(cost_usd)
        FROM r GROUP BY {part}
        ORDER BY SUM(cost_usd) IS NULL, SUM(cost_usd) DESC, COUNT(*) DESC
    """
    out = []
    for row in conn.execute(sql, args).fetchall():
        values = tuple(row)
        item: dict[str, Any] = dict(zip(group_by, values[: len(group_by)], strict=False))
        calls, errors, p50, p95, p99, t50, t95, tin, tout, tps, cost = values[len(group_by):]
        item.update({
            "calls": calls, "errors": errors or 0, "error_rate": (errors or 0) / calls if calls else 0.0,
            "latency_p50_s": p50, "latency_p95_s": p95, "latency_p99_s": p99, "ttfc_p50_s": t50,
            "ttfc_p95_s": t95, "input_tokens": tin, "output_tokens": tout, "output_tokens_per_s": tps,
            "cost_usd": cost,
        })
        out.append(item)
    return out


def timeseries(conn: sqlite3.Connection, filters: Filters, bucket_s: float) -> list[dict[str, Any]]:
    """LLM calls per time bucket (``bucket_s`` seconds, aligned to the epoch) and model, oldest first: calls,
    errors, tokens, cost, and p50 / p95 latency (read off 2 %-wide buckets, as the per-model report's).
    Whole-minute buckets without user, session or text filters come from the rollups; others are aggregated
    over the spans."""
    if not bucket_s or bucket_s < 1:
        raise ValueError("bucket must be at least 1s")
    width = int(bucket_s * 1e9)
    if width % rollup.MINUTE_NS or not filters.on_rollups:
        where, args = filters.where("calls")
        source = f"(SELECT start_ns / {width} AS m, * FROM spans WHERE {_LLM_OPS_SQL} AND {where})"
        columns, scale = "COUNT(*), SUM(status_code = 2)", width
        count = "COUNT(*)"
    else:
        k = width // rollup.MINUTE_NS
        rows_of, args = _minutes(conn, filters, "llm_rollup", within=k)
        source = f"(SELECT minute / {k} AS m, * FROM {rows_of})"
        columns, scale = "SUM(calls), SUM(err * calls)", k * rollup.MINUTE_NS
        count = "SUM(calls)"
    rows = conn.execute(
        f"SELECT m, model, {columns}, SUM(input_tokens), SUM(output_tokens), SUM(cost_usd) FROM {source} "
        "GROUP BY m, model ORDER BY m, model", args,
    ).fetchall()
    latency: dict[tuple[int, Any], dict[int, int]] = {}
    for m, model, b, n in conn.execute(f"SELECT m, model, dur_b, {count} FROM {source} GROUP BY m, model, dur_b",
                                       args):
        latency.setdefault((m, model), {})[b] = n
    out = []
    for m, model, n, errors, tin, tout, cost in rows:
        hist = latency.get((m, model), {})
        out.append({"start_ns": m * scale, "model": model or None, "calls": n, "errors": errors or 0,
                    "input_tokens": tin, "output_tokens": tout, "cost_usd": cost,
                    "latency_p50_s": _percentile(hist, n, 50), "latency_p95_s": _percentile(hist, n, 95)})
    return out


_USAGE = {"user": "user_id", "session": "session_id"}


def usage(conn: sqlite3.Connection, filters: Filters, by: str = "user", limit: int = 50,
          offset: int = 0) -> list[dict[str, Any]]:
    """LLM calls per user or per session (``by``), most expensive first, one page: calls, errors, traces,
    tokens, cost, first and last call; sessions also name their user. Filtered by time only (the UI's page),
    it reads the rollups; other filters aggregate over the spans. ``traces`` counts the traces
    holding the row's LLM calls (not counted for calls without a user or session)."""
    column = _USAGE.get(by)
    if column is None:
        raise ValueError(f"by takes user or session, not {by!r}")
    if replace(filters, since_ns=None, until_ns=None) == Filters():
        source, args = _minutes(conn, filters, "usage_rollup", by)
        rows = [(key or None, *rest) for key, *rest in conn.execute(
            "SELECT key, SUM(calls), SUM(errors), SUM(input_tokens), SUM(output_tokens), SUM(cost_usd), "
            f"MIN(first_ns), MAX(last_ns), MAX(user_id) FROM {source} GROUP BY key "
            "ORDER BY SUM(cost_usd) IS NULL, SUM(cost_usd) DESC, SUM(calls) DESC, key LIMIT ? OFFSET ?",
            [*args, int(limit), int(offset)],
        )]
    else:
        where, args = filters.where("calls")
        rows = conn.execute(
            f"SELECT {column}, COUNT(*), SUM(status_code = 2), SUM(input_tokens), SUM(output_tokens), "
            f"SUM(cost_usd), MIN(start_ns), MAX(start_ns), MAX(user_id) FROM spans WHERE {_LLM_OPS_SQL} AND {where} "
            f"GROUP BY {column} ORDER BY SUM(cost_usd) IS NULL, SUM(cost_usd) DESC, COUNT(*) DESC, {column} "
            "LIMIT ? OFFSET ?", [*args, int(limit), int(offset)],
        ).fetchall()
    where, args = filters.where("calls")
    out = []
    for key, n, errors, tin, tout, cost, first, last, user in rows:
        traces = None
        if key is not None:  # the user's (session's) entries of its index, checked against the filters
            traces = conn.execute(
                f"SELECT COUNT(DISTINCT trace_id) FROM spans WHERE {column} = ? AND {_LLM_OPS_SQL} AND {where}",
                [key, *args],
            ).fetchone()[0]
        item: dict[str, Any] = {by: key, "calls": n, "errors": errors or 0, "traces": traces,
                                "input_tokens": tin, "output_tokens": tout, "cost_usd": cost,
                                "first_ns": first, "last_ns": last}
        if by == "session":
            item["user"] = user
        out.append(item)
    return out


def facets(conn: sqlite3.Connection, filters: Filters, limit: int = 200) -> dict[str, list[str]]:
    """The values the trace list's filters can take among the LLM calls in ``filters``' time range: every
    service, provider and model, and the ``limit`` most recently seen users and sessions (from the rollups)."""
    span = Filters(since_ns=filters.since_ns, until_ns=filters.until_ns)
    source, args = _minutes(conn, span, "llm_rollup")
    seen: dict[str, set[str]] = {"services": set(), "providers": set(), "models": set()}
    for service, provider, model in conn.execute(f"SELECT DISTINCT service, provider, model FROM {source}", args):
        seen["services"].add(service)
        seen["providers"].add(provider)
        seen["models"].add(model)
    out: dict[str, list[str]] = {name: sorted(values - {""}) for name, values in seen.items()}
    for name, kind in (("users", "user"), ("sessions", "session")):
        source, args = _minutes(conn, span, "usage_rollup", kind)
        rows = conn.execute(
            f"SELECT key FROM {source} WHERE key != '' GROUP BY key ORDER BY MAX(last_ns) DESC, key LIMIT ?",
            [*args, int(limit)])
        out[name] = [r[0] for r in rows]
    return out
