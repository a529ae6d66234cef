"""The collector never stops indexing: a value the index cannot hold is clamped, a request that still cannot be
indexed is set aside (a poison row) and the ones after it are indexed, a failing write is retried until it
works again, and while the store cannot write, ingest answers 503 with Retry-After. /api/health says so."""

from __future__ import annotations

import json
import logging
import sqlite3
import time

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from llmobs.collector import Collector, otlp
from llmobs.collector import store as store_module
from tests.test_collector import T0, get, llm, post, request, span

U64_MAX = 2**64 - 1


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def spans_by_id(collector, trace):
    tree = get(f"{collector.http_endpoint}/api/traces/{trace:032x}")["spans"]
    found = {}

    def walk(nodes):
        for node in nodes:
            found[node["span_id"]] = node
            walk(node.get("children", []))

    walk(tree)
    return found


def poison_values():
    """Spans with values past what SQLite's 64-bit integers hold, each of which stopped the indexer for good."""
    late = span(1, 1, name="starts after 2262")
    late.start_time_unix_nano, late.end_time_unix_nano = U64_MAX - 10, U64_MAX  # a "negative" fixed64 too
    return [
        late,
        llm(2, 1, gen_ai__usage__input_tokens=1e20),  # a count sent as a double
        llm(3, 1, gen_ai__usage__input_tokens=2**63 - 1),  # two of them would overflow a rollup's sum
        llm(3, 2, gen_ai__usage__input_tokens=2**63 - 1),
        llm(4, 1, gen_ai__usage__output_tokens=-5, gen_ai__response__time_to_first_chunk=float("inf")),
    ]


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_values_out_of_range_are_clamped_and_indexing_goes_on(tmp_path, transport, caplog):
    with Collector(str(tmp_path), http_port=0, grpc_port=0 if transport == "grpc" else None) as c:
        body = request(*poison_values())
        if transport == "http":
            assert post(c.http_endpoint + "/v1/traces", body.SerializeToString())[0] == 200
        else:
            import grpc
            from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

            with grpc.insecure_channel(f"127.0.0.1:{c.grpc_port}") as channel:
                trace_service_pb2_grpc.TraceServiceStub(channel).Export(body, timeout=10)
        assert post(c.http_endpoint + "/v1/traces", request(llm(5, 1)).SerializeToString())[0] == 200
        assert c.store.count() == 6  # every span, the one sent after them included, is queryable
        health = get(c.http_endpoint + "/api/health")
        assert health["status"] == "ok" and health["clamped_spans"] == 5 and health["poison_requests"] == 0
        late = spans_by_id(c, 1)["0000000000000001"]
        assert late["start_ns"] == otlp.INT64_MAX
        counted = spans_by_id(c, 2)["0000000000000001"]
        assert counted["input_tokens"] == otlp.TOKENS_MAX
        report = get(c.http_endpoint + f"/api/report?since={T0 // 10**9 - 3600}")["rows"]
        assert sum(r["calls"] for r in report) == 5  # the LLM calls, summed without overflow
        assert sum(r["input_tokens"] for r in report) == 3 * otlp.TOKENS_MAX + 10 + 10
        inf_ttfc = spans_by_id(c, 4)["0000000000000001"]
        assert inf_ttfc["output_tokens"] == 0 and inf_ttfc["ttfc_s"] is None
    assert "clamped in the index" in caplog.text


