"""OTLP payloads: decoding and validating requests (protobuf or OTLP/JSON, gzip/deflate), and indexing stored
trace requests into flat rows for the store.

A span row carries the span's identity, timing and status and the GenAI facts the reports need as columns; the
span's full detail (every attribute, events, links, resource) stays in the request as received. The columns are
read from the current semantic-convention names and from the older ones other emitters still send
(``gen_ai.system``, ``gen_ai.usage.prompt_tokens``, ``gen_ai.usage.cache_creation.input_tokens``, OpenLIT's
``gen_ai.usage.cost``), so reports work for any OTel GenAI instrumentation, not only llmobs.
"""

from __future__ import annotations

import base64
import json
import math
import struct
import zlib
from typing import Any

from .. import semconv as sc


class BadRequest(ValueError):
    """The payload cannot be decoded; the message says why (sent back with a 400)."""


class TooLarge(ValueError):
    """The payload is over the size limit once decompressed (sent back with a 413)."""


COLUMNS = (
    "trace_id", "span_id", "parent_span_id", "name", "kind", "service", "start_ns", "end_ns", "duration_s",
    "status_code", "status_message", "operation", "provider", "model", "response_model", "input_tokens",
    "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "cost_usd", "ttfc_s",
    "error_type", "user_id", "session_id", "content", "batch_id", "batch_index", "dur_b", "ttfc_b",
)

LLM_OPERATIONS = frozenset(sc.LLM_OPERATIONS)
# Latency buckets for the report: 2 % wide (log base 1.02), so a percentile read off them is within 1 %.
BUCKET_BASE = 1.02
_LOG_BASE = math.log(BUCKET_BASE)


# What an index row can hold. SQLite integers are signed 64-bit: a timestamp past 2^63 - 1 ns (the year 2262;
# OTLP's fixed64 allows more, and a "negative" time arrives as one) is stored as that maximum. A token count is
# held to [0, 2^32 - 1] per span, far above any real call, so that no rollup bucket's sum can overflow 64 bits.
# A cost or a time to first chunk that is not a finite number is not stored. The request as received keeps
# the original values (the span's details show them); each clamped span is reported to the caller.
INT64_MAX = 2**63 - 1
TOKENS_MAX = 2**32 - 1


def _tokens(value: int | None) -> int | None:
    if value is None or 0 <= value <= TOKENS_MAX:
        return value
    return 0 if value < 0 else TOKENS_MAX


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


def bucket(seconds: float | None) -> int | None:
    """The latency bucket of a duration: floor(log_1.02(seconds)); very short ones share one bucket."""
    if seconds is None:
        return None
    if seconds <= 1e-6:
        return -700
    return math.floor(math.log(seconds) / _LOG_BASE)


def bucket_value(b: int) -> float:
    """The middle of a bucket (geometric): the value a percentile falling in it is reported as."""
    return float(BUCKET_BASE ** (b + 0.5))


# --- indexing: a stored trace request into span rows ---------------------------------------------------------
# The indexer reads each stored request with a reduced schema of its own (built below from descriptors, wire
# compatible with OTLP) in which attributes are ``repeated bytes``: each KeyValue stays as its encoded bytes.
# Walking attributes as protobuf objects cost ~0.5 µs each (upb makes a Python wrapper per element), more than
# everything else per span. Most attributes repeat byte for byte across spans (model, provider, user, ...), so
# each KeyValue's bytes are looked up in a memo in one C-level pass; only new ones are decoded in Python.
# Events, links and the scope are not declared: they stay in the stored request, read when a trace is shown.
_LITE: Any = None


