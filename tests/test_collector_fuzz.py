"""Malformed and random payloads never crash the collector: every request gets a 2xx or a 4xx with a reason,
the server keeps answering, and nothing malformed is stored half-way."""

from __future__ import annotations

import gzip
import http.client
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmobs.collector import Collector


@pytest.fixture(scope="module")
def collector(tmp_path_factory):
    with Collector(str(tmp_path_factory.mktemp("fuzz")), http_port=0, grpc_port=None, body_limit=1 << 20) as c:
        yield c


def post(port, path, body, headers):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", path, body, headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


CONTENT_TYPES = st.sampled_from(["application/x-protobuf", "application/json", "text/plain", "", "application/json; charset=utf-8"])
ENCODINGS = st.sampled_from([None, "gzip", "deflate", "identity", "br"])
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["resourceSpans", "scopeSpans", "spans", "traceId", "spanId", "name", "attributes",
                         "key", "value", "stringValue", "intValue", "startTimeUnixNano", "status", "code"]),
        children, max_size=5),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=2048), ctype=CONTENT_TYPES, encoding=ENCODINGS,
       path=st.sampled_from(["/v1/traces", "/v1/metrics", "/v1/logs"]))
def test_random_bytes(collector, body, ctype, encoding, path):
    headers = {"Content-Type": ctype} if ctype else {}
    if encoding:
        headers["Content-Encoding"] = encoding
    status, data = post(collector.http_port, path, body, headers)
    assert status in (200, 400, 413, 415), (status, data[:200])
    if status != 200:
        assert data  # a reason


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=JSONISH, compress=st.booleans())
def test_random_otlp_json(collector, doc, compress):
    body = json.dumps(doc).encode()
    headers = {"Content-Type": "application/json"}
    if compress:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    before = collector.store.count()
    status, data = post(collector.http_port, "/v1/traces", body, headers)
    assert status in (200, 400), (status, data[:200])
    if status == 400:
        assert collector.store.count() == before  # a rejected request stores nothing
    # the server still serves
    assert post(collector.http_port, "/v1/traces", b"{}", {"Content-Type": "application/json"})[0] == 200