def test_a_request_that_cannot_be_indexed_is_set_aside_and_survives_a_restart(tmp_path, monkeypatch, caplog):
    real_rows = store_module.index_rows

    def rows_with_a_bad_value(body, payload_id, clamped=None):
        rows = real_rows(body, payload_id, clamped)
        if any(row[3] == "poison" for row in rows):  # a value no clamp catches: the poison-row path
            return [(*row[:7], 2**70, *row[8:]) for row in rows]
        return rows

    monkeypatch.setattr(store_module, "index_rows", rows_with_a_bad_value)
    with Collector(str(tmp_path), http_port=0, grpc_port=None) as c:
        c.store._wake.clear()
        bodies = [request(span(1, 1)), request(span(2, 1, name="poison"), span(2, 2)), request(span(3, 1))]
        for body in bodies:
            assert post(c.http_endpoint + "/v1/traces", body.SerializeToString())[0] == 200
        assert c.store.count() == 2  # the requests before and after the poison one
        health = get(c.http_endpoint + "/api/health")
        assert health["poison_requests"] == 1 and health["status"] == "ok" and health["unindexed"] == 0
    assert "cannot be indexed and is set aside" in caplog.text
    with Collector(str(tmp_path), http_port=0, grpc_port=None) as c:  # a restart does not die on it
        assert post(c.http_endpoint + "/v1/traces", request(span(4, 1)).SerializeToString())[0] == 200
        assert c.store.count() == 3
        assert get(c.http_endpoint + "/api/health")["poison_requests"] == 1
    with sqlite3.connect(tmp_path / "llmobs.db") as db:
        ((error,),) = db.execute("SELECT error FROM poison").fetchall()
    assert error.startswith("OverflowError")


def test_a_failing_index_write_is_retried_until_it_works(tmp_path, monkeypatch, caplog):
    """A full disk under the index: the indexer backs off, /api/health says why, and it resumes by itself."""
    monkeypatch.setattr(store_module, "_BACKOFF_S", (0.01, 0.05))
    failing = {"on": True}
    real_commit = store_module.Store._commit

    def commit(self, *args):
        if failing["on"]:
            raise sqlite3.OperationalError("database or disk is full")
        return real_commit(self, *args)

    monkeypatch.setattr(store_module.Store, "_commit", commit)
    caplog.set_level(logging.WARNING, "llmobs.collector")
    with Collector(str(tmp_path), http_port=0, grpc_port=None) as c:
        assert post(c.http_endpoint + "/v1/traces", request(span(1, 1), span(1, 2)).SerializeToString())[0] == 200
        assert wait_for(lambda: c.store.index_failure is not None)
        health = get(c.http_endpoint + "/api/health")
        assert health["status"] == "degraded" and health["unindexed"] == 2
        assert any("indexing is failing" in r and "disk is full" in r for r in health["reasons"])
        started = time.monotonic()
        assert c.store.count() == 0  # a query does not wait 10 s for an indexer that is failing
        assert time.monotonic() - started < 2
        failing["on"] = False
        assert wait_for(lambda: c.store.index_failure is None)  # resumed by itself, without a restart
        assert c.store.count() == 2
        assert get(c.http_endpoint + "/api/health")["status"] == "ok"
    assert "indexing stopped" in caplog.text and "indexing resumed" in caplog.text


def test_health_says_degraded_when_indexing_is_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "_BEHIND_S", 0.2)
    with Collector(str(tmp_path), http_port=0, grpc_port=None) as c:
        original = c.store._index_some
        stalled = {"on": True}

        def slow(*args):
            while stalled["on"]:
                time.sleep(0.01)
            return original(*args)

        c.store._index_some = slow
        assert post(c.http_endpoint + "/v1/traces", request(span(1, 1)).SerializeToString())[0] == 200
        time.sleep(0.4)
        health = get(c.http_endpoint + "/api/health")
        assert health["status"] == "degraded" and any("behind" in r for r in health["reasons"])
        stalled["on"] = False
        assert c.store.count() == 1 and get(c.http_endpoint + "/api/health")["status"] == "ok"


def test_a_full_disk_at_ingest_is_503_with_retry_after_then_200_again(tmp_path):
    """The received-requests database cannot grow (SQLite's own "database or disk is full"): nothing is
    acknowledged, OTLP exporters are told to retry (503 + Retry-After, gRPC UNAVAILABLE), and once there is
    room again the same request is stored and indexed, without a restart."""
    import grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

    with Collector(str(tmp_path), http_port=0, grpc_port=0) as c:
        writer = c.store._writer_conn
        assert post(c.http_endpoint + "/v1/traces", request(span(1, 1)).SerializeToString())[0] == 200
        (pages,) = writer.execute("PRAGMA page_count").fetchone()
        writer.execute(f"PRAGMA max_page_count = {pages}")
        big = request(*[span(2, i + 1, name="x" * 2000) for i in range(20)]).SerializeToString()
        status, reply, headers = post(c.http_endpoint + "/v1/traces", big)
        assert status == 503 and headers.get("Retry-After") == "5"
        assert b"disk is full" in reply
        with grpc.insecure_channel(f"127.0.0.1:{c.grpc_port}") as channel, pytest.raises(grpc.RpcError) as info:
            trace_service_pb2_grpc.TraceServiceStub(channel).Export(request(*[
                span(3, i + 1, name="y" * 2000) for i in range(20)]), timeout=10)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        health = get(c.http_endpoint + "/api/health")
        assert health["status"] == "degraded" and any("cannot write" in r for r in health["reasons"])
        writer.execute("PRAGMA max_page_count = 1073741823")
        assert post(c.http_endpoint + "/v1/traces", big)[0] == 200
        assert c.store.count() == 21
        assert get(c.http_endpoint + "/api/health")["status"] == "ok"