def _lite_request_class() -> Any:
    global _LITE
    if _LITE is None:
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

        f = descriptor_pb2.FieldDescriptorProto
        file = descriptor_pb2.FileDescriptorProto(name="llmobs_collector_index.proto",
                                                  package="llmobs_index", syntax="proto3")

        def message(name: str, fields: tuple[tuple[str, int, int, str], ...]) -> None:
            m = file.message_type.add(name=name)
            for field_name, number, kind, type_name in fields:
                label = f.LABEL_REPEATED if type_name.endswith("*") else f.LABEL_OPTIONAL
                fd = m.field.add(name=field_name, number=number, type=kind, label=label)
                if type_name.rstrip("*"):
                    fd.type_name = ".llmobs_index." + type_name.rstrip("*")

        message("Status", (("message", 2, f.TYPE_STRING, ""), ("code", 3, f.TYPE_INT32, "")))
        message("Span", (
            ("trace_id", 1, f.TYPE_BYTES, ""), ("span_id", 2, f.TYPE_BYTES, ""),
            ("parent_span_id", 4, f.TYPE_BYTES, ""), ("name", 5, f.TYPE_STRING, ""), ("kind", 6, f.TYPE_INT32, ""),
            ("start_time_unix_nano", 7, f.TYPE_FIXED64, ""), ("end_time_unix_nano", 8, f.TYPE_FIXED64, ""),
            ("attributes", 9, f.TYPE_BYTES, "*"), ("status", 15, f.TYPE_MESSAGE, "Status"),
        ))
        message("ScopeSpans", (("spans", 2, f.TYPE_MESSAGE, "Span*"),))
        message("Resource", (("attributes", 1, f.TYPE_BYTES, "*"),))
        message("ResourceSpans", (("resource", 1, f.TYPE_MESSAGE, "Resource"),
                                  ("scope_spans", 2, f.TYPE_MESSAGE, "ScopeSpans*")))
        message("Request", (("resource_spans", 1, f.TYPE_MESSAGE, "ResourceSpans*"),))
        pool = descriptor_pool.DescriptorPool()
        pool.Add(file)
        _LITE = message_factory.GetMessageClass(pool.FindMessageTypeByName("llmobs_index.Request"))
    return _LITE


_unpack_double = struct.Struct("<d").unpack_from


