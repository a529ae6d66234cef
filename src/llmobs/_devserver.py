"""A minimal in-process OTLP receiver (HTTP/protobuf, and gRPC when asked) for the demo and end-to-end tests.

It keeps what it receives in memory and can print a trace tree and a per-model summary. The full reference
collector (storage, query API, reports, UI) is a separate component; this one exists so that the demo and
the tests exercise real OTLP export over loopback.
"""

from __future__ import annotations

import gzip
import threading
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class ReceivedSpan:
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    start_ns: int
    end_ns: int
    status_code: int
    attributes: dict[str, Any]
    service: str | None

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9


def _value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return tuple(_value(x) for x in v.array_value.values)
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, kind) if kind else None


@dataclass
class Sink:
    spans: list[ReceivedSpan] = field(default_factory=list)
    metric_names: set[str] = field(default_factory=set)
    event_names: list[str] = field(default_factory=list)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)

    def add_traces(self, body: bytes) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        req = ExportTraceServiceRequest()
        req.ParseFromString(body)
        out = []
        for rs in req.resource_spans:
            res = {kv.key: _value(kv.value) for kv in rs.resource.attributes}
            for ss in rs.scope_spans:
                for s in ss.spans:
                    out.append(ReceivedSpan(
                        trace_id=s.trace_id.hex(), span_id=s.span_id.hex(), parent_span_id=s.parent_span_id.hex(),
                        name=s.name, start_ns=s.start_time_unix_nano, end_ns=s.end_time_unix_nano,
                        status_code=s.status.code, attributes={kv.key: _value(kv.value) for kv in s.attributes},
                        service=res.get("service.name"),
                    ))
        with self.arrived:
            self.spans.extend(out)
            self.requests += 1
            self.arrived.notify_all()

    def add_metrics(self, body: bytes) -> None:
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

        req = ExportMetricsServiceRequest()
        req.ParseFromString(body)
        with self.arrived:
            for rm in req.resource_metrics:
                for sm in rm.scope_metrics:
                    for m in sm.metrics:
                        self.metric_names.add(m.name)
            self.requests += 1
            self.arrived.notify_all()

    def add_logs(self, body: bytes) -> None:
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

        req = ExportLogsServiceRequest()
        req.ParseFromString(body)
        with self.arrived:
            for rl in req.resource_logs:
                for sl in rl.scope_logs:
                    self.event_names.extend(r.event_name for r in sl.log_records)
            self.requests += 1
            self.arrived.notify_all()

    def wait_for_event(self, name: str, timeout: float = 10.0) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: name in self.event_names, timeout)

    def wait_for_spans(self, count: int, timeout: float = 10.0) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.spans) >= count, timeout)

    def wait_for_metric(self, name: str, timeout: float = 10.0) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: name in self.metric_names, timeout)

    # --- presentation ----------------------------------------------------------------------------------
    def tree(self) -> str:
        by_parent: dict[str, list[ReceivedSpan]] = defaultdict(list)
        ids = {s.span_id for s in self.spans}
        for s in sorted(self.spans, key=lambda s: s.start_ns):
            parent = s.parent_span_id if s.parent_span_id in ids else ""
            by_parent[parent].append(s)
        lines: list[str] = []

        def walk(parent: str, depth: int) -> None:
            for s in by_parent.get(parent, []):
                lines.append("  " * depth + _describe(s))
                walk(s.span_id, depth + 1)

        walk("", 0)
        return "\n".join(lines)

    def summary(self) -> str:
        rows: dict[tuple[str, str], list[ReceivedSpan]] = defaultdict(list)
        for s in self.spans:
            if s.attributes.get("llmobs.span.kind") in ("llm", "embedding"):
                key = (str(s.attributes.get("gen_ai.provider.name")), str(s.attributes.get("gen_ai.request.model")))
                rows[key].append(s)
        header = f"{'provider':<12} {'model':<26} {'calls':>5} {'errors':>6} {'in':>7} {'out':>7} {'cost $':>10} {'p50 s':>7}"
        lines = [header, "-" * len(header)]
        for (provider, model), spans in sorted(rows.items()):
            durations = sorted(s.duration_s for s in spans)
            priced = [float(s.attributes["llmobs.cost.total_usd"]) for s in spans if "llmobs.cost.total_usd" in s.attributes]
            unpriced = any(s.attributes.get("llmobs.cost.status") == "unpriced" for s in spans)
            cost_text = (f"{sum(priced):.6f}" if priced else "-") + ("*" if unpriced else "")
            lines.append(
                f"{provider:<12} {model:<26} {len(spans):>5} {sum(1 for s in spans if s.status_code == 2):>6} "
                f"{sum(int(s.attributes.get('gen_ai.usage.input_tokens', 0)) for s in spans):>7} "
                f"{sum(int(s.attributes.get('gen_ai.usage.output_tokens', 0)) for s in spans):>7} "
                f"{cost_text:>10} {durations[len(durations) // 2]:>7.3f}"
            )
        return "\n".join(lines)


def _describe(s: ReceivedSpan) -> str:
    a = s.attributes
    bits = [f"{s.name}  [{s.duration_s * 1000:.1f} ms]"]
    if "gen_ai.usage.input_tokens" in a or "gen_ai.usage.output_tokens" in a:
        bits.append(f"tokens {a.get('gen_ai.usage.input_tokens', '-')}->{a.get('gen_ai.usage.output_tokens', '-')}")
    if "llmobs.cost.total_usd" in a:
        bits.append(f"${a['llmobs.cost.total_usd']:.6f}")
    elif a.get("llmobs.cost.status") == "unpriced":
        bits.append("unpriced")
    if "gen_ai.response.time_to_first_chunk" in a:
        bits.append(f"ttft {a['gen_ai.response.time_to_first_chunk'] * 1000:.0f} ms")
    if "error.type" in a:
        bits.append(f"ERROR {a['error.type']}")
    if "user.id" in a:
        bits.append(f"user={a['user.id']}")
    return "  ".join(bits)


class _Handler(BaseHTTPRequestHandler):
    sink: Sink

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        encoding = (self.headers.get("Content-Encoding") or "").lower()
        try:
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            if self.path == "/v1/traces":
                self.sink.add_traces(body)
            elif self.path == "/v1/metrics":
                self.sink.add_metrics(body)
            elif self.path == "/v1/logs":
                self.sink.add_logs(body)
            else:
                self.send_error(404)
                return
        except Exception as exc:
            self.send_error(400, f"malformed OTLP: {type(exc).__name__}")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()


class DevServer:
    """``with DevServer() as srv: ... srv.endpoint`` — OTLP/HTTP on a free loopback port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sink = Sink()
        handler = type("Handler", (_Handler,), {"sink": self.sink})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="llmobs-devserver", daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = str(self._server.server_address[0]), self._server.server_address[1]
        return f"http://{host}:{port}"

    def start(self) -> DevServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> DevServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class GrpcDevServer:
    """OTLP/gRPC trace and metrics receiver on a free loopback port (imports grpc only when used)."""

    def __init__(self) -> None:
        from concurrent import futures

        import grpc
        from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

        self.sink = Sink()
        sink = self.sink

        class Traces(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request: Any, context: Any) -> Any:
                sink.add_traces(request.SerializeToString())
                return trace_service_pb2.ExportTraceServiceResponse()

        class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
            def Export(self, request: Any, context: Any) -> Any:
                sink.add_metrics(request.SerializeToString())
                return metrics_service_pb2.ExportMetricsServiceResponse()

        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), self._server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> GrpcDevServer:
        self._server.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.stop(grace=None)