@pytest.mark.parametrize(("trace_id", "span_id", "field"), [
    (bytes(16), b"\x01" * 8, "trace_id"), (b"\x01" * 16, bytes(8), "span_id")], ids=["trace_id", "span_id"])
def test_all_zero_ids_are_refused(tmp_path, trace_id, span_id, field):
    import grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

    with Collector(str(tmp_path), http_port=0, grpc_port=0) as c:
        bad = request(Span(trace_id=trace_id, span_id=span_id, name="zero", start_time_unix_nano=T0))
        status, reply, _ = post(c.http_endpoint + "/v1/traces", bad.SerializeToString())
        assert status == 400 and f"all-zero {field}".encode() in reply
        with grpc.insecure_channel(f"127.0.0.1:{c.grpc_port}") as channel, pytest.raises(grpc.RpcError) as info:
            trace_service_pb2_grpc.TraceServiceStub(channel).Export(bad, timeout=10)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in info.value.details()
        assert c.store.count() == 0


def test_json_nested_too_deeply_is_a_400(collector):
    """100,000 levels of JSON (a RecursionError in the parser, once a 500), and a value nested deeper than
    protobuf takes inside a well-formed request: each a 400 with a reason, nothing stored."""
    depth = 100_000
    body = ('{"resourceSpans": ' + "[" * depth + "]" * depth + "}").encode()
    status, reply, _ = post(collector.http_endpoint + "/v1/traces", body, "application/json")
    assert status == 400 and b"nested too deeply" in reply
    value: dict = {"stringValue": "leaf"}
    for _ in range(300):
        value = {"arrayValue": {"values": [value]}}
    deep = {"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": "01" * 16, "spanId": "02" * 8, "name": "deep", "attributes": [{"key": "k", "value": value}]}]}]}]}
    status, reply, _ = post(collector.http_endpoint + "/v1/traces", json.dumps(deep).encode(), "application/json")
    assert status == 400 and b"OTLP/JSON" in reply, reply
    assert collector.store.count() == 0


@pytest.fixture
def collector(tmp_path):
    with Collector(str(tmp_path), http_port=0, grpc_port=None) as c:
        yield c


# --- the index is derived data: an unreadable one, or one of another received.db, is rebuilt ---------------

def _store_three_spans(data_dir):
    with Collector(str(data_dir), http_port=0, grpc_port=None) as c:
        assert post(c.http_endpoint + "/v1/traces", request(span(1, 1), span(1, 2), span(2, 1))
                    .SerializeToString())[0] == 200
        assert c.store.count() == 3


@pytest.mark.parametrize("damage", ["truncated", "bad header", "empty"])
def test_an_unreadable_index_is_moved_aside_and_rebuilt(tmp_path, damage, caplog):
    _store_three_spans(tmp_path)
    index = tmp_path / "llmobs.db"
    data = index.read_bytes()
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"llmobs.db{suffix}").unlink(missing_ok=True)
    index.write_bytes({"truncated": data[:1000], "bad header": b"not a database" + data[14:],
                       "empty": b"\0" * 4096}[damage])
    with Collector(str(tmp_path), http_port=0, grpc_port=None) as c:
        assert c.store.count() == 3  # rebuilt from received.db
        assert get(c.http_endpoint + "/api/health")["status"] == "ok"
    assert list(tmp_path.glob("llmobs.db.unreadable-*")), "the damaged file is kept aside, not deleted"
    assert "moved aside" in caplog.text


