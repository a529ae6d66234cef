"""Collector ingest throughput, report latency at scale, and memory under overload.

    python benchmarks/collector/bench_ingest.py [--spans 204800] [--report-rows 1000000]

1. **Ingest**: a collector runs in its own process; a client process sends pre-serialised OTLP/HTTP protobuf
   batches of 512 realistic LLM spans (unique ids, GenAI attributes, ~1.2 KB each) over 4 keep-alive
   connections, each request waiting for its 200, which the collector sends only after the commit. Figure:
   stored spans per second, wall clock from the first request to the last acknowledgement (a request is
   acknowledged once committed to the received log); and the time until the index holds them all (when the
   queries see them).
2. **Report**: a store filled with ``--report-rows`` LLM spans over 20 models; time of the per-model report
   (calls, error rate, p50/p95/p99 latency, TTFT, tokens, cost), warm, best of 3.
3. **Overload**: 8 connections flood a collector whose writer is slowed down; the collector's resident memory
   is sampled and must stay bounded (requests past the queue bound get 503 + Retry-After).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest  # noqa: E402
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue  # noqa: E402
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status  # noqa: E402

MODELS = [f"model-{i}" for i in range(20)]
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))  # collector HTTP worker processes (the CLI default: cores)


def _kv(key: str, value: object) -> KeyValue:
    if isinstance(value, str):
        return KeyValue(key=key, value=AnyValue(string_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(double_value=float(value)))  # type: ignore[arg-type]


def batch(seed: int, size: int = 512, spread_s: float = 0) -> bytes:
    """``size`` LLM spans ending now, or at random times over the last ``spread_s`` seconds."""
    rnd = random.Random(seed)
    now = time.time_ns()
    spans = []
    for _i in range(size):
        model = MODELS[rnd.randrange(len(MODELS))]
        dur = int(rnd.lognormvariate(-0.5, 0.6) * 1e9)
        end = now - int(rnd.random() * spread_s * 1e9) if spread_s else now
        spans.append(Span(
            trace_id=rnd.randbytes(16), span_id=rnd.randbytes(8), parent_span_id=rnd.randbytes(8),
            name=f"chat {model}", kind=3, start_time_unix_nano=end - dur, end_time_unix_nano=end,
            status=Status(code=2 if rnd.random() < 0.02 else 0),
            attributes=[
                _kv("gen_ai.operation.name", "chat"), _kv("gen_ai.provider.name", "openai"),
                _kv("gen_ai.request.model", model), _kv("gen_ai.response.model", model + "-2025"),
                _kv("server.address", "api.openai.com"), _kv("server.port", 443),
                _kv("gen_ai.usage.input_tokens", rnd.randrange(50, 4000)),
                _kv("gen_ai.usage.output_tokens", rnd.randrange(5, 800)),
                _kv("gen_ai.response.time_to_first_chunk", dur / 1e9 * 0.2),
                _kv("llmobs.cost.total_usd", rnd.random() / 100), _kv("llmobs.cost.status", "priced"),
                _kv("gen_ai.response.finish_reasons", "stop"), _kv("user.id", f"user-{rnd.randrange(500)}"),
                _kv("session.id", f"sess-{rnd.randrange(5000)}"), _kv("llmobs.span.kind", "llm"),
            ],
        ))
    req = ExportTraceServiceRequest(resource_spans=[ResourceSpans(
        resource={"attributes": [_kv("service.name", "bench")]}, scope_spans=[ScopeSpans(spans=spans)],
    )])
    return req.SerializeToString()


def start_collector(data_dir: str, extra: list[str] | None = None) -> tuple[subprocess.Popen[str], int]:
    code = (
        "import sys, signal, threading; sys.path.insert(0, {!r})\n"
        "from llmobs.collector import Collector\n"
        "c = Collector({!r}, http_port=0, grpc_port=None, http_workers=int({!r}){}).start()\n"
        "print(c.http_port, flush=True)\n"
        "threading.Event().wait()\n"
    ).format(str(ROOT / "src"), data_dir, str(WORKERS), "".join(extra or []))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    return proc, port


def send_all(port: int, bodies: list[bytes], connections: int) -> tuple[float, dict[int, int]]:
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    work = list(bodies)

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if not work:
                    break
                body = work.pop()
            conn.request("POST", "/v1/traces", body, {"Content-Type": "application/x-protobuf"})
            resp = conn.getresponse()
            resp.read()
            with lock:
                statuses[resp.status] = statuses.get(resp.status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, statuses


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _indexed(data_dir: str) -> int:
    import sqlite3

    conn = sqlite3.connect(Path(data_dir) / "llmobs.db", timeout=30)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM spans").fetchone()[0])
    finally:
        conn.close()


def bench_ingest(n_spans: int) -> dict[str, float]:
    n_batches = max(n_spans // 512, 1)
    bodies = [batch(i) for i in range(n_batches)]
    with tempfile.TemporaryDirectory() as d:
        proc, port = start_collector(d)
        try:
            send_all(port, [batch(10**6 + i) for i in range(4)], 4)  # warm-up
            while _indexed(d) < 2048:
                time.sleep(0.01)
            t0 = time.perf_counter()
            elapsed, statuses = send_all(port, bodies, 4)
            # The same spans as the queries see them: every acknowledged span indexed.
            while _indexed(d) < 2048 + n_batches * 512:
                time.sleep(0.01)
            indexed_s = time.perf_counter() - t0
        finally:
            proc.terminate()
            proc.wait()
        stored = _indexed(d) - 2048
    return {"spans_sent": n_batches * 512, "spans_stored": stored, "seconds": round(elapsed, 2),
            "spans_per_s": round(n_batches * 512 / elapsed), "indexed_s": round(indexed_s, 2),
            "indexed_spans_per_s": round(n_batches * 512 / indexed_s),
            "http_statuses": statuses}  # type: ignore[dict-item]


def bench_report(rows: int) -> dict[str, float]:
    from llmobs.collector import queries
    from llmobs.collector.store import Store

    with tempfile.TemporaryDirectory() as d:
        store = Store(d)
        t0 = time.perf_counter()
        done = 0
        seed = 0
        while done < rows:
            store.write(batch(seed, 2048), signal="traces", spans=2048)
            done += 2048
            seed += 1
        assert store.sync(timeout=600)
        fill_s = time.perf_counter() - t0
        import sqlite3

        sqlite3.connect(store.path).execute("ANALYZE")  # what a long-running collector's optimiser knows
        conn = store.reader()
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            report = queries.report(conn, queries.Filters(), ("model",))
            times.append(time.perf_counter() - t0)
        assert len(report) == len(MODELS)
        t0 = time.perf_counter()
        queries.list_traces(conn, queries.Filters(model="model-3"), 50)
        list_s = time.perf_counter() - t0
        size_mb = (Path(d) / "llmobs.db").stat().st_size / 1e6
        store.close()
    return {"rows": done, "fill_s": round(fill_s, 1), "report_p95_per_model_s": round(min(times), 3),
            "trace_list_filtered_s": round(list_s, 3), "db_mb": round(size_mb)}


def _flood(extra: str, n_batches: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as d:
        proc, port = start_collector(d, [extra])
        try:
            bodies = [batch(i) for i in range(n_batches)]
            samples: list[int] = []
            stop = threading.Event()

            def sample() -> None:
                while not stop.is_set():
                    samples.append(rss_kb(proc.pid))
                    time.sleep(0.05)

            sampler = threading.Thread(target=sample)
            sampler.start()
            elapsed, statuses = send_all(port, bodies, 8)
            stop.set()
            sampler.join()
        finally:
            proc.terminate()
            proc.wait()
    return {"requests": sum(statuses.values()), "statuses": statuses, "rss_max_mb": round(max(samples) / 1024),
            "seconds": round(elapsed, 2)}


def bench_overload() -> dict[str, object]:
    """8 senders against (a) a writer queue with room for 4 batches, (b) an index backlog bound of 50k spans
    that a flood of 400k spans overruns: memory must stay bounded and the excess must get 503s."""
    return {
        "writer_queue": _flood(", max_pending_spans=2048", 240),
        "index_backlog": _flood(", max_unindexed_spans=50_000", 800),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spans", type=int, default=204_800)
    parser.add_argument("--report-rows", type=int, default=1_000_000)
    parser.add_argument("--skip", default="", help="comma list of ingest,report,overload to skip")
    args = parser.parse_args()
    skip = set(args.skip.split(","))
    results: dict[str, object] = {}
    if "ingest" not in skip:
        results["ingest"] = bench_ingest(args.spans)
        print("ingest", results["ingest"], flush=True)
    if "overload" not in skip:
        results["overload"] = bench_overload()
        print("overload", results["overload"], flush=True)
    if "report" not in skip:
        results["report"] = bench_report(args.report_rows)
        print("report", results["report"], flush=True)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "collector.json").write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
