"""The reference collector: OTLP over real loopback HTTP and gRPC, the store, the query API, reports, CLI."""

from __future__ import annotations

import gzip
import json
import threading
import time
import urllib.error
import urllib.request
import zlib

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

import llmobs
from llmobs import ConfigError
from llmobs.__main__ import main as cli
from llmobs.collector import Collector, Store
from llmobs.collector import queries as q

T0 = 1_800_000_000 * 10**9


def kv(key, value):
    if isinstance(value, bool):
        v = AnyValue(bool_value=value)
    elif isinstance(value, int):
        v = AnyValue(int_value=value)
    elif isinstance(value, float):
        v = AnyValue(double_value=value)
    else:
        v = AnyValue(string_value=value)
    return KeyValue(key=key, value=v)


def span(trace, sid, name="chat m", parent=None, start=T0, dur_ms=100, error=False, **attrs):
    return Span(
        trace_id=bytes.fromhex(f"{trace:032x}"), span_id=bytes.fromhex(f"{sid:016x}"),
        parent_span_id=bytes.fromhex(f"{parent:016x}") if parent else b"", name=name,
        start_time_unix_nano=start, end_time_unix_nano=start + dur_ms * 10**6,
        status=Status(code=2 if error else 0), attributes=[kv(k.replace("__", "."), v) for k, v in attrs.items()],
    )


def request(*spans, service="svc"):
    return ExportTraceServiceRequest(resource_spans=[ResourceSpans(
        resource={"attributes": [kv("service.name", service)]}, scope_spans=[ScopeSpans(spans=list(spans))],
    )])


def post(url, body, content_type="application/x-protobuf", headers=None):
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": content_type, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def get(url):
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.fixture
def collector(tmp_path):
    with Collector(str(tmp_path), http_port=0, grpc_port=0) as c:
        yield c


def llm(trace, sid, model="gpt-4o", provider="openai", dur_ms=100, ttfc=None, error=False, **extra):
    attrs = {"gen_ai__operation__name": "chat", "gen_ai__provider__name": provider, "gen_ai__request__model": model,
             "gen_ai__usage__input_tokens": 10, "gen_ai__usage__output_tokens": 5, "llmobs__cost__total_usd": 0.001}
    if ttfc is not None:
        attrs["gen_ai__response__time_to_first_chunk"] = ttfc
    attrs.update(extra)
    return span(trace, sid, name=f"chat {model}", dur_ms=dur_ms, error=error, **attrs)


# --- receiver ----------------------------------------------------------------------------------------------

def test_protobuf_ingest_is_stored_before_the_ack_and_idempotent(collector):
    body = request(span(1, 1, name="root"), llm(1, 2, parent=1)).SerializeToString()
    status, _reply, headers = post(collector.http_endpoint + "/v1/traces", body)
    assert status == 200 and headers["Content-Type"] == "application/x-protobuf"
    assert collector.store.count() == 2  # committed before the 200
    assert post(collector.http_endpoint + "/v1/traces", body)[0] == 200  # an exporter's retry
    assert collector.store.count() == 2
    (row,) = q.report(collector.store.reader(), q.Filters(), ("model",))
    assert row["calls"] == 1  # the report's table is idempotent too


def test_otlp_json_with_hex_ids_string_ints_and_gzip(collector):
    doc = {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "js"}}]},
           "scopeSpans": [{"spans": [{
               "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "chat x",
               "kind": 3, "startTimeUnixNano": str(T0), "endTimeUnixNano": str(T0 + 2 * 10**9),
               "status": {"code": 2},
               "attributes": [
                   {"key": "gen_ai.system", "value": {"stringValue": "openai"}},
                   {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                   {"key": "gen_ai.request.model", "value": {"stringValue": "x"}},
                   {"key": "gen_ai.usage.prompt_tokens", "value": {"intValue": "42"}},
                   {"key": "gen_ai.usage.completion_tokens", "value": {"intValue": "7"}},
               ]}]}]}]}
    status, reply, headers = post(collector.http_endpoint + "/v1/traces", gzip.compress(json.dumps(doc).encode()),
                                  "application/json", {"Content-Encoding": "gzip"})
    assert status == 200 and headers["Content-Type"] == "application/json" and json.loads(reply) == {}
    trace = get(collector.http_endpoint + "/api/traces/5b8efff798038103d269b633813fc60c")
    s = trace["spans"][0]
    assert (s["span_id"], s["kind"], s["service"]) == ("eee19b7ec3c1b174", 3, "js")
    # older names are read: gen_ai.system and prompt/completion tokens
    assert (s["provider"], s["input_tokens"], s["output_tokens"], s["status_code"]) == ("openai", 42, 7, 2)
    assert s["duration_s"] == 2.0