def _varint(b: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        c = b[i]
        i += 1
        result |= (c & 0x7F) << shift
        if c < 0x80:
            return result, i
        shift += 7


def _decode_value(b: bytes) -> Any:
    tag = b[0]
    n = len(b)
    try:
        if tag == 0x0A:  # string_value
            length, i = _varint(b, 1)
            if i + length == n:
                return b[i:].decode("utf-8", "replace")
        elif tag == 0x18:  # int_value (two's complement varint)
            number, i = _varint(b, 1)
            if i == n:
                return number - (1 << 64) if number >= 1 << 63 else number
        elif tag == 0x21 and n == 9:  # double_value
            return _unpack_double(b, 1)[0]
        elif tag == 0x10 and n == 2:  # bool_value
            return b[1] != 0
    except IndexError:
        pass
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue

    value = AnyValue()
    try:
        value.ParseFromString(b)
    except Exception:  # validated at ingest: an odd value is no value, not a stuck indexer
        return None
    return _any_value(value)


# Values repeat across spans (models, providers, users, most token counts): decoded values are memoised by
# their bytes. Short values only, and the memo is emptied when full, so it stays small.
_MEMO: dict[bytes, Any] = {}
_MEMO_MAX = 50_000
_MISS = object()


def value_of(b: bytes | None) -> Any:
    """The Python value of an AnyValue's bytes: the scalar cases read directly, the rest through protobuf."""
    if not b:
        return None
    value = _MEMO.get(b, _MISS)
    if value is _MISS:
        value = _decode_value(b)
        if len(b) <= 64 and type(value) is not list and type(value) is not dict:
            if len(_MEMO) >= _MEMO_MAX:
                _MEMO.clear()
            _MEMO[b] = value
    return value


_STR, _INT, _FLOAT, _CONTENT = 0, 1, 2, 3
# The attributes read into columns: key -> (slot, type). Deprecated names get slots of their own; the current
# name wins when both are sent.
_SLOTS: dict[bytes, tuple[str, int]] = {
    key.encode(): (slot, kind) for key, slot, kind in (
        (sc.GEN_AI_OPERATION_NAME, "operation", _STR), (sc.GEN_AI_PROVIDER_NAME, "provider", _STR),
        (sc.DEPRECATED_GEN_AI_SYSTEM, "system", _STR), (sc.GEN_AI_REQUEST_MODEL, "model", _STR),
        (sc.GEN_AI_RESPONSE_MODEL, "response_model", _STR), (sc.ERROR_TYPE, "error_type", _STR),
        (sc.USER_ID, "user", _STR), ("enduser.id", "enduser", _STR), (sc.SESSION_ID, "session", _STR),
        ("service.name", "service", _STR),
        (sc.GEN_AI_USAGE_INPUT_TOKENS, "in", _INT), (sc.DEPRECATED_USAGE_PROMPT_TOKENS, "prompt", _INT),
        (sc.GEN_AI_USAGE_OUTPUT_TOKENS, "out", _INT), (sc.DEPRECATED_USAGE_COMPLETION_TOKENS, "completion", _INT),
        (sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, "cache_read", _INT),
        (sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS, "cache_write", _INT),
        (sc.DEPRECATED_USAGE_CACHE_CREATION_INPUT_TOKENS, "cache_creation", _INT),
        (sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, "reasoning", _INT),
        (sc.LLMOBS_COST_TOTAL, "cost", _FLOAT), ("gen_ai.usage.cost.amount", "cost2", _FLOAT),
        ("gen_ai.usage.cost", "cost3", _FLOAT), (sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, "ttfc", _FLOAT),
        (sc.GEN_AI_SYSTEM_INSTRUCTIONS, "c0", _CONTENT), (sc.GEN_AI_INPUT_MESSAGES, "c1", _CONTENT),
        (sc.GEN_AI_OUTPUT_MESSAGES, "c2", _CONTENT), (sc.LLMOBS_INPUT, "c3", _CONTENT),
        (sc.LLMOBS_OUTPUT, "c4", _CONTENT), (sc.GEN_AI_TOOL_CALL_ARGUMENTS, "c5", _CONTENT),
        (sc.GEN_AI_TOOL_CALL_RESULT, "c6", _CONTENT), ("gen_ai.prompt", "c7", _CONTENT),
        ("gen_ai.completion", "c8", _CONTENT),
    )
}
_CONTENT_SLOTS = tuple(f"c{i}" for i in range(9))
_FALLBACKS = (("provider", "system"), ("user", "enduser"), ("in", "prompt"), ("out", "completion"),
              ("cache_write", "cache_creation"), ("cost", "cost2"), ("cost", "cost3"))
_OLDER_SLOTS = frozenset(older for _current, older in _FALLBACKS)
_SKIP = ("", None)  # an attribute no column reads


class _KVMemo(dict[bytes, tuple[str, Any]]):
    """Encoded KeyValue -> (slot, value); a miss is decoded (and kept when it may repeat) by ``_kv_entry``."""

    def __missing__(self, kv: bytes) -> tuple[str, Any]:
        return _kv_entry(kv)


_KV_MEMO = _KVMemo()


def _typed(value: Any, kind: int) -> Any:
    vtype = type(value)
    if kind == _STR:
        return value if vtype is str else None
    if kind == _INT:
        if vtype is int:
            return value
        return int(value) if vtype is float and value.is_integer() else None
    if kind == _FLOAT:
        return float(value) if vtype is float or vtype is int else None
    if value is None:
        return None
    return value if vtype is str else json.dumps(value, default=str)


def _kv_entry(kv: bytes) -> tuple[str, Any]:
    """(slot, value) for an encoded KeyValue, memoised when short and not a measurement (those rarely repeat)."""
    try:  # the usual encoding: key (field 1) then value (field 2), each once
        if kv[0] != 0x0A:
            raise IndexError
        length, i = _varint(kv, 1)
        end = i + length
        key = kv[i:end]
        if end == len(kv):
            value_bytes = b""
        else:
            if kv[end] != 0x12:
                raise IndexError
            length, i = _varint(kv, end + 1)
            if i + length != len(kv):
                raise IndexError
            value_bytes = kv[i:]
    except IndexError:  # any other valid encoding
        from opentelemetry.proto.common.v1.common_pb2 import KeyValue

        try:
            decoded = KeyValue.FromString(kv)
        except Exception:  # validated at ingest
            return _SKIP
        key, value_bytes = decoded.key.encode(), decoded.value.SerializeToString()
    found = _SLOTS.get(key)
    if found is None:
        entry = _SKIP
    else:
        slot, kind = found
        entry = (slot, _typed(value_of(value_bytes), kind))
        if kind in (_FLOAT, _CONTENT):
            return entry
    if len(kv) <= 160:  # bounded: at most _MEMO_MAX short entries
        if len(_KV_MEMO) >= _MEMO_MAX:
            _KV_MEMO.clear()
        _KV_MEMO[kv] = entry
    return entry


def _slots(kvs: Any) -> dict[str, Any]:
    """slot -> value for the column attributes among encoded KeyValues."""
    return dict(map(_KV_MEMO.__getitem__, kvs))


def index_rows(body: bytes, payload_id: int, clamped: list[str] | None = None) -> list[tuple[Any, ...]]:
    """The ``spans`` rows (see COLUMNS) of a stored trace request; LLM calls carry their latency buckets
    (``dur_b``, ``ttfc_b``; None on other spans), which the rollups group by.

    A value the index cannot hold is clamped (see ``INT64_MAX``, ``TOKENS_MAX``), and ``"<trace>/<span>:
    <columns>"`` appended to ``clamped`` for each such span.

    Report columns are read from the current semantic-convention names and from the older ones other emitters
    still send. Each span is referenced by (``payload_id``, its position in the request), where its full
    detail stays."""
    request = _lite_request_class()()
    request.ParseFromString(body)
    rows: list[tuple[Any, ...]] = []
    index = 0
    llm_ops = LLM_OPERATIONS
    for rs in request.resource_spans:
        service = _slots(rs.resource.attributes).get("service")
        for ss in rs.scope_spans:
            for span in ss.spans:
                start, end = span.start_time_unix_nano, span.end_time_unix_nano
                trace_id, span_id = span.trace_id.hex(), span.span_id.hex()
                bad: list[str] = []
                if start > INT64_MAX or end > INT64_MAX:
                    bad += [name for name, v in (("start_ns", start), ("end_ns", end)) if v > INT64_MAX]
                    start, end = min(start, INT64_MAX), min(end, INT64_MAX)
                duration = (end - start) / 1e9 if end > start else 0.0 if end else None
                status = span.status
                code = status.code
                head = (trace_id, span_id, span.parent_span_id.hex() or None, span.name, span.kind, service,
                        start, end, duration, code, status.message or None)
                kvs = span.attributes
                if not kvs:
                    rows.append((*head, *_NO_FACTS, payload_id, index, None, None))
                    index += 1
                    if bad and clamped is not None:
                        clamped.append(f"{trace_id}/{span_id}: {', '.join(bad)}")
                    continue
                found = _slots(kvs)
                if not _OLDER_SLOTS.isdisjoint(found):  # an older name stands in for a current one not sent
                    for current, older in _FALLBACKS:
                        if found.get(current) is None and found.get(older) is not None:
                            found[current] = found[older]
                get = found.get
                operation, model, provider, user = get("operation"), get("model"), get("provider"), get("user")
                session, n_in, n_out, cost = get("session"), get("in"), get("out"), get("cost")
                ttfc = get("ttfc")
                cache_read, cache_write, reasoning = get("cache_read"), get("cache_write"), get("reasoning")
                # Inline comparisons: this runs for every span (a generator here cost ~1 µs a span).
                if ((n_in is not None and not 0 <= n_in <= TOKENS_MAX)
                        or (n_out is not None and not 0 <= n_out <= TOKENS_MAX)
                        or (cache_read is not None and not 0 <= cache_read <= TOKENS_MAX)
                        or (cache_write is not None and not 0 <= cache_write <= TOKENS_MAX)
                        or (reasoning is not None and not 0 <= reasoning <= TOKENS_MAX)):
                    counts = (n_in, n_out, cache_read, cache_write, reasoning)
                    bad += [f"{name}_tokens" for name, n in zip(_TOKEN_NAMES, counts, strict=True)
                            if n is not None and not 0 <= n <= TOKENS_MAX]
                    n_in, n_out, cache_read, cache_write, reasoning = map(_tokens, counts)
                if (cost is not None and cost - cost != 0.0) or (ttfc is not None and ttfc - ttfc != 0.0):  # inf, nan
                    bad += [name for name, v in (("cost_usd", cost), ("ttfc_s", ttfc))
                            if v is not None and not math.isfinite(v)]
                    cost, ttfc = _finite(cost), _finite(ttfc)
                if bad and clamped is not None:
                    clamped.append(f"{trace_id}/{span_id}: {', '.join(bad)}")
                content = None
                for slot in _CONTENT_SLOTS:
                    part = get(slot)
                    if part is not None:
                        content = part if content is None else content + "\n" + part
                dur_b = ttfc_b = None
                if operation in llm_ops:
                    dur_b, ttfc_b = bucket(duration) if duration is not None else -701, bucket(ttfc)
                rows.append((
                    *head, operation, provider, model, get("response_model"), n_in, n_out, cache_read,
                    cache_write, reasoning, cost, ttfc, get("error_type"), user, session, content, payload_id,
                    index, dur_b, ttfc_b,
                ))
                index += 1
    return rows


_NO_FACTS = (None,) * 15
_TOKEN_NAMES = ("input", "output", "cache_read", "cache_write", "reasoning")


def decompress(body: bytes, encoding: str | None, limit: int) -> bytes:
    """Undo Content-Encoding (gzip, deflate, identity), refusing output past ``limit`` bytes."""
    encoding = (encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        if len(body) > limit:
            raise TooLarge(f"body of {len(body)} bytes is over the limit of {limit}")
        return body
    if encoding == "gzip":
        wbits = 16 + zlib.MAX_WBITS
    elif encoding == "deflate":
        wbits = zlib.MAX_WBITS if body[:1] == b"\x78" else -zlib.MAX_WBITS  # zlib-wrapped or raw deflate
    else:
        raise BadRequest(f"unsupported Content-Encoding {encoding!r} (gzip, deflate or identity)")
    try:
        inflater = zlib.decompressobj(wbits)
        out = inflater.decompress(body, limit + 1)
        if len(out) > limit or inflater.unconsumed_tail:
            raise TooLarge(f"decompressed body is over the limit of {limit} bytes")
        return out
    except zlib.error as exc:
        raise BadRequest(f"cannot {encoding}-decompress the body: {exc}") from None


def _any_value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_any_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _any_value(kv.value) for kv in v.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(v.bytes_value).decode("ascii")
    return getattr(v, kind)


def _attrs(kvs: Any) -> dict[str, Any]:
    return {kv.key: _any_value(kv.value) for kv in kvs}


def spans_of(body: bytes) -> list[Any]:
    """The spans of a stored trace request, in the order ``rows_from_request`` numbered them."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    return [span for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]


def span_details(span: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """All attributes and events of a protobuf span."""
    events = [{"name": e.name, "time_ns": e.time_unix_nano, "attributes": _attrs(e.attributes)} for e in span.events]
    return _attrs(span.attributes), events


def _hex_ids_to_base64(obj: Any) -> Any:
    """OTLP/JSON writes trace and span ids as hex; protobuf's JSON mapping expects base64 for bytes."""
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if key in ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id") and isinstance(
                value, str
            ):
                try:
                    out[key] = base64.b64encode(bytes.fromhex(value)).decode("ascii")
                except ValueError:
                    raise BadRequest(f"{key} {value!r} is not hex") from None
            else:
                out[key] = _hex_ids_to_base64(value)
        return out
    if isinstance(obj, list):
        return [_hex_ids_to_base64(v) for v in obj]
    return obj


def parse_traces(body: bytes, content_type: str) -> Any:
    """An ``ExportTraceServiceRequest`` from protobuf or OTLP/JSON bytes. Raises BadRequest."""
    from google.protobuf import json_format
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    if is_json(content_type):
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise BadRequest(f"invalid JSON: {exc}") from None
        except RecursionError:
            raise BadRequest("invalid JSON: nested too deeply") from None
        if not isinstance(data, dict):
            raise BadRequest("an OTLP/JSON body is an object with resourceSpans")
        try:
            json_format.ParseDict(_hex_ids_to_base64(data), request, ignore_unknown_fields=True)
        except RecursionError:
            raise BadRequest("not an OTLP/JSON ExportTraceServiceRequest: nested too deeply") from None
        except (json_format.ParseError, TypeError, AttributeError, KeyError, ValueError) as exc:
            raise BadRequest(f"not an OTLP/JSON ExportTraceServiceRequest: {exc}") from None
        return request
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise BadRequest(f"not an OTLP protobuf ExportTraceServiceRequest: {exc}") from None
    return request


def is_json(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == "application/json"


def check_spans(request: Any) -> int:
    """The number of spans in a traces request, once their ids are checked (16-byte trace id, 8-byte span id,
    neither all zeros: OTLP calls those invalid): the rest was validated by parsing. Raises BadRequest."""
    n = 0
    for rs in request.resource_spans:
        for ss in rs.scope_spans:
            spans = ss.spans
            n += len(spans)
            for span in spans:
                trace_id, span_id = span.trace_id, span.span_id
                if len(trace_id) != 16 or len(span_id) != 8:
                    raise BadRequest(
                        f"span {span.name!r}: trace_id must be 16 bytes and span_id 8 bytes "
                        f"(got {len(trace_id)} and {len(span_id)})"
                    )
                if trace_id == _ZERO_TRACE_ID or span_id == _ZERO_SPAN_ID:
                    raise BadRequest(f"span {span.name!r}: an all-zero "
                                     f"{'trace_id' if trace_id == _ZERO_TRACE_ID else 'span_id'} is invalid")
    return n


_ZERO_TRACE_ID, _ZERO_SPAN_ID = bytes(16), bytes(8)


def parse_other(body: bytes, content_type: str, signal: str) -> Any:
    """Metrics or logs requests: validated (so malformed data gets a 400) and acknowledged."""
    from google.protobuf import json_format
    from google.protobuf.message import DecodeError

    if signal == "metrics":
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
            ExportMetricsServiceRequest as Req,
        )
    else:
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest as Req  # type: ignore[assignment]
    request = Req()
    try:
        if is_json(content_type):
            data = json.loads(body)
            if not isinstance(data, dict):
                raise BadRequest(f"an OTLP/JSON {signal} body is a JSON object")
            json_format.ParseDict(_hex_ids_to_base64(data), request, ignore_unknown_fields=True)
        else:
            request.ParseFromString(body)
    except BadRequest:
        raise
    except (ValueError, DecodeError, json_format.ParseError, TypeError, AttributeError, KeyError,
            RecursionError) as exc:
        raise BadRequest(f"not an OTLP {signal} request: {exc}") from None
    return request