def test_a_damaged_index_page_is_a_clear_error_then_rebuilt_at_the_next_start(tmp_path, monkeypatch):
    """Garbage inside the index (a page SQLite finds malformed) once dropped the connection of /api/traces."""
    _store_three_spans(tmp_path)
    with Collector(str(tmp_path), http_port=0, grpc_port=None) as c:
        def malformed(*args, **kwargs):
            raise sqlite3.DatabaseError("database disk image is malformed")

        monkeypatch.setattr("llmobs.collector.queries.list_traces", malformed)
        status, body = _get_status(c.http_endpoint + "/api/traces")
        assert status == 500 and "damaged" in body["error"] and "restart" in body["error"]
        health = get(c.http_endpoint + "/api/health")
        assert health["status"] == "degraded" and any("damaged" in r for r in health["reasons"])
        monkeypatch.undo()
    assert (tmp_path / "llmobs.db.damaged").exists()
    with Collector(str(tmp_path), http_port=0, grpc_port=None) as c:
        assert c.store.count() == 3 and get(c.http_endpoint + "/api/health")["status"] == "ok"
    assert not (tmp_path / "llmobs.db.damaged").exists() and list(tmp_path.glob("llmobs.db.unreadable-*"))


def test_a_recreated_received_db_is_indexed_from_its_first_request(tmp_path, caplog):
    """The index records which received.db it was built from: a new received.db (its ids start at 1 again)
    is indexed from the start instead of being skipped up to the old resume point."""
    _store_three_spans(tmp_path)
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"received.db{suffix}").unlink(missing_ok=True)
    with Collector(str(tmp_path), http_port=0, grpc_port=None) as c:
        assert post(c.http_endpoint + "/v1/traces", request(span(7, 1)).SerializeToString())[0] == 200
        assert c.store.count() == 1  # the new request, and nothing the old received.db no longer holds
        (only,) = get(c.http_endpoint + "/api/traces")["traces"]
        assert only["trace_id"] == f"{7:032x}"
    assert "built from another received.db" in caplog.text


# --- every bad query parameter is a 400 that names it ------------------------------------------------------

def _get_status(url):
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.parametrize(("query", "name"), [
    ("/api/traces?since=inf", "since"), ("/api/traces?since=1e400", "since"), ("/api/report?since=1e19", "since"),
    ("/api/report?until=9999-12-31T23:59:59", "until"), ("/api/report?since=99999999999999999999d", "since"),
    ("/api/facets?since=nan", "since"), ("/api/traces?since=yesterday", "since"),
    ("/api/usage?limit=99999999999999999999", "limit"), ("/api/usage?offset=-5", "offset"),
    ("/api/traces?limit=0", "limit"), ("/api/traces?limit=ten", "limit"),
    ("/api/timeseries?bucket=99999999999999999999", "bucket"), ("/api/timeseries?bucket=0", "bucket"),
    ("/api/traces?since=2h&until=3h", "until"),
])
def test_a_bad_query_parameter_is_a_400_naming_it(collector, query, name):
    status, body = _get_status(collector.http_endpoint + query)
    assert status == 400, body
    assert body["error"].startswith(f"{name}:"), body


def test_good_parameters_still_work(collector):
    assert post(collector.http_endpoint + "/v1/traces", request(llm(1, 1)).SerializeToString())[0] == 200
    for query in ("/api/traces?limit=10000&offset=0", "/api/report?since=2020-01-01T00:00:00Z&until=2200-01-01",
                  "/api/timeseries?bucket=1m&since=0", "/api/usage?limit=1"):
        assert _get_status(collector.http_endpoint + query)[0] == 200, query


# --- connections: no Nagle stall, no thread held forever, no DNS rebinding, tokens compared safely ----------

