"""``llmobs collector``, ``llmobs traces``, ``llmobs trace`` and ``llmobs report``.

The query commands read a running collector's HTTP API (``--url``, default ``http://127.0.0.1:4318``) or,
with ``--data-dir``, its database file directly (no server needed; safe while the collector runs).
"""

from __future__ import annotations

import argparse
import csv
import http.client
import io
import json
import os
import re
import signal
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from . import queries

DEFAULT_DATA_DIR = os.environ.get("LLMOBS_DATA_DIR") or str(Path.home() / ".llmobs")
DEFAULT_URL = "http://127.0.0.1:4318"


def add_commands(sub: Any) -> None:
    p = sub.add_parser("collector", help="run the reference collector: OTLP receiver, store, query API")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (non-loopback needs --token)")
    p.add_argument("--port", type=_int_in(0, 65535), default=4318, help="OTLP/HTTP and query API port (default 4318)")
    p.add_argument("--grpc-port", type=_int_in(-1, 65535), default=4317, help="OTLP/gRPC port (default 4317; -1 disables)")
    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR, help=f"where the database lives (default {DEFAULT_DATA_DIR})")
    p.add_argument("--retention", type=_duration, default=None, help="drop spans older than this (e.g. 7d, 24h); default: keep")
    p.add_argument("--token", default=os.environ.get("LLMOBS_COLLECTOR_TOKEN") or None,
                   help="bearer token required from clients (env LLMOBS_COLLECTOR_TOKEN)")
    p.add_argument("--workers", type=_int_in(1, 64), default=1,
                   help="OTLP/HTTP worker processes sharing the port (default 1)")

    for name, help_text in (("traces", "list traces, newest first"), ("report", "per-model report")):
        q = sub.add_parser(name, help=help_text)
        _source_args(q)
        _filter_args(q)
        if name == "traces":
            q.add_argument("--limit", type=_int_in(*queries.LIMIT_RANGE), default=20)
            q.add_argument("--offset", type=_int_in(*queries.OFFSET_RANGE), default=0)
            q.add_argument("--format", choices=("table", "json"), default="table")
        else:
            q.add_argument("--group-by", default="provider,model",
                           help=f"comma-separated, of: {', '.join(queries.GROUPS)} (default provider,model)")
            q.add_argument("--format", choices=("table", "json", "csv"), default="table")
    t = sub.add_parser("trace", help="one trace as a span tree")
    _source_args(t)
    t.add_argument("trace_id")
    t.add_argument("--format", choices=("tree", "json"), default="tree")


def _source_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", default=os.environ.get("LLMOBS_COLLECTOR_URL", DEFAULT_URL),
                   help=f"collector to ask (default {DEFAULT_URL})")
    p.add_argument("--data-dir", default=None, help="read this collector data directory directly instead")
    p.add_argument("--token", default=os.environ.get("LLMOBS_COLLECTOR_TOKEN") or None)


def _filter_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", default=None, help="e.g. 1h, 7d, epoch seconds or ISO-8601")
    p.add_argument("--until", default=None)
    for name in ("service", "provider", "model", "user", "session"):
        p.add_argument(f"--{name}", default=None)
    p.add_argument("--status", choices=("error", "ok"), default=None)
    p.add_argument("--search", "-q", dest="q", default=None, help="text in captured prompts and completions")


