"""OTLP trace payloads (protobuf or OTLP/JSON, optionally gzip/deflate) into flat span rows for the store.

A row carries the span's identity, timing and status, the whole attribute and resource sets as JSON, and the
GenAI facts the reports need as columns. Those columns are read from the current semantic-convention names
and from the older ones other emitters still send (``gen_ai.system``, ``gen_ai.usage.prompt_tokens``,
``gen_ai.usage.cache_creation.input_tokens``, OpenLIT's ``gen_ai.usage.cost``), so reports work for any OTel
GenAI instrumentation, not only llmobs.
"""

from __future__ import annotations

import base64
import json
import math
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
    "error_type", "user_id", "session_id", "content", "resource", "batch_id", "batch_index",
)

LLM_COLUMNS = (
    "model", "provider", "dur_b", "trace_id", "span_id", "start_ns", "operation", "service", "user_id",
    "session_id", "err", "duration_s", "ttfc_b", "ttfc_s", "input_tokens", "output_tokens", "cost_usd",
)
LLM_OPERATIONS = frozenset(sc.LLM_OPERATIONS)
# Latency buckets for the report: 2 % wide (log base 1.02), so a percentile read off them is within 1 %.
BUCKET_BASE = 1.02
_LOG_BASE = math.log(BUCKET_BASE)
_I = {name: i for i, name in enumerate(COLUMNS)}


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


def llm_rows(rows: Any) -> list[tuple[Any, ...]]:
    """The llm_calls rows for the LLM spans among span rows."""
    out = []
    i = _I
    for r in rows:
        if r[i["operation"]] not in LLM_OPERATIONS:
            continue
        duration = r[i["duration_s"]]
        ttfc = r[i["ttfc_s"]]
        out.append((
            r[i["model"]] or "", r[i["provider"]] or "", bucket(duration) if duration is not None else -701,
            r[i["trace_id"]], r[i["span_id"]], r[i["start_ns"]], r[i["operation"]], r[i["service"]],
            r[i["user_id"]], r[i["session_id"]], 1 if r[i["status_code"]] == 2 else 0, duration,
            bucket(ttfc), ttfc, r[i["input_tokens"]], r[i["output_tokens"]], r[i["cost_usd"]],
        ))
    return out


# The attributes read into columns; every other attribute stays in the span's raw protobuf bytes (``raw``),
# decoded only when a trace is shown. Decoding only these keeps ingest cheap.
_WANTED = frozenset({
    sc.GEN_AI_OPERATION_NAME, sc.GEN_AI_PROVIDER_NAME, sc.DEPRECATED_GEN_AI_SYSTEM, sc.GEN_AI_REQUEST_MODEL,
    sc.GEN_AI_RESPONSE_MODEL, sc.GEN_AI_USAGE_INPUT_TOKENS, sc.DEPRECATED_USAGE_PROMPT_TOKENS,
    sc.GEN_AI_USAGE_OUTPUT_TOKENS, sc.DEPRECATED_USAGE_COMPLETION_TOKENS, sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS, sc.DEPRECATED_USAGE_CACHE_CREATION_INPUT_TOKENS,
    sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, sc.LLMOBS_COST_TOTAL, "gen_ai.usage.cost.amount", "gen_ai.usage.cost",
    sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, sc.ERROR_TYPE, sc.USER_ID, "enduser.id", sc.SESSION_ID,
})

_CONTENT_KEYS = (
    sc.GEN_AI_SYSTEM_INSTRUCTIONS, sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES, sc.LLMOBS_INPUT,
    sc.LLMOBS_OUTPUT, sc.GEN_AI_TOOL_CALL_ARGUMENTS, sc.GEN_AI_TOOL_CALL_RESULT, "gen_ai.prompt", "gen_ai.completion",
)


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


def _first(attrs: dict[str, Any], *names: str) -> Any:
    for name in names:
        value = attrs.get(name)
        if value is not None:
            return value
    return None


def _int(value: Any) -> int | None:
    kind = type(value)
    if kind is int:
        return value
    if kind is float and value.is_integer():
        return int(value)
    return None


def _float(value: Any) -> float | None:
    kind = type(value)
    return float(value) if kind is float or kind is int else None


def _str(value: Any) -> str | None:
    return value if type(value) is str else None


def _content(attrs: dict[str, Any]) -> str | None:
    parts = [attrs[k] if isinstance(attrs[k], str) else json.dumps(attrs[k]) for k in _CONTENT_KEYS if k in attrs]
    return "\n".join(parts) if parts else None


