"""The collector's indexer reads stored requests with its own reduced schema and a memo of encoded attributes
(otlp.index_rows). These tests hold it to the plain reading: every column equals what the full protobuf
message says, for any attribute set, encoding and order."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from llmobs.collector import otlp
from llmobs.collector.otlp import COLUMNS, index_rows

CURRENT = {
    "provider": "gen_ai.provider.name", "user": "user.id", "in": "gen_ai.usage.input_tokens",
    "out": "gen_ai.usage.output_tokens", "cache_write": "gen_ai.usage.cache_write.input_tokens",
    "cost": "llmobs.cost.total_usd",
}
OLDER = {
    "provider": "gen_ai.system", "user": "enduser.id", "in": "gen_ai.usage.prompt_tokens",
    "out": "gen_ai.usage.completion_tokens", "cache_write": "gen_ai.usage.cache_creation.input_tokens",
    "cost": "gen_ai.usage.cost",
}


def av(value):
    if value is None:
        return AnyValue()
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[av(v) for v in value]))
    return AnyValue(string_value=value)


def one_span(attrs, **kw):
    span = Span(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name="s", start_time_unix_nano=10**18,
                end_time_unix_nano=10**18 + 5 * 10**8, status=Status(code=kw.pop("code", 0)),
                attributes=[KeyValue(key=k, value=av(v)) for k, v in attrs], **kw)
    return ExportTraceServiceRequest(resource_spans=[ResourceSpans(
        resource={"attributes": [KeyValue(key="service.name", value=av("svc"))]},
        scope_spans=[ScopeSpans(spans=[span])])]).SerializeToString()


def row_of(body):
    (row,) = index_rows(body, 7)
    return dict(zip(COLUMNS, row, strict=True))


def test_current_names_win_over_older_ones_in_either_order():
    for current_first in (True, False):
        pairs = []
        for slot in CURRENT:
            a = (CURRENT[slot], 5 if slot in ("in", "out", "cache_write") else 0.5 if slot == "cost" else "new")
            b = (OLDER[slot], 9 if slot in ("in", "out", "cache_write") else 0.9 if slot == "cost" else "old")
            pairs += [a, b] if current_first else [b, a]
        row = row_of(one_span(pairs))
        assert (row["provider"], row["user_id"], row["input_tokens"], row["output_tokens"],
                row["cache_write_tokens"], row["cost_usd"]) == ("new", "new", 5, 5, 5, 0.5)


def test_older_names_alone_are_read():
    row = row_of(one_span([(OLDER[s], 3 if s in ("in", "out", "cache_write") else 0.25 if s == "cost" else "o")
                              for s in OLDER] + [("gen_ai.usage.cost.amount", 0.5)]))
    assert (row["provider"], row["user_id"], row["input_tokens"], row["output_tokens"],
            row["cache_write_tokens"], row["cost_usd"]) == ("o", "o", 3, 3, 3, 0.5)  # .amount before .cost


def test_wrong_types_are_no_value_and_whole_floats_are_counts():
    row = row_of(one_span([
        ("gen_ai.request.model", 42), ("gen_ai.usage.input_tokens", 12.0), ("gen_ai.usage.output_tokens", 1.5),
        ("gen_ai.usage.reasoning.output_tokens", True), ("llmobs.cost.total_usd", "0.1"),
        ("gen_ai.usage.cache_read.input_tokens", -3), ("gen_ai.response.time_to_first_chunk", 2),
    ]))
    assert row["model"] is None and row["input_tokens"] == 12 and row["output_tokens"] is None
    assert row["reasoning_tokens"] is None and row["cost_usd"] is None
    assert row["cache_read_tokens"] == 0  # a negative count is held to 0 (see otlp.TOKENS_MAX)
    assert row["ttfc_s"] == 2.0


def test_values_the_index_cannot_hold_are_clamped_and_reported():
    request = ExportTraceServiceRequest.FromString(one_span([
        ("gen_ai.usage.input_tokens", 1e20), ("gen_ai.usage.output_tokens", -2),
        ("gen_ai.usage.reasoning.output_tokens", 7), ("llmobs.cost.total_usd", float("nan")),
        ("gen_ai.response.time_to_first_chunk", float("inf"))]))
    request.resource_spans[0].scope_spans[0].spans[0].start_time_unix_nano = 2**64 - 1  # fixed64 allows it
    body = request.SerializeToString()
    clamped: list[str] = []
    (row,) = index_rows(body, 7, clamped)
    row = dict(zip(COLUMNS, row, strict=True))
    assert row["start_ns"] == otlp.INT64_MAX and row["end_ns"] == 10**18 + 5 * 10**8
    assert (row["input_tokens"], row["output_tokens"], row["reasoning_tokens"]) == (otlp.TOKENS_MAX, 0, 7)
    assert row["cost_usd"] is None and row["ttfc_s"] is None
    assert clamped == [f"{'01' * 16}/{'02' * 8}: start_ns, input_tokens, output_tokens, cost_usd, ttfc_s"]
    clean: list[str] = []
    index_rows(one_span([("gen_ai.usage.input_tokens", otlp.TOKENS_MAX)]), 7, clean)
    assert clean == []


def test_long_and_structured_values():
    long_model = "m" * 300  # a two-byte length
    row = row_of(one_span([
        ("gen_ai.request.model", long_model), ("gen_ai.input.messages", '[{"role":"user"}]'),
        ("gen_ai.output.messages", ["a", 1]), ("gen_ai.operation.name", "chat"),
    ]))
    assert row["model"] == long_model
    assert row["content"] == '[{"role":"user"}]\n' + json.dumps(["a", 1])


def _ld(field, payload):
    out, n = bytearray([field << 3 | 2]), len(payload)
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out) + payload


def test_a_keyvalue_encoded_value_first_is_read():
    """Protobuf allows fields in any order; some encoders write the value before the key."""
    value = av("odd-model").SerializeToString()
    kv = _ld(2, value) + _ld(1, b"gen_ai.request.model")
    span = Span(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name="s").SerializeToString() + _ld(9, kv)
    body = _ld(1, _ld(2, _ld(2, span)))
    assert ExportTraceServiceRequest.FromString(body).resource_spans[0].scope_spans[0].spans[0].attributes[0].key \
        == "gen_ai.request.model"
    row = row_of(body)
    assert row["model"] == "odd-model"


def test_memo_stays_bounded(monkeypatch):
    monkeypatch.setattr(otlp, "_KV_MEMO", otlp._KVMemo())  # whatever earlier tests left in it
    monkeypatch.setattr(otlp, "_MEMO_MAX", 10)
    for i in range(50):
        row = row_of(one_span([("user.id", f"user-{i}")]))
        assert row["user_id"] == f"user-{i}"
    assert len(otlp._KV_MEMO) <= 10


# --- any attribute set: the indexer agrees with a plain reading of the full message ---------------------------
KEYS = sorted({*CURRENT.values(), *OLDER.values(), "gen_ai.operation.name", "gen_ai.request.model",
               "gen_ai.response.model", "error.type", "session.id", "gen_ai.usage.cache_read.input_tokens",
               "gen_ai.usage.reasoning.output_tokens", "gen_ai.response.time_to_first_chunk",
               "gen_ai.usage.cost.amount", "gen_ai.input.messages", "server.address", "other.key"})
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False),
    st.text(max_size=200), st.sampled_from(["chat", "embeddings", "openai"]), st.binary(max_size=4),
    st.lists(st.integers(0, 5), max_size=3),
)


def plain(attrs):
    """The reference reading: the last value of each key, decoded by protobuf, typed per column."""
    d = otlp._attrs(ExportTraceServiceRequest.FromString(one_span(attrs)).resource_spans[0].scope_spans[0]
                    .spans[0].attributes)

    def s(k):
        return d.get(k) if isinstance(d.get(k), str) else None

    def i(k):
        v = d.get(k)
        if isinstance(v, bool):
            return None
        if isinstance(v, float):
            return int(v) if v.is_integer() else None
        return v if isinstance(v, int) else None

    def f(k):
        v = d.get(k)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    def first(*values):
        return next((v for v in values if v is not None), None)

    def tokens(v):  # held to [0, TOKENS_MAX]
        return v if v is None else min(max(v, 0), otlp.TOKENS_MAX)

    def finite(v):
        return v if v is None or math.isfinite(v) else None

    content = d.get("gen_ai.input.messages")
    return {
        "operation": s("gen_ai.operation.name"), "model": s("gen_ai.request.model"),
        "provider": first(s(CURRENT["provider"]), s(OLDER["provider"])),
        "user_id": first(s(CURRENT["user"]), s(OLDER["user"])), "session_id": s("session.id"),
        "input_tokens": tokens(first(i(CURRENT["in"]), i(OLDER["in"]))),
        "output_tokens": tokens(first(i(CURRENT["out"]), i(OLDER["out"]))),
        "cache_write_tokens": tokens(first(i(CURRENT["cache_write"]), i(OLDER["cache_write"]))),
        "cache_read_tokens": tokens(i("gen_ai.usage.cache_read.input_tokens")),
        "reasoning_tokens": tokens(i("gen_ai.usage.reasoning.output_tokens")),
        "cost_usd": finite(first(f(CURRENT["cost"]), f("gen_ai.usage.cost.amount"), f(OLDER["cost"]))),
        "ttfc_s": finite(f("gen_ai.response.time_to_first_chunk")), "error_type": s("error.type"),
        "response_model": s("gen_ai.response.model"),
        "content": None if content is None else content if isinstance(content, str) else json.dumps(content),
    }


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(KEYS), VALUES), max_size=12))
def test_indexer_agrees_with_the_full_message(attrs):
    # OTLP keys are unique per span; with repeats, protobuf readers disagree on which wins, so dedupe.
    attrs = list(dict(attrs).items())
    row = row_of(one_span(attrs))
    expected = plain(attrs)
    for column, value in expected.items():
        got = row[column]
        if isinstance(value, float) and math.isinf(value):
            assert got == value
        else:
            assert got == value, column
    # LLM calls carry their latency buckets, as the rollups group them; other spans none
    if expected["operation"] in otlp.LLM_OPERATIONS:
        assert row["dur_b"] == otlp.bucket(row["duration_s"]) and row["ttfc_b"] == otlp.bucket(expected["ttfc_s"])
    else:
        assert row["dur_b"] is None and row["ttfc_b"] is None
