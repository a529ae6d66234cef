"""The ``anthropic`` integration: the Messages API (``messages.create`` / ``parse`` / ``stream()``, and the
same under ``beta.messages``), sync and async, for every client of the SDK (Anthropic, Bedrock, Vertex,
Foundry, AWS, Google Cloud).

What is patched (on the resource classes, so every client, existing or future, is covered):

- ``create`` and ``parse``: one span per call; a streamed ``create`` returns the SDK's ``Stream`` wrapped so the
  span ends with it. ``with_raw_response`` / ``with_streaming_response`` call these, so they are covered (see
  ``_stainless``).
- ``stream()``: the manager it returns is unchanged except that the request it opens on ``with`` goes through
  llmobs, so the helper stream (``text_stream``, ``get_final_message()``, ``get_final_text()``,
  ``until_done()``) reads the events through our stream proxy, and leaving the ``with`` block ends the span.
- ``count_tokens`` is not an LLM call: untouched.

**The SDK's own OpenTelemetry span.** anthropic 2.x starts a span of its own for each API call (its
``open_telemetry`` client option, ``ANTHROPIC_OPEN_TELEMETRY*`` variables). A second span for the same call
would count its tokens twice in any backend that sums LLM spans. For the calls llmobs records, the SDK is
handed a non-recording span that carries llmobs's span context instead of starting its own: it records
nothing, and when the client's ``propagation`` is on (its default) the SDK still sends the trace context,
now pointing at llmobs's span. A client whose SDK tracing is off keeps it off (no propagation either). Calls
llmobs does not record (``count_tokens``, ``models.list``, batches) keep the SDK's spans, which are not LLM
spans.

Usage is what the API reported, mapped to the conventions: Anthropic's ``input_tokens`` excludes cached
tokens, so input = ``input_tokens`` + ``cache_read_input_tokens`` + ``cache_creation_input_tokens``; cache
creation is ``cache_write``; ``output_tokens_details.thinking_tokens`` is reasoning (a subset of output).
Streamed ``message_delta`` usage is cumulative: its non-null fields replace those of ``message_start``.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import NonRecordingSpan

from .. import _recorder, _runtime
from .. import semconv as sc
from .._content import blob_descriptor
from .._model import LLMCall, Usage
from .._safety import report
from .._streams import StreamAccumulator, ToolCallAssembler, wrap_stream
from . import Integration
from ._finish import ANTHROPIC as _FINISH
from ._stainless import RawResponses, capturing, optional_import
from ._wrappers import ClientInfoCache, method_wrappers

INTEGRATION = "anthropic"

# Client classes of SDK versions that do not name their provider themselves (``_gen_ai_provider_name``).
_PROVIDER_BY_CLASS = {
    "AnthropicBedrock": "aws.bedrock", "AsyncAnthropicBedrock": "aws.bedrock",
    "AnthropicVertex": "gcp.vertex_ai", "AsyncAnthropicVertex": "gcp.vertex_ai",
}


def _detect(client: Any, url: Any) -> tuple[str, str | None, int | None]:
    provider = getattr(client, "_gen_ai_provider_name", None)
    if not isinstance(provider, str) or not provider:
        provider = _PROVIDER_BY_CLASS.get(type(client).__name__, "anthropic")
    host = getattr(url, "host", None) or None
    port = getattr(url, "port", None)
    if port is None and host:
        port = 443 if getattr(url, "scheme", "https") == "https" else 80
    return provider, host, port


_clients = ClientInfoCache(_detect)


def client_info(resource: Any) -> tuple[str, str | None, int | None]:
    """(provider, server address, server port) of the client behind a resource, cached per client and URL."""
    client = getattr(resource, "_client", None)
    return _clients.get(client, getattr(client, "_base_url", None))


# --- request parameters -------------------------------------------------------------------------------------

_NUMBER = (int, float)


def _params(kwargs: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    value = kwargs.get("max_tokens")
    if type(value) is int:
        params[sc.GEN_AI_REQUEST_MAX_TOKENS] = value
    for key, attr in (("temperature", sc.GEN_AI_REQUEST_TEMPERATURE), ("top_p", sc.GEN_AI_REQUEST_TOP_P)):
        number = kwargs.get(key)
        if isinstance(number, _NUMBER) and not isinstance(number, bool):
            params[attr] = float(number)
    value = kwargs.get("top_k")
    if type(value) is int:
        params[sc.GEN_AI_REQUEST_TOP_K] = float(value)
    value = kwargs.get("stop_sequences")
    if isinstance(value, (list, tuple)) and value and all(type(v) is str for v in value):
        params[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = tuple(value)
    config = kwargs.get("output_config")
    if isinstance(config, dict):
        if type(config.get("effort")) is str:
            params[sc.GEN_AI_REQUEST_REASONING_LEVEL] = config["effort"]
        fmt = config.get("format")
        if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            params[sc.GEN_AI_OUTPUT_TYPE] = "json"
    fmt = kwargs.get("output_format")
    if isinstance(fmt, type) or (isinstance(fmt, dict) and fmt.get("type") == "json_schema"):
        params[sc.GEN_AI_OUTPUT_TYPE] = "json"  # parse(output_format=Model) or a JSON schema
    return params


# --- response ---------------------------------------------------------------------------------------------------


def _finish_reason(reason: Any) -> str:
    if not reason:
        return sc.FINISH_ERROR
    return _FINISH.get(reason, reason) if isinstance(reason, str) else str(reason)


def _count(value: Any) -> int | None:
    return value if type(value) is int else None


def _usage(input_tokens: Any, output_tokens: Any, cache_read: Any, cache_write: Any, thinking: Any) -> Usage | None:
    """Anthropic counts cached tokens outside ``input_tokens``; the conventions count them inside."""
    n_in, n_out = _count(input_tokens), _count(output_tokens)
    read, write = _count(cache_read), _count(cache_write)
    if n_in is not None and (read or write):
        n_in += (read or 0) + (write or 0)
    usage = Usage(n_in, n_out, read, write, _count(thinking))
    return None if usage.is_empty() else usage


def _thinking_tokens(usage: Any) -> Any:
    details = getattr(usage, "output_tokens_details", None)
    return getattr(details, "thinking_tokens", None) if details is not None else None


def _message_usage(u: Any) -> Usage | None:
    if u is None:
        return None
    return _usage(getattr(u, "input_tokens", None), getattr(u, "output_tokens", None),
                  getattr(u, "cache_read_input_tokens", None), getattr(u, "cache_creation_input_tokens", None),
                  _thinking_tokens(u))


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


def _block_part(block: Any) -> dict[str, Any] | None:
    """A content block (request or response, dict or SDK model) as a semconv part."""
    kind = _get(block, "type")
    if kind == "text":
        return {"type": "text", "content": _get(block, "text")}
    if kind == "thinking":
        return {"type": "reasoning", "content": _get(block, "thinking")}
    if kind == "redacted_thinking":
        return {"type": "reasoning", "content": ""}
    if kind in ("tool_use", "server_tool_use", "mcp_tool_use"):
        part: dict[str, Any] = {"type": "tool_call", "name": _get(block, "name"), "arguments": _get(block, "input")}
        if _get(block, "id"):
            part["id"] = _get(block, "id")
        return part
    if kind == "tool_result" or (isinstance(kind, str) and kind.endswith("_tool_result")):
        content = _get(block, "content")
        if isinstance(content, (list, tuple)):
            content = [p for p in (_block_part(c) for c in content) if p is not None]
        part = {"type": "tool_call_response", "response": content}
        if _get(block, "tool_use_id"):
            part["id"] = _get(block, "tool_use_id")
        return part
    if kind in ("image", "document"):
        source = _get(block, "source")
        modality = "image" if kind == "image" else "document"
        source_type = _get(source, "type")
        if source_type == "base64":
            return blob_descriptor(modality, _get(source, "media_type"), _get(source, "data"))  # never the bytes
        if source_type == "url":
            return {"type": "uri", "modality": modality, "uri": _get(source, "url")}
        if source_type == "file":
            return {"type": "file", "modality": modality, "file_id": _get(source, "file_id")}
        if source_type == "text":
            return {"type": "text", "content": _get(source, "data")}
        return {"type": "generic", "generic_type": kind}
    if kind is None:
        return None
    return {"type": "generic", "generic_type": kind}


def _parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    if not isinstance(content, (list, tuple)):
        return []
    return [p for p in (_block_part(b) for b in content) if p is not None]


def _input_messages(messages: Any) -> list[dict[str, Any]] | None:
    if not isinstance(messages, (list, tuple)):  # a generator would be consumed before the SDK sees it
        return None
    return [{"role": _get(m, "role"), "parts": _parts(_get(m, "content"))} for m in messages]


def _tool_definitions(tools: Any) -> list[dict[str, Any]] | None:
    if not isinstance(tools, (list, tuple)):
        return None
    out = []
    for tool in tools:
        kind = _get(tool, "type")
        entry: dict[str, Any] = {"type": "function" if kind in (None, "custom") else kind}
        name = _get(tool, "name")
        if name:
            entry["name"] = name
        out.append(entry)
    return out or None


def _fill_message(call: LLMCall, message: Any) -> None:
    call.response_id = getattr(message, "id", None)
    call.response_model = getattr(message, "model", None)
    call.finish_reasons = [_finish_reason(getattr(message, "stop_reason", None))]
    call.usage = _message_usage(getattr(message, "usage", None))
    if capturing():
        call.output_messages = [{"role": "assistant", "parts": _parts(getattr(message, "content", None)),
                                 "finish_reason": call.finish_reasons[0]}]


# --- streams ---------------------------------------------------------------------------------------------------

class MessageAccumulator(StreamAccumulator):
    """``RawMessageStreamEvent``s: the message from ``message_start``, the cumulative usage and stop reason of
    ``message_delta``, and, when capturing, every content block rebuilt from its deltas."""

    __slots__ = ("blocks", "capture", "input_json", "message", "stop_reason", "usage")

    def __init__(self, capture: bool) -> None:
        self.capture = capture
        self.message: Any = None
        self.usage: list[Any] = [None, None, None, None, None]  # input, output, cache read, cache write, thinking
        self.stop_reason: Any = None
        self.blocks: dict[int, dict[str, Any]] = {}
        self.input_json: ToolCallAssembler | None = None

    def add(self, event: Any) -> bool:
        kind = event.type
        if kind == "content_block_delta":
            if self.capture:
                self._delta(event.index, event.delta)
            return True
        if kind == "message_delta":
            stop = event.delta.stop_reason
            if stop is not None:
                self.stop_reason = stop
            self._add_usage(event.usage)
            return False
        if kind == "message_start":
            self.message = event.message
            self._add_usage(event.message.usage)
            return False
        if kind == "content_block_start" and self.capture:
            block = event.content_block
            part = _block_part(block)
            if part is not None:
                if part["type"] == "tool_call":
                    if self.input_json is None:
                        self.input_json = ToolCallAssembler()
                    self.input_json.add(event.index, part.get("id"), part.get("name"))
                    part["arguments"] = None
                elif part["type"] in ("text", "reasoning"):
                    part["content"] = part.get("content") or ""
                self.blocks[event.index] = part
        return False

    def _add_usage(self, u: Any) -> None:
        if u is None:
            return
        usage = self.usage
        for i, value in enumerate((getattr(u, "input_tokens", None), getattr(u, "output_tokens", None),
                                   getattr(u, "cache_read_input_tokens", None),
                                   getattr(u, "cache_creation_input_tokens", None), _thinking_tokens(u))):
            if value is not None:  # cumulative: the latest non-null value of each field wins
                usage[i] = value

    def _delta(self, index: int, delta: Any) -> None:
        kind = delta.type
        block = self.blocks.get(index)
        if kind == "text_delta":
            if block is None:
                block = self.blocks[index] = {"type": "text", "content": ""}
            block["content"] += delta.text
        elif kind == "thinking_delta":
            if block is None:
                block = self.blocks[index] = {"type": "reasoning", "content": ""}
            block["content"] += delta.thinking
        elif kind == "input_json_delta":
            if self.input_json is None:
                self.input_json = ToolCallAssembler()
            self.input_json.add(index, arguments=delta.partial_json)

    def finish(self, call: LLMCall) -> None:
        message = self.message
        if message is not None:
            call.response_id = message.id
            call.response_model = message.model
        if self.stop_reason is not None:
            call.finish_reasons = [_finish_reason(self.stop_reason)]
        elif message is not None:
            call.finish_reasons = [sc.FINISH_ERROR]  # the stream was cut before the message ended
        call.usage = _usage(*self.usage)
        if self.capture and self.blocks:
            tools = self.input_json.by_index() if self.input_json is not None else {}
            parts = []
            for index in sorted(self.blocks):
                part = self.blocks[index]
                if part["type"] == "tool_call" and index in tools:
                    part = {**part, "arguments": tools[index].get("arguments")}
                parts.append(part)
            message_out: dict[str, Any] = {"role": "assistant", "parts": parts}
            if call.finish_reasons:
                message_out["finish_reason"] = call.finish_reasons[0]
            call.output_messages = [message_out]


# --- building the call ----------------------------------------------------------------------------------------

def _call(resource: Any, kwargs: dict[str, Any], stream: bool | None = None) -> LLMCall:
    provider, address, port = client_info(resource)
    model = kwargs.get("model")
    call = LLMCall(
        sc.OP_CHAT, provider, model if type(model) is str else None, server_address=address, server_port=port,
        stream=kwargs.get("stream") is True if stream is None else stream, params=_params(kwargs),
        integration=INTEGRATION,
    )
    rt = _runtime._current or _runtime.get()
    if rt.capture:
        try:
            call.input_messages = _input_messages(kwargs.get("messages"))
            system = kwargs.get("system")
            if isinstance(system, str):
                call.system_instructions = [{"type": "text", "content": system}]
            elif isinstance(system, (list, tuple)):
                call.system_instructions = _parts(system)
            call.tool_definitions = _tool_definitions(kwargs.get("tools"))
        except Exception as exc:
            report("anthropic.capture", exc)
    return call


_raw = RawResponses()
_on_message = _raw.handler(_fill_message, MessageAccumulator)


# --- stream() managers ------------------------------------------------------------------------------------------
# ``messages.stream()`` does not call ``create``: it gives its manager a request (a ``functools.partial`` of
# ``_post``, or, async, an un-awaited coroutine) that the manager runs on ``with``. That request is replaced by
# one that runs inside the call's span and returns the event stream wrapped by our proxy, which the SDK's
# ``MessageStream`` then reads (so do its helpers); ``with`` exit closes it, which ends the span.

def _on_stream(call: LLMCall, result: Any) -> Any:
    return wrap_stream(result, call, MessageAccumulator(capturing()))


def _manager_attr(manager: Any) -> str | None:
    for cls in type(manager).__mro__:
        name = f"_{cls.__name__.lstrip('_')}__api_request"
        if name in vars(manager):
            return name
    return None


def _stream_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    manager = wrapped(*args, **kwargs)
    try:
        attr = _manager_attr(manager)
        if attr is None:
            return manager
        request = getattr(manager, attr)
        if hasattr(request, "__await__"):  # async: a coroutine, awaited by __aenter__

            async def traced() -> Any:
                if _recorder._in_flight.get() is not None:
                    return await request
                call = _call(instance, kwargs, True)
                return await _recorder.ainvoke(call, lambda: request, (), {}, _on_stream)

            replacement: Any = traced()
        else:

            def replacement() -> Any:
                if _recorder._in_flight.get() is not None:
                    return request()
                call = _call(instance, kwargs, True)
                return _recorder.invoke(call, request, (), {}, _on_stream)

        setattr(manager, attr, replacement)
    except Exception as exc:
        report("anthropic.stream_manager", exc)
    return manager


# --- the SDK's own span -----------------------------------------------------------------------------------------

def _sdk_span(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """``start_api_call_span``: for a call llmobs records, a non-recording span with llmobs's span context
    (for trace propagation), or None when the client does not propagate; otherwise the SDK's own span."""
    call = _recorder._in_flight.get()
    if call is None or call.integration != INTEGRATION:
        return wrapped(*args, **kwargs)
    try:
        if not kwargs.get("propagation", True):
            return None
        context = call._span.get_span_context() if call._span is not None else None
        if context is None or not context.is_valid:
            return None
        return NonRecordingSpan(context)
    except Exception as exc:
        report("anthropic.sdk_span", exc)
        return None