def test_deflate_both_framings(collector):
    body = request(span(2, 1)).SerializeToString()
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    for payload in (zlib.compress(body), raw.compress(body) + raw.flush()):
        assert post(collector.http_endpoint + "/v1/traces", payload, headers={"Content-Encoding": "deflate"})[0] == 200


@pytest.mark.parametrize(("body", "ctype", "headers", "status", "reason"), [
    (b"\xff\xff\xff", "application/x-protobuf", {}, 400, "protobuf"),
    (b"{not json", "application/json", {}, 400, "JSON"),
    (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}', "application/json", {}, 400, "hex"),
    (b"x", "text/plain", {}, 415, "Content-Type"),
    (b"abc", "application/x-protobuf", {"Content-Encoding": "br"}, 400, "Content-Encoding"),
    (b"not gzip", "application/x-protobuf", {"Content-Encoding": "gzip"}, 400, "decompress"),
])
def test_bad_input_gets_a_4xx_with_a_reason(collector, body, ctype, headers, status, reason):
    got, reply, _ = post(collector.http_endpoint + "/v1/traces", body, ctype, headers)
    assert got == status
    text = reply.decode("latin-1")
    assert reason in text
    assert collector.store.count() == 0


def test_wrong_ids_are_rejected_not_stored(collector):
    bad = Span(trace_id=b"\x01" * 8, span_id=b"\x02" * 8, name="short trace id")
    status, reply, _ = post(collector.http_endpoint + "/v1/traces", request(bad).SerializeToString())
    assert status == 400 and b"16 bytes" in reply


def test_body_limit_applies_after_decompression(tmp_path):
    with Collector(str(tmp_path), http_port=0, grpc_port=None, body_limit=10_000) as c:
        big = request(*(span(3, i + 1, name="x" * 200) for i in range(100))).SerializeToString()
        assert len(big) > 10_000
        compressed = gzip.compress(big)
        assert len(compressed) < 10_000
        status, reply, _ = post(c.http_endpoint + "/v1/traces", compressed, headers={"Content-Encoding": "gzip"})
        assert status == 413 and b"limit" in reply
        assert post(c.http_endpoint + "/v1/traces", big)[0] == 413


def test_metrics_and_logs_are_accepted_and_kept(collector):
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

    assert post(collector.http_endpoint + "/v1/metrics", ExportMetricsServiceRequest().SerializeToString())[0] == 200
    assert post(collector.http_endpoint + "/v1/logs", b"{}", "application/json")[0] == 200
    assert post(collector.http_endpoint + "/v1/metrics", b"\xff\x00", "application/x-protobuf")[0] == 400
    kept = collector.store.reader().execute("SELECT signal FROM payloads ORDER BY id").fetchall()
    assert [r[0] for r in kept] == ["metrics", "logs"]
    assert ExportLogsServiceRequest  # both request types decode


def test_unknown_paths_and_methods(collector):
    assert post(collector.http_endpoint + "/v1/nope", b"x")[0] == 404
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(collector.http_endpoint + "/v1/traces", timeout=5)
    assert info.value.code == 405


def test_non_loopback_binding_requires_a_token(tmp_path):
    with pytest.raises(ConfigError, match="token"):
        Collector(str(tmp_path), host="0.0.0.0", http_port=0, grpc_port=None)


def test_bearer_token(tmp_path):
    with Collector(str(tmp_path), http_port=0, grpc_port=None, token="s3cret") as c:
        body = request(span(4, 1)).SerializeToString()
        assert post(c.http_endpoint + "/v1/traces", body)[0] == 401
        assert post(c.http_endpoint + "/v1/traces", body, headers={"Authorization": "Bearer s3cret"})[0] == 200
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(c.http_endpoint + "/api/traces", timeout=5)
        assert info.value.code == 401


