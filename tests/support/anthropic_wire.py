"""Anthropic Messages API wire formats served to the real ``anthropic`` SDK, offline.

* **Payload builders** shaped like the HTTP API (https://docs.anthropic.com/en/api/messages and
  .../messages-streaming): :func:`message` (a ``message`` object), :func:`usage`, content blocks
  (:func:`text_block`, :func:`tool_use_block`, :func:`thinking_block`), :func:`stream_events` (the typed events
  of a streamed message, from ``message_start`` to ``message_stop``, with ``ping`` and cumulative
  ``message_delta`` usage), :func:`error_body`.
* **SSE encoding**: :func:`sse_pieces` (``event: <type>`` + ``data: <json>`` per event).
* **A fake server**, :class:`MockAnthropic`, whose :meth:`handler` plugs into the ``MockTransport`` of the HTTP
  library the installed SDK uses (:data:`HTTP`: ``httpx2`` for anthropic 2.x, ``httpx`` for 1.x), and
  :func:`client`, a real SDK client (sync or async) on top of it.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anthropic
import anthropic._base_client as _sdk_base_client

from tests.support.paced_body import paced_body

HTTP: Any = getattr(_sdk_base_client, "httpx2", None) or _sdk_base_client.httpx
BASE_URL = "https://api.anthropic.com"
MODEL = "claude-sonnet-4-6"
_ids = iter(range(1, 10**9))


def _id(prefix: str) -> str:
    return f"{prefix}_01{next(_ids):022d}"


def usage(input_tokens: int = 12, output_tokens: int = 6, *, cache_read: int | None = 0,
          cache_write: int | None = 0, thinking: int | None = None, service_tier: str | None = "standard",
          ) -> dict[str, Any]:
    """A ``usage`` object. Anthropic's ``input_tokens`` does not include the cached tokens."""
    u: dict[str, Any] = {"input_tokens": input_tokens, "cache_creation_input_tokens": cache_write,
                         "cache_read_input_tokens": cache_read, "output_tokens": output_tokens}
    if cache_write:
        u["cache_creation"] = {"ephemeral_5m_input_tokens": cache_write, "ephemeral_1h_input_tokens": 0}
    if thinking is not None:
        u["output_tokens_details"] = {"thinking_tokens": thinking}
    if service_tier is not None:
        u["service_tier"] = service_tier
    return u


def text_block(text: str = "Hello! How can I help?") -> dict[str, Any]:
    return {"type": "text", "text": text}


def tool_use_block(name: str = "get_weather", arguments: Mapping[str, Any] | None = None,
                   id: str | None = None) -> dict[str, Any]:
    return {"type": "tool_use", "id": id or _id("toolu"), "name": name, "input": dict(arguments or {"city": "Paris"})}


def thinking_block(thinking: str = "The user says hello; answer briefly.") -> dict[str, Any]:
    return {"type": "thinking", "thinking": thinking, "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pk"}


def message(model: str = MODEL, content: Sequence[Mapping[str, Any]] | None = None, *,
            stop_reason: str | None = "end_turn", usage_: Mapping[str, Any] | None = None,
            id: str | None = None) -> dict[str, Any]:
    """A ``message`` object (the non-streamed answer)."""
    return {
        "id": id or _id("msg"), "type": "message", "role": "assistant", "model": model,
        "content": [dict(b) for b in (content if content is not None else [text_block()])],
        "stop_reason": stop_reason, "stop_sequence": None, "usage": dict(usage_ or usage()),
    }


