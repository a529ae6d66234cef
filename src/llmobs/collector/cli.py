"""``llmobs collector``, ``llmobs traces``, ``llmobs trace`` and ``llmobs report``.

The query commands read a running collector's HTTP API (``--url``, default ``http://127.0.0.1:4318``) or,
with ``--data-dir``, its database file directly (no server needed; safe while the collector runs).
"""

from __future__ import annotations

import argparse
import http.client
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
from .text import report_csv, report_table, traces_table, tree_text

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