def test_overload_is_503_with_retry_after(tmp_path):
    with Collector(str(tmp_path), http_port=0, grpc_port=None, max_pending_spans=1) as c:
        release = threading.Event()
        original = c.store._payload_cutoff
        c.store.retention_s = 1e9

        def slow():  # hold the writer (it computes the cutoff of a retention job before its transaction)
            release.wait(5)
            return original()

        c.store._payload_cutoff = slow
        blocker = threading.Thread(target=c.store.apply_retention)
        blocker.start()
        time.sleep(0.2)
        status, _reply, headers = post(c.http_endpoint + "/v1/traces", request(span(5, 1)).SerializeToString())
        release.set()
        blocker.join()
        assert status == 503 and headers.get("Retry-After") == "1"
        assert post(c.http_endpoint + "/v1/traces", request(span(5, 1)).SerializeToString())[0] == 200


def test_index_backlog_is_bounded_by_back_pressure(tmp_path):
    with Collector(str(tmp_path), http_port=0, grpc_port=None) as c:
        c.store.max_unindexed_spans = 3
        release = threading.Event()
        original = c.store._index_some

        def stalled(*args):  # an indexer that cannot keep up
            release.wait(10)
            return original(*args)

        c.store._index_some = stalled
        c.store._wake.set()
        time.sleep(0.1)
        statuses = []
        for i in range(3):
            statuses.append(post(c.http_endpoint + "/v1/traces", request(span(9, 2 * i + 1), span(9, 2 * i + 2))
                                 .SerializeToString())[0])
            time.sleep(0.3)  # the backlog is re-read 4 times a second
        assert statuses[:2] == [200, 200] and statuses[2] == 503  # 4 spans wait: past the bound of 3
        assert c.store.backlog() == 4
        release.set()
        assert c.store.count() == 4  # the two acknowledged requests, once indexed