def _cost(attrs: dict[str, Any]) -> float | None:
    return _float(_first(attrs, sc.LLMOBS_COST_TOTAL, "gen_ai.usage.cost.amount", "gen_ai.usage.cost"))


_SCALARS = frozenset({"string_value", "int_value", "double_value", "bool_value"})


def _wanted_attrs(kvs: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The column attributes, and the content attributes (or None when the span has none)."""
    a: dict[str, Any] = {}
    content: dict[str, Any] | None = None
    wanted = _WANTED
    scalars = _SCALARS
    for kv in kvs:
        key = kv.key
        if key in wanted:
            value = kv.value
            kind = value.WhichOneof("value")
            a[key] = getattr(value, kind) if kind in scalars else _any_value(value)
        elif key in _CONTENT_SET:
            if content is None:
                content = {}
            content[key] = _any_value(kv.value)
    return a, content


_CONTENT_SET = frozenset(_CONTENT_KEYS)


def row_from_span(span: Any, resource_json: str, service: str | None, batch_id: int, index: int
                  ) -> tuple[Any, ...]:
    """One protobuf ``Span`` as a row (see COLUMNS). The span itself stays in its request's stored bytes
    (``batch_id``), at position ``index``: serialising it again per span cost more than the row."""
    if len(span.trace_id) != 16 or len(span.span_id) != 8:
        raise BadRequest(
            f"span {span.name!r}: trace_id must be 16 bytes and span_id 8 bytes "
            f"(got {len(span.trace_id)} and {len(span.span_id)})"
        )
    a, content = _wanted_attrs(span.attributes)
    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    status = span.status
    if a:
        get = a.get
        provider = get(sc.GEN_AI_PROVIDER_NAME)
        if provider is None:
            provider = get(sc.DEPRECATED_GEN_AI_SYSTEM)
        n_in = get(sc.GEN_AI_USAGE_INPUT_TOKENS)
        if n_in is None:
            n_in = get(sc.DEPRECATED_USAGE_PROMPT_TOKENS)
        n_out = get(sc.GEN_AI_USAGE_OUTPUT_TOKENS)
        if n_out is None:
            n_out = get(sc.DEPRECATED_USAGE_COMPLETION_TOKENS)
        write = get(sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS)
        if write is None:
            write = get(sc.DEPRECATED_USAGE_CACHE_CREATION_INPUT_TOKENS)
        user = get(sc.USER_ID)
        if user is None:
            user = get("enduser.id")
        facts: tuple[Any, ...] = (
            _str(get(sc.GEN_AI_OPERATION_NAME)), _str(provider), _str(get(sc.GEN_AI_REQUEST_MODEL)),
            _str(get(sc.GEN_AI_RESPONSE_MODEL)), _int(n_in), _int(n_out),
            _int(get(sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS)), _int(write),
            _int(get(sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS)), _cost(a),
            _float(get(sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK)), _str(get(sc.ERROR_TYPE)), _str(user),
            _str(get(sc.SESSION_ID)),
        )
    else:
        facts = _NO_FACTS
    return (
        span.trace_id.hex(), span.span_id.hex(), span.parent_span_id.hex() or None, span.name, span.kind,
        service, start, end, (end - start) / 1e9 if end > start else 0.0 if end else None, status.code,
        status.message or None, *facts, _content(content) if content else None, resource_json, batch_id, index,
    )


_NO_FACTS = (None,) * 14


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
        if not isinstance(data, dict):
            raise BadRequest("an OTLP/JSON body is an object with resourceSpans")
        try:
            json_format.ParseDict(_hex_ids_to_base64(data), request, ignore_unknown_fields=True)
        except (json_format.ParseError, TypeError, AttributeError, KeyError, ValueError, RecursionError) as exc:
            raise BadRequest(f"not an OTLP/JSON ExportTraceServiceRequest: {exc}") from None
        return request
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise BadRequest(f"not an OTLP protobuf ExportTraceServiceRequest: {exc}") from None
    return request


def rows_from_request(request: Any, batch_id: int = 0) -> list[tuple[Any, ...]]:
    rows = []
    index = 0
    for rs in request.resource_spans:
        resource = _attrs(rs.resource.attributes)
        service = _str(resource.get("service.name"))
        resource_json = json.dumps(resource, separators=(",", ":"), default=str)
        for ss in rs.scope_spans:
            for span in ss.spans:
                rows.append(row_from_span(span, resource_json, service, batch_id, index))
                index += 1
    return rows


def is_json(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == "application/json"


def count_spans(request: Any) -> int:
    """The spans in a traces request (before decoding them)."""
    return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)


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
