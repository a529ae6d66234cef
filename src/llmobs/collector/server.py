"""The collector process: OTLP/HTTP and OTLP/gRPC receivers, the query API, one store.

HTTP (default 127.0.0.1:4318): ``POST /v1/traces``, ``/v1/metrics``, ``/v1/logs`` with
``application/x-protobuf`` or ``application/json`` bodies (OTLP/JSON: hex ids, integer enums, 64-bit ints
as strings), optionally gzip/deflate; the reply uses the request's encoding. Status codes: 200 once stored
(committed); 400 with a reason for malformed data; 401 without the bearer token when one is set; 404 / 405;
411 without Content-Length; 413 past the body limit (after decompression); 415 for other content types; 503
with ``Retry-After`` when the writer is overloaded or the store cannot write (a full disk). Query API: ``GET /api/traces``, ``/api/traces/<id>``,
``/api/report``, ``/api/timeseries``, ``/api/usage``, ``/api/facets``, ``/api/health``. Web UI: ``GET /`` and ``/ui/...``
(static files shipped in ``llmobs/collector/ui``; see docs/ui.md).

gRPC (default 127.0.0.1:4317): the trace, metrics and logs ``Export`` services, 64 MiB receive limit;
overload and a store that cannot write answer ``UNAVAILABLE`` (retryable, as OTLP specifies).

Binding to anything but a loopback address requires a bearer token: telemetry holds prompts and costs.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import socket
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .._errors import ConfigError
from . import otlp, queries
from .store import Overloaded, StorageUnavailable, Store, give_memory_back

logger = logging.getLogger("llmobs.collector")

DEFAULT_BODY_LIMIT = 64 * 1024 * 1024
_PROTOBUF = "application/x-protobuf"
_JSON = "application/json"
_SIGNALS = {"/v1/traces": "traces", "/v1/metrics": "metrics", "/v1/logs": "logs"}


def _is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


_FILTER_PARAMS = frozenset(queries.FILTER_PARAMS)
_API_PARAMS: dict[str, frozenset[str]] = {
    "/api/health": frozenset(), "/api/traces/": frozenset(),
    "/api/traces": _FILTER_PARAMS | {"limit", "offset"},
    "/api/report": _FILTER_PARAMS | {"group_by", "format"},
    "/api/timeseries": _FILTER_PARAMS | {"bucket"},
    "/api/facets": _FILTER_PARAMS,
    "/api/usage": _FILTER_PARAMS | {"by", "limit", "offset"},
}


# Bodies past this many bytes are decoded one at a time (Collector.large_bodies), and the memory they took is
# handed back to the system afterwards: decoding a 32 MB OTLP/JSON body holds ~150 MB of Python objects, and
# four at once left the process at 550 MB for good (glibc keeps freed memory in its arenas).
_LARGE_BODY = 1 << 20
_LARGE_WAIT_S = 10.0
def _same(given: str | None, token: str) -> bool:
    """A constant-time comparison (the time taken tells nothing of how much of the token matched)."""
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def bearer_ok(authorization: str | None, token: str) -> bool:
    """Whether an ``Authorization`` value carries the token in the Bearer scheme (its name in any case, as
    RFC 7235 says)."""
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    return scheme.lower() == "bearer" and _same(credentials.strip(), token)


def _host_allowed(host_header: str | None, own_host: str) -> bool:
    """A ``Host`` header naming localhost, a loopback address or the collector's own host, any port. A request
    without one (HTTP/1.0, not a browser) is let through."""
    if host_header is None:
        return True
    host = host_header.strip().lower()
    if host.startswith("["):  # [::1]:4318
        host = host[1:host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    return host in ("localhost", own_host.lower().strip("[]")) or host.endswith(".localhost") or (
        _is_loopback(host))


def _empty_response(signal: str) -> Any:
    if signal == "traces":
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

        return ExportTraceServiceResponse()
    if signal == "metrics":
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse

        return ExportMetricsServiceResponse()
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

    return ExportLogsServiceResponse()


class Collector:
    """Owns the store and the servers. ``start()`` binds and serves on daemon threads; ``stop()`` ends all."""

    def __init__(self, data_dir: str, *, host: str = "127.0.0.1", http_port: int = 4318,
                 grpc_port: int | None = 4317, token: str | None = None, retention_s: float | None = None,
                 body_limit: int = DEFAULT_BODY_LIMIT, max_pending_spans: int = 200_000,
                 max_unindexed_spans: int = 2_000_000, http_workers: int = 1) -> None:
        if token is not None and not token.strip():
            raise ConfigError("token", token, "a non-empty bearer token (or none, on a loopback address)")
        if not _is_loopback(host) and not token:
            raise ConfigError("host", host, "a loopback address, or any address together with a bearer token "
                              "(--token / LLMOBS_COLLECTOR_TOKEN)")
        if http_workers < 1:
            raise ConfigError("http_workers", http_workers, "1 or more")
        self.host = host
        self.token = token
        self.body_limit = body_limit
        self.data_dir = data_dir
        self.http_workers = http_workers
        self.max_pending_spans = max_pending_spans
        self.max_unindexed_spans = max_unindexed_spans
        self._children: list[Any] = []
        self.large_bodies = threading.Semaphore(1)  # see _LARGE_BODY
        self.store = Store(data_dir, retention_s=retention_s, max_pending_spans=max_pending_spans,
                           max_unindexed_spans=max_unindexed_spans)
        if not self.store.indexing:  # another collector holds the data directory's indexer lock
            self.store.close()
            raise OSError(f"another collector is using the data directory {data_dir}: stop it, or give this one "
                          "another --data-dir")
        self._grpc: Any = None
        self.grpc_port: int | None = None
        try:
            try:
                self._http = _Server((host, http_port), _Handler)
            except OSError as exc:
                raise OSError(f"cannot listen for OTLP/HTTP on {_bracketed(host)}:{http_port}: "
                              f"{exc.strerror or exc}") from None
            self._http.collector = self
            self.http_port = self._http.server_address[1]
            if grpc_port is not None:
                try:
                    self._grpc, self.grpc_port = _grpc_server(self, host, grpc_port)
                except BaseException:
                    self._http.server_close()
                    raise
        except BaseException:  # nothing is left open: the store's threads and the HTTP socket are closed
            self.store.close()
            raise
        self._threads: list[threading.Thread] = []

    @property
    def http_endpoint(self) -> str:
        return f"http://{_bracketed(self.host)}:{self.http_port}"

    @property
    def grpc_endpoint(self) -> str | None:
        return None if self.grpc_port is None else f"http://{_bracketed(self.host)}:{self.grpc_port}"

    def start(self) -> Collector:
        self._start_workers()
        thread = threading.Thread(target=self._http.serve_forever, name="llmobs-collector-http", daemon=True)
        thread.start()
        self._threads.append(thread)
        if self._grpc is not None:
            self._grpc.start()
        return self

    def _start_workers(self) -> None:
        """Extra OTLP/HTTP worker processes on the same listening socket: decoding OTLP is Python work bound
        by one interpreter lock, so more cores need more processes. Each appends through its own store writer
        (SQLite's lock orders their short transactions); this process indexes. The kernel spreads new connections over the processes."""
        import os
        import subprocess
        import sys

        if self.http_workers > 1:
            self._http.socket.setblocking(False)  # shared with the workers: see _worker.main
        fd = self._http.socket.fileno()
        env = {**os.environ, "LLMOBS_COLLECTOR_TOKEN": self.token or ""}
        for _ in range(self.http_workers - 1):
            self._children.append(subprocess.Popen(
                [sys.executable, "-m", "llmobs.collector._worker", str(fd), self.data_dir, str(self.body_limit),
                 str(self.max_pending_spans), str(self.max_unindexed_spans), str(os.getpid())],
                pass_fds=[fd], env=env,
            ))

    def stop(self) -> None:
        for child in self._children:
            child.terminate()
        for child in self._children:
            try:
                child.wait(5)
            except Exception:
                child.kill()
        self._http.shutdown()
        self._http.server_close()
        if self._grpc is not None:
            self._grpc.stop(grace=2).wait(3)
        self.store.close()

    def __enter__(self) -> Collector:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def ingest(self, signal: str, request: Any, raw: bytes | None) -> None:
        ingest(self.store, signal, request, raw)


def ingest(store: Store, signal: str, request: Any, raw: bytes | None) -> None:
    """Store a decoded (so validated) request as received; returns once committed, after which no crash can
    lose it. Its spans are indexed for queries right after (see Store). Raises BadRequest / Overloaded / TimeoutError."""
    spans = otlp.check_spans(request) if signal == "traces" else 0
    body = raw if raw is not None else request.SerializeToString()
    store.write(body, signal=signal, spans=spans)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    collector: Collector

    def __init__(self, address: tuple[str, int], handler: Any, bind_and_activate: bool = True) -> None:
        if ":" in address[0]:  # an IPv6 address such as ::1
            self.address_family = socket.AF_INET6
            address = (address[0].strip("[]"), address[1])
        super().__init__(address, handler, bind_and_activate)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: exporters reuse their connections
    # Headers and body go out in separate writes: with Nagle's algorithm the body waited for the client's
    # delayed ACK, ~44 ms per reply on a kept-alive connection (an OTLP/JSON exporter capped near 22 req/s).
    disable_nagle_algorithm = True
    # A request whose headers or body stop arriving (or a kept-alive connection left idle) is closed after
    # this long, instead of holding a server thread forever.
    timeout = 30.0
    server: _Server

    def handle(self) -> None:
        try:
            super().handle()
        except (TimeoutError, ConnectionError):  # the client stalled mid-body or went away: close, quietly
            self.close_connection = True

    def parse_request(self) -> bool:
        """The request line and headers, then the Host check: a collector without a token answers only to
        loopback host names (and its own host), so a web page that rebinds its DNS name to 127.0.0.1 cannot
        read the telemetry (prompts) from the user's browser."""
        if not super().parse_request():
            return False
        collector = self.server.collector
        if not collector.token and not _host_allowed(self.headers.get("Host"), collector.host):
            self.close_connection = True
            self._json(403, {"error": f"Host {self.headers.get('Host')!r} is not this collector's: without a "
                                      "token it answers only to localhost, loopback addresses and --host"})
            return False
        return True

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    # --- replies ---------------------------------------------------------------------------------------------
    def _reply(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._reply(status, json.dumps(obj, default=str).encode(), _JSON, headers)

    def _otlp_error(self, status: int, message: str, as_json: bool, headers: dict[str, str] | None = None) -> None:
        """An OTLP error reply: a google.rpc.Status with the reason, in the request's encoding."""
        if as_json:
            self._json(status, {"code": status, "message": message}, headers)
            return
        from google.rpc import status_pb2

        self._reply(status, status_pb2.Status(code=status, message=message).SerializeToString(), _PROTOBUF, headers)

    def _authorized(self, allow_cookie: bool = False) -> bool:
        token = self.server.collector.token
        if not token:
            return True
        if bearer_ok(self.headers.get("Authorization"), token):
            return True
        if allow_cookie and _same(_cookie_token(self.headers.get("Cookie", "")), token):
            return True  # the web UI (GET only): set by ``/?token=...``, SameSite=Strict
        self._json(401, {"error": "missing or wrong bearer token"}, {"WWW-Authenticate": "Bearer"})
        return False

    def _drain(self, length: int) -> None:
        """Read and drop a body we refuse, so the connection stays usable."""
        remaining = length
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 16))
            if not chunk:
                break
            remaining -= len(chunk)

    # --- OTLP ------------------------------------------------------------------------------------------------
    def do_POST(self) -> None:
        path = urlsplit(self.path).path.rstrip("/")
        signal = _SIGNALS.get(path)
        length_header = self.headers.get("Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else None
        if signal is None:
            if length:
                self._drain(length)
            self._json(404, {"error": f"no OTLP endpoint at {path}; use /v1/traces, /v1/metrics or /v1/logs"})
            return
        if not self._authorized():
            if length:
                self._drain(length)
            return
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        as_json = content_type == _JSON
        if content_type not in (_PROTOBUF, _JSON):
            if length:
                self._drain(length)
            self._otlp_error(415, f"Content-Type {content_type or '(none)'} is not supported: use "
                                  f"{_PROTOBUF} or {_JSON}", False)
            return
        if length is None:
            self._otlp_error(411, "Content-Length is required", as_json)
            self.close_connection = True
            return
        limit = self.server.collector.body_limit
        if length > limit:
            self._drain(length)
            self._otlp_error(413, f"body of {length} bytes is over the limit of {limit}", as_json)
            return
        large = length > _LARGE_BODY
        if large and not self.server.collector.large_bodies.acquire(timeout=_LARGE_WAIT_S):
            # Another large body is being decoded: its Python objects take several times its bytes. One at a
            # time bounds what the process holds; the exporter retries. The body is read and dropped in 64 KiB
            # pieces (never held), so the client gets its 503 and the connection stays usable.
            self._drain(length)
            self._otlp_error(503, f"a body of {length} bytes waits for another large one, retry later", as_json,
                             {"Retry-After": "1"})
            return
        try:
            self._ingest_body(signal, length, content_type, as_json, limit)
        finally:
            if large:
                self.server.collector.large_bodies.release()
                give_memory_back()

    def _ingest_body(self, signal: str, length: int, content_type: str, as_json: bool, limit: int) -> None:
        body = self.rfile.read(length)
        try:
            data = otlp.decompress(body, self.headers.get("Content-Encoding"), limit)
            if signal == "traces":
                request = otlp.parse_traces(data, content_type)
            else:
                request = otlp.parse_other(data, content_type, signal)
            self.server.collector.ingest(signal, request, data if not as_json else None)
        except otlp.TooLarge as exc:
            self._otlp_error(413, str(exc), as_json)
            return
        except otlp.BadRequest as exc:
            self._otlp_error(400, str(exc), as_json)
            return
        except StorageUnavailable as exc:
            self._otlp_error(503, f"retry later: {exc}", as_json, {"Retry-After": "5"})
            return
        except Overloaded as exc:
            self._otlp_error(503, f"overloaded, retry later: {exc}", as_json, {"Retry-After": "1"})
            return
        except TimeoutError as exc:
            self._otlp_error(503, f"storage is slow, retry later: {exc}", as_json, {"Retry-After": "2"})
            return
        except Exception as exc:  # a bug or a storage failure: nothing was acknowledged
            logger.exception("collector: could not store a %s request", signal)
            self._otlp_error(500, f"could not store the data: {type(exc).__name__}", as_json)
            return
        response = _empty_response(signal)
        if as_json:
            self._reply(200, b"{}", _JSON)
        else:
            self._reply(200, response.SerializeToString(), _PROTOBUF)

    # --- query API -------------------------------------------------------------------------------------------
    def do_GET(self) -> None:
        url = urlsplit(self.path)
        path = url.path.rstrip("/")
        if path in ("/v1/traces", "/v1/metrics", "/v1/logs"):
            self._json(405, {"error": "OTLP endpoints take POST"}, {"Allow": "POST"})
            return
        params = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if path in ("", "/ui") or path.startswith("/ui/"):
            self._ui(path, params)
            return
        if not self._authorized(allow_cookie=True):
            return
        store = self.server.collector.store
        try:
            self._api(path, params, store)
        except ValueError as exc:  # a bad parameter: its name and what it takes
            self._json(400, {"error": str(exc)})
        except sqlite3.OperationalError as exc:  # busy or locked past the timeout: retryable
            self._json(503, {"error": f"the store is busy, retry later: {exc}"}, {"Retry-After": "1"})
        except sqlite3.DatabaseError as exc:  # a damaged index page: rebuilt at the next start
            store.damaged(exc)
            self._json(500, {"error": f"the index is damaged ({exc}); restart the collector to rebuild it "
                                      "from the received requests"})

    def _api(self, path: str, params: dict[str, str], store: Store) -> None:
        known = _API_PARAMS.get("/api/traces/" if path.startswith("/api/traces/") else path, frozenset(params))
        unknown = sorted(set(params) - known)  # an unknown path is a 404 below
        if unknown:  # a misspelt filter would otherwise answer everything
            raise ValueError(f"{unknown[0]}: not a parameter of {path}; it takes "
                             f"{', '.join(sorted(known)) or 'none'}")
        conn = store.reader()
        if path != "/api/health":
            store.sync()  # answers include every span acknowledged before this query
        if path == "/api/health":
            self._json(200, store.health())
        elif path == "/api/traces":
            self._json(200, {"traces": queries.list_traces(
                conn, queries.Filters.from_params(params), *queries.page_params(params, 50))})
        elif path.startswith("/api/traces/"):
            tree = queries.get_trace(conn, path.rsplit("/", 1)[1])
            if tree is None:
                self._json(404, {"error": "no such trace"})
            else:
                self._json(200, {"trace_id": path.rsplit("/", 1)[1].lower(), "spans": tree})
        elif path == "/api/report":
            group_by = tuple(g for g in params.get("group_by", "provider,model").split(",") if g)
            rows = queries.report(conn, queries.Filters.from_params(params), group_by)
            if params.get("format") == "csv":
                from .text import report_csv

                self._reply(200, report_csv(rows, group_by).encode(), "text/csv")
            else:
                self._json(200, {"group_by": list(group_by), "rows": rows})
        elif path == "/api/timeseries":
            bucket = queries.bucket_param(params)
            self._json(200, {"bucket_s": bucket, "rows": queries.timeseries(
                conn, queries.Filters.from_params(params), bucket)})
        elif path == "/api/facets":
            self._json(200, queries.facets(conn, queries.Filters.from_params(params)))
        elif path == "/api/usage":
            by = params.get("by", "user")
            self._json(200, {"by": by, "rows": queries.usage(
                conn, queries.Filters.from_params(params), by, *queries.page_params(params, 50))})
        else:
            self._json(404, {"error": f"no such endpoint: {path}"})

    # --- web UI ----------------------------------------------------------------------------------------------
    def _ui(self, path: str, params: dict[str, str]) -> None:
        """The UI's static files. ``/?token=...`` (a collector with a token) checks the token and keeps it in
        an HttpOnly, SameSite=Strict cookie that the UI's API calls then carry."""
        token = self.server.collector.token
        if token and path == "" and _same(params.get("token"), token):
            cookie = f"{_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
            self._reply(303, b"", "text/plain", {"Location": "/", "Set-Cookie": cookie})
            return
        if not self._authorized(allow_cookie=True):
            return
        name = "index.html" if path in ("", "/ui") else path[len("/ui/"):]
        found = _ui_file(name)
        if found is None:
            self._json(404, {"error": f"no such file: {path}"})
            return
        body, content_type = found
        self._reply(200, body, content_type, {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
                                              "Content-Security-Policy": _CSP})


_COOKIE = "llmobs_token"
_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'"
_UI_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
             ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}