def test_grpc_export(collector):
    import grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

    channel = grpc.insecure_channel(f"127.0.0.1:{collector.grpc_port}")
    stub = trace_service_pb2_grpc.TraceServiceStub(channel)
    stub.Export(request(span(6, 1), span(6, 2, parent=1)), timeout=10)
    assert collector.store.count() == 2
    with pytest.raises(grpc.RpcError) as info:
        stub.Export(request(Span(trace_id=b"\x01", span_id=b"\x02")), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    channel.close()


# --- end to end with llmobs --------------------------------------------------------------------------------

@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_llmobs_to_collector_spans_sent_equal_spans_stored(tmp_path, protocol):
    from tests.support.subproc import run_py

    with Collector(str(tmp_path), http_port=0, grpc_port=0) as c:
        endpoint = c.http_endpoint if protocol == "http/protobuf" else c.grpc_endpoint
        run_py(f"""
            import llmobs
            llmobs.instrument(endpoint={endpoint!r}, protocol={protocol!r}, service_name="e2e",
                              metrics_exporter="none")
            for i in range(300):
                with llmobs.span("step"):
                    with llmobs.llm_call(provider="openai", model="gpt-4o-mini") as h:
                        h.record_usage(input_tokens=10, output_tokens=i % 7)
            llmobs.shutdown()
            print("{{}}")
        """)
        assert c.store.count() == 600
        rows = q.report(c.store.reader(), q.Filters(service="e2e"))
        assert rows[0]["calls"] == 300 and rows[0]["input_tokens"] == 3000
        assert rows[0]["output_tokens"] == sum(i % 7 for i in range(300))


# --- queries and reports ---------------------------------------------------------------------------------

@pytest.fixture
def loaded(collector):
    spans = []
    for i in range(20):  # gpt-4o: durations 10..200 ms, every 5th call an error
        spans.append(llm(10 + i, 1, dur_ms=10 * (i + 1), ttfc=0.001 * (i + 1), error=i % 5 == 0,
                         user__id="alice" if i < 10 else "bob", session__id=f"s{i % 2}"))
    for i in range(4):
        spans.append(llm(100 + i, 1, model="claude", provider="anthropic", dur_ms=1000))
    spans.append(span(200, 1, name="not an llm call", dur_ms=5000))
    spans.append(span(201, 1, name="chat q", gen_ai__operation__name="chat", gen_ai__request__model="q",
                      gen_ai__input__messages='[{"role":"user","parts":[{"type":"text","content":"find the needle"}]}]'))
    assert post(collector.http_endpoint + "/v1/traces", request(*spans).SerializeToString())[0] == 200
    assert collector.store.sync()  # tests below read the store directly, not through the API
    return collector


def test_report_percentiles_tokens_cost_and_errors(loaded):
    rows = {r["model"]: r for r in get(loaded.http_endpoint + "/api/report?group_by=provider,model")["rows"]}
    g = rows["gpt-4o"]
    assert (g["calls"], g["errors"], g["error_rate"]) == (20, 4, 0.2)
    # read off 2 %-wide buckets: within 1 % of the nearest-rank value (10th, 19th, 20th of 20)
    assert g["latency_p50_s"] == pytest.approx(0.10, rel=0.01)
    assert g["latency_p95_s"] == pytest.approx(0.19, rel=0.01)
    assert g["latency_p99_s"] == pytest.approx(0.20, rel=0.01)
    assert g["ttfc_p50_s"] == pytest.approx(0.010, rel=0.01) and g["ttfc_p95_s"] == pytest.approx(0.019, rel=0.01)
    assert (g["input_tokens"], g["output_tokens"]) == (200, 100)
    assert g["cost_usd"] == pytest.approx(0.02)
    assert g["output_tokens_per_s"] == pytest.approx(100 / sum(0.01 * (i + 1) for i in range(20)))
    assert rows["claude"]["calls"] == 4 and rows["claude"]["ttfc_p50_s"] is None
    assert "not an llm call" not in json.dumps(rows)


def test_exact_and_bucketed_reports_agree(loaded):
    """Other groupings compute exact nearest-rank percentiles; the model report is within 1 % of them."""
    conn = loaded.store.reader()
    exact = {r["model"]: r for r in q.report(conn, q.Filters(), ("model", "operation"))}
    fast = {r["model"]: r for r in q.report(conn, q.Filters(), ("model",))}
    assert exact["gpt-4o"]["latency_p50_s"] == pytest.approx(0.10)
    assert exact["gpt-4o"]["latency_p95_s"] == pytest.approx(0.19)
    assert exact["gpt-4o"]["ttfc_p95_s"] == pytest.approx(0.019)
    for model in ("gpt-4o", "claude"):
        for field in ("latency_p50_s", "latency_p95_s", "latency_p99_s"):
            assert fast[model][field] == pytest.approx(exact[model][field], rel=0.01)
        for field in ("calls", "errors", "input_tokens", "output_tokens"):
            assert fast[model][field] == exact[model][field]
        assert fast[model]["cost_usd"] == pytest.approx(exact[model]["cost_usd"])


def test_report_group_by_user_and_session_and_filters(loaded):
    by_user = {r["user"]: r["calls"] for r in get(loaded.http_endpoint + "/api/report?group_by=user")["rows"]}
    assert by_user == {"alice": 10, "bob": 10, None: 5}
    errors = get(loaded.http_endpoint + "/api/report?group_by=model&status=error")["rows"]
    assert errors == [pytest.approx(errors[0])] and errors[0]["calls"] == 4
    window = get(loaded.http_endpoint + f"/api/report?group_by=model&since={T0 / 1e9 + 1}")["rows"]
    assert window == []
    bad = urllib.request.Request(loaded.http_endpoint + "/api/report?group_by=colour")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(bad, timeout=5)
    assert info.value.code == 400


def test_trace_list_filters_and_text_search(loaded):
    url = loaded.http_endpoint + "/api/traces"
    assert len(get(url + "?limit=100")["traces"]) == 26
    assert {t["trace_id"][-2:] for t in get(url + "?model=claude")["traces"]} == {"64", "65", "66", "67"}
    assert len(get(url + "?status=error")["traces"]) == 4
    assert len(get(url + "?user=alice")["traces"]) == 10
    found = get(url + "?q=needle")["traces"]
    assert len(found) == 1 and found[0]["root"] == "chat q"
    assert get(url + "?q=100%25")["traces"] == []  # LIKE wildcards are escaped


def test_cli_report_traces_and_trace(loaded, capsys, tmp_path):
    assert cli(["report", "--url", loaded.http_endpoint, "--group-by", "model"]) == 0
    out = capsys.readouterr().out
    assert "gpt-4o" in out and "claude" in out and "p95" in out
    assert cli(["report", "--url", loaded.http_endpoint, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("provider,model,calls,errors,error_rate,latency_p50_s")
    assert len(lines) == 4
    # the database can be read directly, also while the collector runs
    assert cli(["report", "--data-dir", str(loaded.store.path.parent), "--format", "json"]) == 0
    assert {r["model"] for r in json.loads(capsys.readouterr().out)} == {"gpt-4o", "claude", "q"}
    assert cli(["traces", "--url", loaded.http_endpoint, "--status", "error"]) == 0
    assert capsys.readouterr().out.count("ERROR") == 4
    assert cli(["trace", "--url", loaded.http_endpoint, f"{10:032x}"]) == 0
    assert "chat gpt-4o" in capsys.readouterr().out
    assert cli(["trace", "--url", loaded.http_endpoint, "f" * 32]) == 1
    assert cli(["report", "--url", "http://127.0.0.1:9"]) == 1
    assert "no collector answers" in capsys.readouterr().err


def test_retention_drops_old_spans(tmp_path):
    store = Store(str(tmp_path), retention_s=3600)
    now = time.time_ns()
    both = request(span(7, 1, start=now - 7200 * 10**9), span(7, 2, start=now))
    store.write(both.SerializeToString(), signal="traces", spans=2)
    assert store.count() == 2
    store.apply_retention()
    assert store.count() == 1
    received = store.reader().execute("SELECT COUNT(*) FROM received.payloads").fetchone()[0]
    assert received == 1  # arrived just now: kept (requests are dropped by arrival time, once indexed)
    store.close()


def test_parse_time_and_duration():
    assert q.parse_duration("15m") == 900 and q.parse_duration("7d") == 7 * 86400
    assert q.parse_time("1h", now_ns=10**13) == 10**13 - 3600 * 10**9
    assert q.parse_time("2026-01-01T00:00:00Z") == 1767225600 * 10**9
    with pytest.raises(ValueError, match="not a time"):
        q.parse_time("yesterday-ish")
    assert llmobs  # the package imports without the collector's optional pieces


def test_cli_collector_and_fake_llm_commands_run(tmp_path):
    import os
    import re
    import signal
    import subprocess
    import sys

    from tests.support.subproc import ROOT

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "llmobs", "collector", "--port", "0", "--grpc-port", "-1",
                             "--data-dir", str(tmp_path)], stdout=subprocess.PIPE, text=True, env=env)
    fake = subprocess.Popen([sys.executable, "-m", "llmobs", "fake-llm", "--port", "0"], stdout=subprocess.PIPE,
                            text=True, env=env)
    try:
        line = proc.stdout.readline()
        endpoint = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
        assert post(endpoint + "/v1/traces", request(span(42, 1)).SerializeToString())[0] == 200
        assert get(endpoint + "/api/health")["spans"] == 1
        fake_url = re.search(r"http://127\.0\.0\.1:\d+", fake.stdout.readline()).group(0)
        assert get(fake_url + "/health") == {"status": "ok"}
        with pytest.raises(SystemExit):
            cli(["collector", "--host", "0.0.0.0", "--port", "0", "--data-dir", str(tmp_path), "--help"])
    finally:
        for p in (proc, fake):
            p.send_signal(signal.SIGTERM)
            assert p.wait(10) == 0
    assert cli(["collector", "--host", "0.0.0.0", "--port", "0", "--grpc-port", "-1",
                "--data-dir", str(tmp_path / "other")]) == 2  # non-loopback without a token: refused


def test_http_worker_processes_share_the_port_and_stop_cleanly(tmp_path):
    with Collector(str(tmp_path), http_port=0, grpc_port=None, http_workers=2) as c:
        time.sleep(0.5)
        for i in range(20):  # new connections each time: the kernel spreads them over the processes
            assert post(c.http_endpoint + "/v1/traces", request(span(900 + i, 1)).SerializeToString())[0] == 200
        assert c.store.count() == 20
        child = c._children[0]
    assert child.poll() is not None  # stopped with the collector