def test_replies_are_sent_without_waiting_for_the_clients_ack(tmp_path, monkeypatch):
    """Headers and body are two writes: with Nagle's algorithm on, the body waited ~44 ms for the client's
    delayed ACK on every kept-alive reply. The accepted sockets have TCP_NODELAY (the fake LLM server's too)."""
    import socket

    from llmobs.collector import server as server_module
    from llmobs.fake_llm import _Handler as FakeHandler

    seen = []
    original = server_module._Handler.setup

    def setup(self):
        original(self)
        seen.append(self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    monkeypatch.setattr(server_module._Handler, "setup", setup)
    with Collector(str(tmp_path), http_port=0, grpc_port=None) as c:
        assert get(c.http_endpoint + "/api/health")["status"] == "ok"
    assert seen and all(seen)
    assert FakeHandler.disable_nagle_algorithm is True


@pytest.mark.parametrize("stalled", ["headers", "body"])
def test_a_request_that_never_finishes_is_closed(tmp_path, monkeypatch, capsys, stalled):
    """A read timeout (30 s; shortened here) closes it, quietly: no thread held forever, no traceback."""
    import socket

    from llmobs.collector import server as server_module

    assert 0 < server_module._Handler.timeout <= 60
    monkeypatch.setattr(server_module._Handler, "timeout", 0.3)
    with Collector(str(tmp_path), http_port=0, grpc_port=None) as c:
        with socket.create_connection(("127.0.0.1", c.http_port), timeout=5) as sock:
            if stalled == "headers":
                sock.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            else:
                sock.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf"
                             b"\r\nContent-Length: 1000\r\n\r\n" + b"\x0a" * 10)
            started = time.monotonic()
            while sock.recv(4096):  # whatever the server says, then the end of the connection
                pass
            assert time.monotonic() - started < 4
        assert post(c.http_endpoint + "/v1/traces", request(span(1, 1)).SerializeToString())[0] == 200
    assert "Traceback" not in capsys.readouterr().err


def _raw_get(port, path, host, headers=""):
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{headers}\r\n".encode())
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    status = int(reply.split(b" ", 2)[1])
    return status, reply.partition(b"\r\n\r\n")[2]


def test_without_a_token_only_loopback_host_names_are_answered(collector):
    """DNS rebinding: a page at attacker.example whose name now resolves to 127.0.0.1 must not read prompts."""
    port = collector.http_port
    for host in ("attacker.example", f"attacker.example:{port}", "192.168.1.10", "localhost.attacker.example"):
        status, body = _raw_get(port, "/api/traces", host)
        assert status == 403 and b"not this collector's" in body, host
    status, _ = _raw_get(port, "/", "attacker.example")
    assert status == 403
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "[::1]:4318", "127.0.0.2", "LOCALHOST", "app.localhost"):
        assert _raw_get(port, "/api/traces", host)[0] == 200, host


def test_with_a_token_any_host_name_is_answered_with_the_token(tmp_path):
    with Collector(str(tmp_path), http_port=0, grpc_port=None, token="s3cret") as c:
        port = c.http_port
        assert _raw_get(port, "/api/traces", "collector.internal:4318")[0] == 401
        for scheme in ("Bearer", "bearer", "BEARER"):
            assert _raw_get(port, "/api/traces", "collector.internal",
                            f"Authorization: {scheme} s3cret\r\n")[0] == 200, scheme
        assert _raw_get(port, "/api/traces", "x", "Authorization: Bearer s3cre\r\n")[0] == 401
        assert _raw_get(port, "/api/traces", "x", "Authorization: Basic s3cret\r\n")[0] == 401


def test_grpc_bearer_scheme_is_case_insensitive(tmp_path):
    import grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

    with Collector(str(tmp_path), http_port=0, grpc_port=0, token="s3cret") as c:
        with grpc.insecure_channel(f"127.0.0.1:{c.grpc_port}") as channel:
            stub = trace_service_pb2_grpc.TraceServiceStub(channel)
            stub.Export(request(span(1, 1)), metadata=[("authorization", "bearer s3cret")], timeout=10)
            with pytest.raises(grpc.RpcError) as info:
                stub.Export(request(span(1, 2)), metadata=[("authorization", "Bearer wrong")], timeout=10)
            assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert c.store.count() == 1


@pytest.mark.parametrize("token", ["", "   "])
def test_an_empty_token_is_refused_at_start(tmp_path, token):
    from llmobs import ConfigError

    with pytest.raises(ConfigError, match="token"):
        Collector(str(tmp_path), http_port=0, grpc_port=None, token=token)