def _int_in(low: int, high: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer from {low} to {high}")
        return value

    return parse


def _duration(text: str) -> float:
    try:
        return queries.parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


_TRACE_ID = re.compile(r"^[0-9a-fA-F]{32}$")


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except BrokenPipeError:  # `llmobs traces | head`: the reader has what it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _run(args: argparse.Namespace) -> int:
    if args.command == "collector":
        return _run_collector(args)
    try:
        if args.command == "traces":
            traces = _fetch(args, "/api/traces", _params(args, limit=args.limit, offset=args.offset))["traces"]
            print(json.dumps(traces, indent=2) if args.format == "json" else traces_table(traces))
        elif args.command == "report":
            group_by = tuple(g.strip() for g in args.group_by.split(",") if g.strip())
            if not group_by:
                raise ValueError(f"--group-by takes one or more of {', '.join(queries.GROUPS)}, comma-separated")
            rows = _fetch(args, "/api/report", _params(args, group_by=",".join(group_by)))["rows"]
            if args.format == "json":
                print(json.dumps(rows, indent=2))
            elif args.format == "csv":
                sys.stdout.write(report_csv(rows, group_by))
            else:
                print(report_table(rows, group_by))
        elif args.command == "trace":
            trace_id = args.trace_id.strip()
            if not _TRACE_ID.match(trace_id):
                raise ValueError(f"{args.trace_id!r} is not a trace id (32 hex digits)")
            data = _fetch(args, f"/api/traces/{trace_id.lower()}", {})
            print(json.dumps(data, indent=2) if args.format == "json" else tree_text(data["spans"]))
    except LookupError as exc:
        print(f"llmobs {args.command}: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"llmobs {args.command}: {exc}", file=sys.stderr)
        return 2
    return 0


def _params(args: argparse.Namespace, **extra: Any) -> dict[str, Any]:
    params = {k: getattr(args, k) for k in queries.FILTER_PARAMS}
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


def _fetch(args: argparse.Namespace, path: str, params: dict[str, Any]) -> dict[str, Any]:
    if args.data_dir:
        return _local(args.data_dir, path, params)
    url = f"{args.url.rstrip('/')}{path}?{urllib.parse.urlencode(params)}"
    request = urllib.request.Request(url)
    if args.token:
        request.add_header("Authorization", f"Bearer {args.token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        try:
            detail = str(json.loads(detail).get("error", detail))
        except (ValueError, AttributeError):
            pass
        if exc.code == 404:
            raise LookupError(detail) from None
        if exc.code == 400:
            raise ValueError(detail) from None
        raise ValueError(f"{args.url}: HTTP {exc.code}: {detail}") from None
    except urllib.error.URLError as exc:
        raise LookupError(f"no collector answers at {args.url} ({exc.reason}); start one with `llmobs collector`"
                          " or pass --data-dir") from None
    except (OSError, http.client.HTTPException) as exc:  # the connection dropped, or timed out
        raise LookupError(f"the collector at {args.url} did not answer ({type(exc).__name__}: {exc})") from None


def _local(data_dir: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
    from .store import Store

    if not (Path(data_dir) / "received.db").exists():
        raise LookupError(f"no collector data in {data_dir}")
    # Indexes what a stopped collector left unindexed, or waits for the running one to catch up.
    store = Store(data_dir)
    try:
        store.sync()
        conn = store.reader()
        filters = queries.Filters.from_params(params)
        if path == "/api/traces":
            return {"traces": queries.list_traces(conn, filters, params.get("limit", 20), params.get("offset", 0))}
        if path == "/api/report":
            return {"rows": queries.report(conn, filters, tuple(params["group_by"].split(",")))}
        trace_id = path.rsplit("/", 1)[1]
        spans = queries.get_trace(conn, trace_id)
        if spans is None:
            raise LookupError(f"no trace {trace_id}")
        return {"trace_id": trace_id, "spans": spans}
    finally:
        store.close()


def _run_collector(args: argparse.Namespace) -> int:
    from .._errors import ConfigError
    from .server import Collector

    retention = args.retention
    try:
        collector = Collector(args.data_dir, host=args.host, http_port=args.port,
                              grpc_port=None if args.grpc_port < 0 else args.grpc_port, token=args.token,
                              retention_s=retention, http_workers=args.workers)
    except ConfigError as exc:
        print(f"llmobs collector: {str(exc).removeprefix('llmobs: ')}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"llmobs collector: {exc}", file=sys.stderr)
        return 2
    collector.start()
    grpc = f", OTLP/gRPC {collector.grpc_endpoint}" if collector.grpc_port else ""
    print(f"llmobs collector: OTLP/HTTP and API on {collector.http_endpoint}{grpc}; data in "
          f"{collector.store.path}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    collector.stop()
    return 0


# --- formatting ---------------------------------------------------------------------------------------------

# C0 controls, DEL and C1 controls: telemetry is written by whoever can reach the collector, and printed
# as is, "ESC ] 0 ; ... BEL" would retitle the operator's terminal and "ESC [ 31 m" colour it.
_CONTROLS = {c: (f"\\x{c:02x}" if c not in (9, 10, 13) else {9: "\\t", 10: "\\n", 13: "\\r"}[c])
             for c in (*range(0x20), *range(0x7F, 0xA0))}


def printable(text: str) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``, ``\\n``)."""
    return text.translate(_CONTROLS)


def _fmt(value: Any, kind: str = "") -> str:
    if value is None:
        return "-"
    if kind == "s":
        return f"{value * 1000:.0f}ms" if value < 1 else f"{value:.2f}s"
    if kind == "usd":
        if value == 0 or value >= 0.01:
            return f"${value:.4f}"
        return f"${value:.6f}" if value >= 1e-5 else f"${value:.1e}"
    if kind == "pct":
        return f"{value * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    rows = [[printable(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) for r in rows]
    return "\n".join(lines)


def report_table(rows: list[dict[str, Any]], group_by: tuple[str, ...]) -> str:
    if not rows:
        return "no LLM calls in this window"
    headers = [*group_by, "calls", "errors", "p50", "p95", "p99", "ttft p50", "ttft p95", "tokens in", "tokens out",
               "tok/s", "cost"]
    body = [[
        *(str(r.get(g) or "-") for g in group_by), str(r["calls"]), _fmt(r["error_rate"], "pct"),
        _fmt(r["latency_p50_s"], "s"), _fmt(r["latency_p95_s"], "s"), _fmt(r["latency_p99_s"], "s"),
        _fmt(r["ttfc_p50_s"], "s"), _fmt(r["ttfc_p95_s"], "s"), _fmt(r["input_tokens"]), _fmt(r["output_tokens"]),
        _fmt(r["output_tokens_per_s"]), _fmt(r["cost_usd"], "usd"),
    ] for r in rows]
    total_cost = sum(r["cost_usd"] or 0 for r in rows)
    return _table(headers, body) + f"\n\n{sum(r['calls'] for r in rows)} calls, total cost ${total_cost:.6f}"


def report_csv(rows: list[dict[str, Any]], group_by: tuple[str, ...]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*group_by, *queries.REPORT_FIELDS])
    for r in rows:
        writer.writerow([printable(v) if isinstance(v, str) else v
                         for v in (*(r.get(g) for g in group_by), *(r.get(f) for f in queries.REPORT_FIELDS))])
    return out.getvalue()


def traces_table(traces: list[dict[str, Any]]) -> str:
    if not traces:
        return "no traces"
    from datetime import datetime, timezone

    body = [[
        t["trace_id"], datetime.fromtimestamp(t["start_ns"] / 1e9, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
        str(t["root"]), _fmt(t["duration_s"], "s"), str(t["spans"]), str(t["llm_calls"]),
        _fmt((t["input_tokens"] or 0) + (t["output_tokens"] or 0) if t["llm_calls"] else None),
        _fmt(t["cost_usd"], "usd"), "ERROR" if t["error"] else "ok",
    ] for t in traces]
    return _table(["trace", "start (UTC)", "root", "duration", "spans", "llm", "tokens", "cost", "status"], body)


def tree_text(roots: list[dict[str, Any]]) -> str:
    lines: list[str] = []

    def walk(span: dict[str, Any], prefix: str, last: bool, top: bool) -> None:
        facts = [_fmt(span["duration_s"], "s")]
        if span.get("operation") in queries.LLM_OPERATIONS:
            facts.append(f"{span.get('provider')}/{span.get('response_model') or span.get('model')}")
            n_in, n_out = span.get("input_tokens"), span.get("output_tokens")
            if n_out is not None:
                facts.append(f"{n_in or 0}→{n_out} tok")
            elif n_in is not None:
                facts.append(f"{n_in} tok in")
            if span.get("ttfc_s") is not None:
                facts.append(f"ttft {_fmt(span['ttfc_s'], 's')}")
            if span.get("cost_usd") is not None:
                facts.append(_fmt(span["cost_usd"], "usd"))
        if span.get("status_code") == 2:
            facts.append(f"ERROR {span.get('error_type') or ''}".strip())
        connector = "" if top else ("└─ " if last else "├─ ")
        lines.append(f"{prefix}{connector}{printable(str(span['name']))}  [{printable(', '.join(facts))}]")
        children = span.get("children", [])
        for i, child in enumerate(children):
            walk(child, prefix + ("" if top else ("   " if last else "│  ")), i == len(children) - 1, False)

    for root in roots:
        walk(root, "", True, True)
    return "\n".join(lines)