def _split(text: str, n: int) -> list[str]:
    size = max(1, -(-len(text) // n))
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def stream_events(msg: Mapping[str, Any], *, pieces: int = 3, ping: bool = True,
                  final_usage: Mapping[str, Any] | None = None, cut_after_content: bool = False,
                  ) -> list[dict[str, Any]]:
    """The events of ``msg`` streamed: ``message_start`` (empty content, the input usage and an output count
    of 1), per block ``content_block_start`` / deltas / ``content_block_stop``, ``message_delta`` (stop reason,
    cumulative usage: ``final_usage`` or the message's output tokens) and ``message_stop``.
    ``cut_after_content`` ends the list after the content (no message_delta / message_stop)."""
    start_usage = dict(msg["usage"])
    start_usage["output_tokens"] = 1
    start_usage.pop("output_tokens_details", None)
    events: list[dict[str, Any]] = [{"type": "message_start", "message": {
        **{k: v for k, v in msg.items() if k != "content"}, "content": [], "stop_reason": None,
        "stop_sequence": None, "usage": start_usage}}]
    if ping:
        events.append({"type": "ping"})
    for index, block in enumerate(msg["content"]):
        kind = block["type"]
        if kind == "text":
            events.append({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}})
            for piece in _split(block["text"], pieces):
                events.append({"type": "content_block_delta", "index": index,
                               "delta": {"type": "text_delta", "text": piece}})
        elif kind == "tool_use":
            events.append({"type": "content_block_start", "index": index, "content_block": {
                "type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}})
            events.append({"type": "content_block_delta", "index": index,
                           "delta": {"type": "input_json_delta", "partial_json": ""}})
            for piece in _split(json.dumps(block["input"]), pieces):
                events.append({"type": "content_block_delta", "index": index,
                               "delta": {"type": "input_json_delta", "partial_json": piece}})
        elif kind == "thinking":
            events.append({"type": "content_block_start", "index": index,
                           "content_block": {"type": "thinking", "thinking": "", "signature": ""}})
            for piece in _split(block["thinking"], pieces):
                events.append({"type": "content_block_delta", "index": index,
                               "delta": {"type": "thinking_delta", "thinking": piece}})
            events.append({"type": "content_block_delta", "index": index,
                           "delta": {"type": "signature_delta", "signature": block["signature"]}})
        events.append({"type": "content_block_stop", "index": index})
    if cut_after_content:
        return events
    delta_usage = dict(final_usage) if final_usage is not None else {"output_tokens": msg["usage"]["output_tokens"]}
    events.append({"type": "message_delta", "delta": {"stop_reason": msg["stop_reason"], "stop_sequence": None},
                   "usage": delta_usage})
    events.append({"type": "message_stop"})
    return events


def sse_pieces(events: Iterable[Mapping[str, Any]]) -> list[bytes]:
    return [f"event: {e['type']}\ndata: {json.dumps(e, separators=(',', ':'))}\n\n".encode() for e in events]


_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 500: "api_error",
                529: "overloaded_error"}


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    kind = _ERROR_TYPES.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message or kind.replace("_", " ")},
            "request_id": _id("req")}


# --- the fake server ----------------------------------------------------------------------------------------

@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    json: Any


class MockAnthropic:
    """Queued answers, served in order; with nothing queued, a message (streamed when asked) echoing the model."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._queue: deque[Callable[[Any], Any]] = deque()
        self._lock = threading.Lock()

    @staticmethod
    def _response(status: int, content_type: str, pieces: Sequence[bytes], request: Any, *,
                  delay: float = 0.0, fail_after: int | None = None) -> Any:
        headers = {"content-type": content_type, "request-id": _id("req"),
                   "anthropic-organization-id": "00000000-0000-0000-0000-000000000000"}
        return HTTP.Response(status, headers=headers, stream=paced_body(HTTP)(pieces, delay=delay, fail_after=fail_after, request=request))

    def add_json(self, body: Any, status: int = 200) -> MockAnthropic:
        data = json.dumps(body).encode()
        self._queue.append(lambda request: self._response(status, "application/json", [data], request))
        return self

    def add_message(self, msg: Mapping[str, Any]) -> MockAnthropic:
        return self.add_json(dict(msg))

    def add_stream(self, events: Iterable[Mapping[str, Any]], *, delay: float = 0.0,
                   fail_after: int | None = None) -> MockAnthropic:
        pieces = sse_pieces(events)
        self._queue.append(lambda request: self._response(200, "text/event-stream; charset=utf-8", pieces, request,
                                                           delay=delay, fail_after=fail_after))
        return self

    def add_error(self, status: int, message: str | None = None) -> MockAnthropic:
        return self.add_json(error_body(status, message), status)

    def handler(self, request: Any) -> Any:
        content = request.content
        try:
            body = json.loads(content) if content else None
        except ValueError:
            body = None
        recorded = Recorded(request.method, request.url.path, {k.lower(): v for k, v in request.headers.items()}, body)
        with self._lock:
            self.requests.append(recorded)
            responder = self._queue.popleft() if self._queue else None
        if responder is not None:
            return responder(request)
        body = body if isinstance(body, dict) else {}
        if recorded.path.endswith("/count_tokens"):
            return self._response(200, "application/json", [b'{"input_tokens": 14}'], request)
        msg = message(str(body.get("model") or MODEL))
        if body.get("stream"):
            return self._response(200, "text/event-stream; charset=utf-8", sse_pieces(stream_events(msg)), request)
        return self._response(200, "application/json", [json.dumps(msg).encode()], request)

    @property
    def last(self) -> Recorded:
        return self.requests[-1]


def client(server: MockAnthropic, *, async_: bool = False, cls: type | None = None, **kwargs: Any) -> Any:
    """A real SDK client (``anthropic.Anthropic`` / ``AsyncAnthropic`` or ``cls``) sending to ``server``."""
    if cls is None:
        cls = anthropic.AsyncAnthropic if async_ else anthropic.Anthropic
    transport = HTTP.MockTransport(server.handler)
    is_async = "Async" in cls.__name__
    http_client = HTTP.AsyncClient(transport=transport) if is_async else HTTP.Client(transport=transport)
    kwargs.setdefault("api_key", "sk-ant-test")
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("base_url", BASE_URL)
    return cls(http_client=http_client, **kwargs)