# --- ports and addresses ----------------------------------------------------------------------------------

def test_a_second_collector_on_a_taken_grpc_port_is_refused(tmp_path):
    """gRPC turns SO_REUSEPORT on by default: a second collector shared the port with the first, silently,
    each taking part of the exports. Now it refuses to start, naming the port, and leaves nothing open."""
    with Collector(str(tmp_path / "a"), http_port=0, grpc_port=0) as first:
        with pytest.raises(OSError, match=f"OTLP/gRPC on 127.0.0.1:{first.grpc_port}"):
            Collector(str(tmp_path / "b"), http_port=0, grpc_port=first.grpc_port)
        with pytest.raises(OSError, match=f"OTLP/HTTP on 127.0.0.1:{first.http_port}"):
            Collector(str(tmp_path / "c"), http_port=first.http_port, grpc_port=None)
        assert post(first.http_endpoint + "/v1/traces", request(span(1, 1)).SerializeToString())[0] == 200


def _ipv6_loopback():
    import socket

    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")
def test_ipv6_loopback_serves_http_and_grpc(tmp_path):
    import grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

    with Collector(str(tmp_path), host="::1", http_port=0, grpc_port=0) as c:
        assert c.http_endpoint.startswith("http://[::1]:")
        assert post(c.http_endpoint + "/v1/traces", request(span(1, 1)).SerializeToString())[0] == 200
        with grpc.insecure_channel(f"[::1]:{c.grpc_port}") as channel:
            trace_service_pb2_grpc.TraceServiceStub(channel).Export(request(span(1, 2)), timeout=10)
        assert get(c.http_endpoint + "/api/health")["spans"] == 2


# --- the CLI shows what arrives in telemetry, never runs it in the operator's terminal ---------------------

HOSTILE = "\x1b]0;pwned\x07\x1b[31mred\x1b[0m\nfake line\x9b"


def test_cli_output_escapes_control_characters(collector, capsys):
    from llmobs.__main__ import main as cli

    hostile = llm(1, 1, model=HOSTILE, provider=HOSTILE, error=True, error__type=HOSTILE)
    hostile.name = HOSTILE
    assert post(collector.http_endpoint + "/v1/traces", request(hostile, service=HOSTILE)
                .SerializeToString())[0] == 200
    capsys.readouterr()
    url = collector.http_endpoint
    for argv in (["trace", "--url", url, f"{1:032x}"], ["traces", "--url", url],
                 ["report", "--url", url, "--since", "0", "--group-by", "service,provider,model"],
                 ["report", "--url", url, "--since", "0", "--format", "csv", "--group-by", "model"]):
        assert cli(argv) == 0, argv
        out = capsys.readouterr().out
        assert not any((ord(ch) < 0x20 and ch != "\n") or 0x7F <= ord(ch) < 0xA0 for ch in out), (argv, out)
        assert "fake line" not in out.splitlines()  # a value cannot forge a line of its own
        assert r"\x1b]0;pwned\x07" in out, (argv, out)


# --- the CLI answers mistakes with one clear line and a non-zero exit, never a traceback --------------------

def _cli(argv, capsys):
    from llmobs.__main__ import main as cli

    capsys.readouterr()
    try:
        code = cli(argv)
    except SystemExit as exc:  # argparse: its usage line, then the error
        code = exc.code
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err, captured.err
    return code, captured.err.strip().splitlines()[-1] if captured.err.strip() else ""