# --- the integration ------------------------------------------------------------------------------------------

class AnthropicIntegration(Integration):
    name = "anthropic"
    library = "anthropic"

    def patch(self, module: Any) -> None:
        _raw.find("anthropic")
        sync_wrapper, async_wrapper = method_wrappers(INTEGRATION, _call, _on_message)
        for path in ("anthropic.resources.messages.messages", "anthropic.resources.messages",
                     "anthropic.resources.beta.messages.messages", "anthropic.resources.beta.messages"):
            resource = optional_import(path)
            if resource is None or not hasattr(resource, "Messages"):
                continue
            if isinstance(vars(resource).get("Messages"), type) and getattr(
                    resource.Messages, "__module__", None) != path:
                continue  # a package re-exporting the class: patched where it is defined
            for cls, wrapper in (("Messages", sync_wrapper), ("AsyncMessages", async_wrapper)):
                self.patcher.wrap(resource, f"{cls}.create", wrapper)
                self.patcher.wrap(resource, f"{cls}.parse", wrapper)
                self.patcher.wrap(resource, f"{cls}.stream", _stream_wrapper)
        base = optional_import("anthropic._base_client")
        if base is not None and hasattr(base, "start_api_call_span"):
            self.patcher.wrap(base, "start_api_call_span", _sdk_span)