_UI_DIR = Path(__file__).resolve().parent / "ui"


def _cookie_token(header: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == _COOKIE:
            return value
    return None


def _ui_file(name: str) -> tuple[bytes, str] | None:
    """A file of the UI directory (nothing outside it), with its content type."""
    target = (_UI_DIR / name).resolve()
    content_type = _UI_TYPES.get(target.suffix)
    if content_type is None or _UI_DIR not in target.parents or not target.is_file():
        return None
    return target.read_bytes(), content_type


def _grpc_server(collector: Collector, host: str, port: int) -> tuple[Any, int]:
    from concurrent import futures

    import grpc
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

    limit = DEFAULT_BODY_LIMIT
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="llmobs-collector-grpc"),
        # so_reuseport off: gRPC turns it on by default, and a second collector then shared the port with the
        # first, silently, each getting part of the exports.
        options=[("grpc.max_receive_message_length", limit), ("grpc.max_send_message_length", limit),
                 ("grpc.so_reuseport", 0)],
    )
    token = collector.token

    def export(signal: str, request: Any, context: Any, response: Any) -> Any:
        if token:
            metadata = dict(context.invocation_metadata())
            if not bearer_ok(metadata.get("authorization"), token):
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")
        try:
            collector.ingest(signal, request, None)
        except otlp.BadRequest as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except (Overloaded, TimeoutError) as exc:
            context.abort(grpc.StatusCode.UNAVAILABLE, f"overloaded, retry later: {exc}")
        return response

    class Traces(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request: Any, context: Any) -> Any:
            return export("traces", request, context, trace_service_pb2.ExportTraceServiceResponse())

    class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
        def Export(self, request: Any, context: Any) -> Any:
            return export("metrics", request, context, metrics_service_pb2.ExportMetricsServiceResponse())

    class Logs(logs_service_pb2_grpc.LogsServiceServicer):
        def Export(self, request: Any, context: Any) -> Any:
            return export("logs", request, context, logs_service_pb2.ExportLogsServiceResponse())

    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), server)
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), server)
    logs_service_pb2_grpc.add_LogsServiceServicer_to_server(Logs(), server)
    address = f"{_bracketed(host)}:{port}"
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError as exc:  # grpc raises where it cannot bind
        raise OSError(f"cannot listen for OTLP/gRPC on {address}: {exc} (is another collector running?)") from None
    if not bound:
        raise OSError(f"cannot listen for OTLP/gRPC on {address}: the port is in use or the address is not "
                      "this machine's (is another collector running?)")
    return server, bound


def _bracketed(host: str) -> str:
    """An address as it stands before ``:port``: IPv6 in brackets."""
    return f"[{host.strip('[]')}]" if ":" in host else host