def test_cli_mistakes_get_one_clear_line(collector, tmp_path, capsys):
    url = collector.http_endpoint
    assert post(url + "/v1/traces", request(llm(5, 1)).SerializeToString())[0] == 200
    cases = [
        (["report", "--url", url, "--since", "99999999999999999999"], "since: '99999999999999999999'"),
        (["report", "--url", url, "--since", "2h", "--until", "3h"], "until: '3h' is before since '2h'"),
        (["traces", "--data-dir", str(collector.store.dir), "--since", "2h", "--until", "3h"], "is before since"),
        (["report", "--url", url, "--group-by", ""], "--group-by"),
        (["report", "--url", url, "--group-by", "colour"], "colour"),
        (["trace", "--url", url, f"{5:032x}?x=1"], "not a trace id"),
        (["traces", "--url", url, "--limit", "-1"], "--limit"),
        (["traces", "--url", url, "--limit", "0"], "--limit"),
        (["traces", "--url", url, "--offset", "-5"], "--offset"),
        (["collector", "--port", "99999"], "--port"),
        (["collector", "--retention", "forever"], "--retention"),
        (["collector", "--host", "0.0.0.0", "--data-dir", str(tmp_path / "d"), "--port", "0", "--grpc-port", "-1"],
         "host"),
    ]
    for argv, needle in cases:
        code, line = _cli(argv, capsys)
        assert code not in (0, None) and needle in line, (argv, code, line)
        assert "llmobs: llmobs" not in line and "collector: llmobs:" not in line, line
    code, _ = _cli(["trace", "--url", url, f"{5:032x} "], capsys)  # a pasted id with a space is fine
    assert code == 0


def test_collector_start_mistakes_name_the_cause(collector, tmp_path, capsys):
    a_file = tmp_path / "not-a-dir"
    a_file.write_text("x")
    code, line = _cli(["collector", "--data-dir", str(a_file), "--port", "0", "--grpc-port", "-1"], capsys)
    assert code == 2 and "a directory (this is a file)" in line, line
    same_dir = str(collector.store.dir)
    code, line = _cli(["collector", "--data-dir", same_dir, "--port", "0", "--grpc-port", "-1"], capsys)
    assert code == 2 and "another collector is using the data directory" in line, line
    code, line = _cli(["collector", "--data-dir", str(tmp_path / "x"), "--port", str(collector.http_port),
                       "--grpc-port", "-1"], capsys)
    assert code == 2 and f"OTLP/HTTP on 127.0.0.1:{collector.http_port}" in line, line


def test_unknown_api_parameters_are_a_400(collector):
    status, body = _get_status(collector.http_endpoint + "/api/traces?tag=x")
    assert status == 400 and body["error"].startswith("tag: not a parameter of /api/traces")
    status, body = _get_status(collector.http_endpoint + "/api/report?group_by=model&limit=5")
    assert status == 400 and body["error"].startswith("limit:")


def test_cli_into_a_closed_pipe_ends_quietly(collector):
    import subprocess
    import sys

    assert post(collector.http_endpoint + "/v1/traces", request(*[span(i + 1, 1) for i in range(2000)])
                .SerializeToString())[0] == 200
    code = ("import sys; from llmobs.__main__ import main; "
            f"sys.exit(main(['traces', '--url', {collector.http_endpoint!r}, '--limit', '2000']))")
    done = subprocess.run(f"{sys.executable} -c \"{code}\" | head -1", shell=True, capture_output=True,
                          text=True, timeout=60)
    assert done.stdout.startswith("trace") and done.stderr == "", done.stderr


# --- memory: large bodies one at a time ---------------------------------------------------------------------

def test_large_bodies_are_decoded_one_at_a_time(tmp_path, monkeypatch):
    """A large body's Python objects take several times its bytes: while one is decoded, another gets 503 +
    Retry-After after a short wait (its bytes read and dropped, never held); small requests go on meanwhile."""
    from llmobs.collector import server as server_module

    monkeypatch.setattr(server_module, "_LARGE_WAIT_S", 0.2)
    big = request(*[span(1, i + 1, name="x" * 1000) for i in range(1200)]).SerializeToString()
    assert len(big) > server_module._LARGE_BODY
    with Collector(str(tmp_path), http_port=0, grpc_port=None) as c:
        assert c.large_bodies.acquire(timeout=1)  # as if another large body were being decoded
        try:
            status, _reply, headers = post(c.http_endpoint + "/v1/traces", big)
            assert status == 503 and headers.get("Retry-After") == "1"
            assert post(c.http_endpoint + "/v1/traces", request(span(2, 1)).SerializeToString())[0] == 200
        finally:
            c.large_bodies.release()
        assert post(c.http_endpoint + "/v1/traces", big)[0] == 200
        assert c.store.count() == 1201
