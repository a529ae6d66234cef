"""The ``google_genai`` integration: the Google Gen AI SDK (``from google import genai``), for the Gemini
Developer API (AI Studio) and Vertex AI, sync and async.

What is patched (on the ``Models`` / ``AsyncModels`` classes, so every client, existing or future, is covered):

- ``Models._generate_content`` and ``Models._generate_content_stream``: the SDK's one-HTTP-request methods
  under ``generate_content`` / ``generate_content_stream``. The public methods may send several requests
  for one call (automatic function calling sends one per round, automatic continuation one per hop), so
  patching one level down gives exactly one LLM span per API request, each with that request's own usage,
  and never a span around the user's Python functions that AFC runs. ``client.chats`` (``send_message``,
  ``send_message_stream``) goes through ``models.generate_content*`` and is covered the same way: one span
  per request, never two. SDK versions without these methods get the public ones patched instead.
- ``Models.embed_content``: one request per call (``batchEmbedContents`` / ``embedContent`` / ``predict``).
- The ``AsyncModels`` twins (``client.aio.models`` and ``client.aio.chats``).

The user always gets the SDK's own objects: the streams a user iterates are the SDK's public generators,
which iterate our proxy of the per-request stream inside. The sync per-request stream is a generator that
sends its request on the first ``next()``; the proxy runs that first step with the span current (and the
call in flight), so HTTP-level spans and propagated headers belong to the LLM span, as they do for the
async stream, whose request is sent when it is awaited.

Provider: ``gcp.vertex_ai`` for a ``vertexai=True`` client, else ``gcp.gemini``; ``server.address`` and
``server.port`` from the client's base URL (a per-request ``http_options.base_url`` wins).

Usage is ``usage_metadata`` mapped to the conventions: ``prompt_token_count`` (it includes cached content)
plus ``tool_use_prompt_token_count`` (tool results fed back to the model, counted and billed apart from the
prompt) is input; ``cached_content_token_count`` is cache_read; ``candidates_token_count`` plus
``thoughts_token_count`` is output, thoughts being its reasoning subset. Streamed chunks carry running
totals: the last one wins. A field the API did not send stays absent.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
from typing import Any
from urllib.parse import urlsplit

from .. import _runtime
from .. import semconv as sc
from .._content import blob_descriptor
from .._model import LLMCall, Usage
from .._safety import report
from .._streams import StreamAccumulator, wrap_stream
from . import Integration
from ._finish import GEMINI as _FINISH
from ._wrappers import ClientInfoCache, method_wrappers

INTEGRATION = "google_genai"
PROVIDER_GEMINI = "gcp.gemini"
PROVIDER_VERTEX = "gcp.vertex_ai"

# --- provider and server --------------------------------------------------------------------------------------


def _host_port(url: Any) -> tuple[str | None, int | None]:
    if not isinstance(url, str) or not url:
        return None, None
    try:
        parts = urlsplit(url if "//" in url else f"https://{url}")
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None, None
    if host and port is None:
        port = 80 if parts.scheme == "http" else 443
    return host or None, port if host else None


def _detect(api: Any, base_url: Any) -> tuple[str, str | None, int | None]:
    provider = PROVIDER_VERTEX if bool(getattr(api, "vertexai", False)) else PROVIDER_GEMINI
    host, port = _host_port(base_url)
    return provider, host, port


_clients = ClientInfoCache(_detect)


def client_info(resource: Any) -> tuple[str, str | None, int | None]:
    """(provider, server.address, server.port) of the client behind a ``Models`` resource, cached per base URL."""
    api = getattr(resource, "_api_client", None)
    if api is None:
        return PROVIDER_GEMINI, None, None
    return _clients.get(api, getattr(getattr(api, "_http_options", None), "base_url", None))


# --- request parameters -------------------------------------------------------------------------------------

_NUMBER = (int, float)


def _fields(obj: Any) -> dict[str, Any] | None:
    """The fields of a config given as a dict or as an SDK (pydantic) object, as a dict; None otherwise."""
    if isinstance(obj, dict):
        return obj
    fields = getattr(obj, "__dict__", None)
    return fields if isinstance(fields, dict) else None


def _get(obj: Any, key: str, camel: str | None = None) -> Any:
    """``obj.key`` for SDK objects; ``obj[key]`` (or its camelCase spelling, which the SDK accepts) for dicts."""
    if isinstance(obj, dict):
        value = obj.get(key)
        if value is None and camel is not None:
            value = obj.get(camel)
        return value
    return getattr(obj, key, None)


def _float(value: Any) -> float | None:
    kind = type(value)
    return float(value) if kind in _NUMBER and kind is not bool else None


def _whole(value: Any) -> int | None:
    """An int, or a float with an integral value (the SDK types ``top_k`` as a float)."""
    kind = type(value)
    if kind is int:
        return value
    if kind is float and value.is_integer():
        return int(value)
    return None


_FLOAT_PARAMS = (
    ("temperature", sc.GEN_AI_REQUEST_TEMPERATURE),
    ("top_p", sc.GEN_AI_REQUEST_TOP_P),
    ("presence_penalty", sc.GEN_AI_REQUEST_PRESENCE_PENALTY),
    ("frequency_penalty", sc.GEN_AI_REQUEST_FREQUENCY_PENALTY),
)
_OUTPUT_MIME = {"application/json": "json", "text/plain": "text", "text/x.enum": "text"}
_OUTPUT_MODALITY = {"IMAGE": "image", "AUDIO": "speech", "TEXT": "text"}


def _output_type(fields: dict[str, Any]) -> str | None:
    mime = fields.get("response_mime_type")
    if isinstance(mime, str):
        return _OUTPUT_MIME.get(mime.split(";")[0].strip().lower())
    if fields.get("response_schema") is not None or fields.get("response_json_schema") is not None:
        return "json"
    modalities = fields.get("response_modalities")
    if isinstance(modalities, (list, tuple)) and len(modalities) == 1:
        value = getattr(modalities[0], "value", modalities[0])
        return _OUTPUT_MODALITY.get(value.upper()) if isinstance(value, str) else None
    return None


def _generate_params(config: Any) -> dict[str, Any]:
    fields = _fields(config)
    if not fields:
        return {}
    params: dict[str, Any] = {}
    for key, attr in _FLOAT_PARAMS:
        value = _float(fields.get(key))
        if value is not None:
            params[attr] = value
    top_k = _whole(fields.get("top_k"))
    if top_k is not None:
        params[sc.GEN_AI_REQUEST_TOP_K] = top_k
    max_tokens = fields.get("max_output_tokens")
    if type(max_tokens) is int:
        params[sc.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
    seed = fields.get("seed")
    if type(seed) is int:
        params[sc.GEN_AI_REQUEST_SEED] = seed
    count = fields.get("candidate_count")
    if type(count) is int and count != 1:
        params[sc.GEN_AI_REQUEST_CHOICE_COUNT] = count
    stop = fields.get("stop_sequences")
    if isinstance(stop, str):
        params[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = (stop,)
    elif isinstance(stop, (list, tuple)) and stop and all(type(s) is str for s in stop):
        params[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = tuple(stop)
    output = _output_type(fields)
    if output is not None:
        params[sc.GEN_AI_OUTPUT_TYPE] = output
    thinking = fields.get("thinking_config")
    if thinking is not None:
        level = _get(thinking, "thinking_level", "thinkingLevel")
        level = getattr(level, "value", level)
        if isinstance(level, str) and level:
            params[sc.GEN_AI_REQUEST_REASONING_LEVEL] = level
    return params


def _embed_params(config: Any) -> dict[str, Any]:
    fields = _fields(config)
    if not fields:
        return {}
    dims = fields.get("output_dimensionality")
    return {sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT: dims} if type(dims) is int else {}


def _request_base_url(config: Any) -> Any:
    """A per-request ``http_options.base_url`` (it overrides the client's), if any."""
    fields = _fields(config)
    options = fields.get("http_options") if fields else None
    return _get(options, "base_url", "baseUrl") if options is not None else None


# --- usage and finish reasons ---------------------------------------------------------------------------------

def _int(value: Any) -> int | None:
    return value if type(value) is int else None


def _usage(u: Any) -> Usage | None:
    """``usage_metadata`` of a GenerateContentResponse as conventions usage; None if it holds no counts."""
    if u is None:
        return None
    prompt = _int(getattr(u, "prompt_token_count", None))
    tool_use = _int(getattr(u, "tool_use_prompt_token_count", None))
    candidates = _int(getattr(u, "candidates_token_count", None))
    thoughts = _int(getattr(u, "thoughts_token_count", None))
    # None only when neither part was reported: a count the API left out is not a zero
    input_tokens = None if prompt is None and tool_use is None else (prompt or 0) + (tool_use or 0)
    output_tokens = None if candidates is None and thoughts is None else (candidates or 0) + (thoughts or 0)
    usage = Usage(input_tokens, output_tokens)
    usage.cache_read_input_tokens = _int(getattr(u, "cached_content_token_count", None))
    usage.reasoning_output_tokens = thoughts
    return None if usage.is_empty() else usage


def _finish_reason(reason: Any, tool_call: bool) -> str:
    """A Gemini ``FinishReason`` (a str enum, or the raw string) normalised; ``STOP`` with a function call is
    ``tool_call``; any other name passes through lower-cased; no reason at all is ``error``."""
    if reason is None:
        return sc.FINISH_ERROR
    mapped = _FINISH.get(reason)
    if mapped is None:
        value = getattr(reason, "value", reason)
        mapped = value.lower() if isinstance(value, str) and value else sc.FINISH_ERROR
    if tool_call and mapped == sc.FINISH_STOP:
        return sc.FINISH_TOOL_CALL
    return mapped


def _calls_a_function(candidate: Any) -> bool:
    content = getattr(candidate, "content", None)
    for part in getattr(content, "parts", None) or ():
        if getattr(part, "function_call", None) is not None:
            return True
    return False


def _blocked(feedback: Any) -> list[str] | None:
    """A prompt the API refused (``prompt_feedback.block_reason``, no candidates) finished as content_filter."""
    if feedback is not None and getattr(feedback, "block_reason", None) is not None:
        return [sc.FINISH_CONTENT_FILTER]
    return None


# --- content (only built when capture is on) ------------------------------------------------------------------

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


def _modality(mime: Any) -> str:
    if isinstance(mime, str):
        kind = mime.split("/", 1)[0].lower()
        if kind in ("image", "audio", "video"):
            return kind
    return "document"


def _enum_value(value: Any) -> Any:
    return getattr(value, "value", value)


def _plain(value: Any) -> Any:
    """A JSON object as a plain dict (the raw-response view wraps nested objects)."""
    return value._d if isinstance(value, _Raw) else value


def _model_fields(obj: Any) -> dict[str, Any] | None:
    """The fields of a dict or an SDK (pydantic) object; None for anything else (a PIL image, a session)."""
    if isinstance(obj, dict):
        return obj
    if hasattr(type(obj), "model_fields"):
        return _fields(obj)
    return None


def _part(p: Any) -> dict[str, Any]:
    """One Gemini part (SDK ``Part``, a part dict, a string or a ``File``) as a conventions part."""
    if isinstance(p, str):
        return {"type": "text", "content": p}
    text = _get(p, "text")
    if isinstance(text, str):
        return {"type": "reasoning" if _get(p, "thought") else "text", "content": text}
    fc = _get(p, "function_call", "functionCall")
    if fc is not None:
        part: dict[str, Any] = {"type": "tool_call", "name": _get(fc, "name"), "arguments": _plain(_get(fc, "args")) or {}}
        if _get(fc, "id"):
            part["id"] = _get(fc, "id")
        return part
    fr = _get(p, "function_response", "functionResponse")
    if fr is not None:
        part = {"type": "tool_call_response", "response": _plain(_get(fr, "response"))}
        if _get(fr, "id"):
            part["id"] = _get(fr, "id")
        if _get(fr, "name"):
            part["name"] = _get(fr, "name")
        return part
    blob = _get(p, "inline_data", "inlineData")
    if blob is not None:
        mime = _get(blob, "mime_type", "mimeType")
        return blob_descriptor(_modality(mime), mime, _get(blob, "data"))  # size and sha256, never the bytes
    file = _get(p, "file_data", "fileData")
    if file is None and not isinstance(p, dict) and isinstance(getattr(p, "uri", None), str):
        file = {"file_uri": p.uri, "mime_type": getattr(p, "mime_type", None)}  # a files.upload() File
    if file is not None:
        mime = _get(file, "mime_type", "mimeType")
        part = {"type": "uri", "modality": _modality(mime), "uri": _get(file, "file_uri", "fileUri")}
        if mime:
            part["mime_type"] = mime
        return part
    code = _get(p, "executable_code", "executableCode")
    if code is not None:
        call = {"type": "code_execution", "code": _get(code, "code"), "language": _enum_value(_get(code, "language"))}
        return {"type": "server_tool_call", "name": "code_execution", "server_tool_call": call}
    result = _get(p, "code_execution_result", "codeExecutionResult")
    if result is not None:
        response = {"type": "code_execution", "outcome": _enum_value(_get(result, "outcome")),
                    "output": _get(result, "output")}
        return {"type": "server_tool_call_response", "server_tool_call_response": response}
    tool_call = _get(p, "tool_call", "toolCall")
    if tool_call is not None:
        kind = _enum_value(_get(tool_call, "tool_type", "toolType"))
        part = {"type": "server_tool_call", "name": kind,
                "server_tool_call": {"type": kind, "arguments": _plain(_get(tool_call, "args"))}}
        if _get(tool_call, "id"):
            part["id"] = _get(tool_call, "id")
        return part
    tool_response = _get(p, "tool_response", "toolResponse")
    if tool_response is not None:
        kind = _enum_value(_get(tool_response, "tool_type", "toolType"))
        part = {"type": "server_tool_call_response",
                "server_tool_call_response": {"type": kind, "response": _plain(_get(tool_response, "response"))}}
        if _get(tool_response, "id"):
            part["id"] = _get(tool_response, "id")
        return part
    fields = _model_fields(p)
    if fields:
        for key, value in fields.items():
            if value is not None:
                return {"type": "generic", "generic_type": _snake(key)}
    return {"type": "generic", "generic_type": type(p).__name__}


def _is_content(item: Any) -> bool:
    """A ``Content`` (role + parts), as an SDK object or a dict, rather than a single part."""
    if isinstance(item, dict):
        return "parts" in item or "role" in item
    return hasattr(item, "parts") and hasattr(item, "role") and not isinstance(item, (str, bytes))


def _content_message(item: Any) -> dict[str, Any]:
    parts = _get(item, "parts")
    if isinstance(parts, (str, dict)) or (parts is not None and not isinstance(parts, (list, tuple))):
        parts = [parts]
    return {"role": _get(item, "role") or "user", "parts": [_part(p) for p in parts or ()]}


def _input_messages(contents: Any) -> list[dict[str, Any]] | None:
    """``contents`` in every shape the SDK accepts, as conventions messages. Loose parts are grouped into
    consecutive messages as the SDK does (a function call part is the model's, anything else the user's).
    An iterator or generator is never read: it would be consumed before the SDK sees it."""
    if contents is None:
        return None
    if isinstance(contents, (list, tuple)):
        items: Any = contents
    elif isinstance(contents, (str, dict)) or _is_content(contents) or hasattr(contents, "text") or hasattr(
            contents, "uri"):
        items = [contents]
    else:
        return None
    messages: list[dict[str, Any]] = []
    loose: list[dict[str, Any]] = []
    loose_role = "user"
    for item in items:
        if isinstance(item, list):
            if loose:
                messages.append({"role": loose_role, "parts": loose})
                loose = []
            messages.append({"role": "user", "parts": [_part(p) for p in item]})
        elif _is_content(item):
            if loose:
                messages.append({"role": loose_role, "parts": loose})
                loose = []
            messages.append(_content_message(item))
        else:
            part = _part(item)
            role = "model" if part["type"] == "tool_call" else "user"
            if loose and role != loose_role:
                messages.append({"role": loose_role, "parts": loose})
                loose = []
            loose_role = role
            loose.append(part)
    if loose:
        messages.append({"role": loose_role, "parts": loose})
    return messages


def _system_instructions(value: Any) -> list[dict[str, Any]] | None:
    """``config.system_instruction`` (a string, part, content or list of them) as text / generic parts."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        items: Any = value
    elif _is_content(value):
        items = _get(value, "parts") or ()
    else:
        items = [value]
    out = []
    for item in items:
        part = _part(item)
        if part["type"] != "text":
            part = {"type": "generic", "generic_type": part.get("generic_type") or part["type"]}
        out.append(part)
    return out or None


def _tool_definitions(tools: Any) -> list[dict[str, Any]] | None:
    """``config.tools``: function declarations (and the Python functions AFC calls) by name; built-in tools
    (google_search, code_execution, ...) by their kind. Type and name only."""
    if not isinstance(tools, (list, tuple)):
        return None
    out: list[dict[str, Any]] = []
    for tool in tools:
        fields = _model_fields(tool)
        if fields is None:
            if callable(tool):
                out.append({"type": "function", "name": getattr(tool, "__name__", None)})
            else:  # an MCP session or another object the SDK turns into tools
                out.append({"type": _snake(type(tool).__name__)})
            continue
        for key, value in fields.items():
            if value is None:
                continue
            kind = _snake(key)
            if kind == "function_declarations":
                for decl in value or ():
                    out.append({"type": "function", "name": _get(decl, "name")})
            else:
                out.append({"type": kind, "name": kind})
    return out or None


def _output_messages(candidates: Any) -> list[dict[str, Any]]:
    out = []
    for candidate in candidates or ():
        content = getattr(candidate, "content", None)
        parts = [_part(p) for p in getattr(content, "parts", None) or ()]
        out.append({"role": getattr(content, "role", None) or "model", "parts": parts})
    return out


def _capturing() -> bool:
    rt = _runtime._current or _runtime.get()
    return rt.capture


# --- filling a call from a response ---------------------------------------------------------------------------

class _Raw:
    """Attribute access onto a raw JSON response (camelCase keys), for ``should_return_http_response``."""

    __slots__ = ("_d",)

    def __init__(self, d: dict[str, Any]) -> None:
        self._d = d

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        head, *rest = name.split("_")
        value = self._d.get(head + "".join(w.title() for w in rest))
        if value is None:
            value = self._d.get(name)
        return _raw(value)


def _raw(value: Any) -> Any:
    if isinstance(value, dict):
        return _Raw(value)
    if isinstance(value, list):
        return [_raw(v) for v in value]
    return value


def _fill(call: LLMCall, obj: Any) -> None:
    """A GenerateContentResponse into the call."""
    candidates = getattr(obj, "candidates", None)
    usage = getattr(obj, "usage_metadata", None)
    if not candidates and usage is None:  # config should_return_http_response: only the raw body is there
        body = getattr(getattr(obj, "sdk_http_response", None), "body", None)
        if isinstance(body, str) and body:
            data = json.loads(body)
            if isinstance(data, dict):
                obj = _Raw(data)
                candidates = obj.candidates
                usage = obj.usage_metadata
    response_id = getattr(obj, "response_id", None)
    call.response_id = response_id if isinstance(response_id, str) else None
    model = getattr(obj, "model_version", None)
    call.response_model = model if isinstance(model, str) else None
    if candidates:
        call.finish_reasons = [_finish_reason(getattr(c, "finish_reason", None), _calls_a_function(c))
                               for c in candidates]
    else:
        call.finish_reasons = _blocked(getattr(obj, "prompt_feedback", None))
    call.usage = _usage(usage)
    if _capturing():
        call.output_messages = _output_messages(candidates)


def _fill_embeddings(call: LLMCall, obj: Any) -> None:
    """An EmbedContentResponse: tokens from ``usage_metadata`` or, on Vertex, each embedding's statistics."""
    tokens = _int(getattr(getattr(obj, "usage_metadata", None), "prompt_token_count", None))
    if tokens is None:
        total: float = 0
        counted = False
        for embedding in getattr(obj, "embeddings", None) or ():
            count = getattr(getattr(embedding, "statistics", None), "token_count", None)
            if isinstance(count, _NUMBER) and not isinstance(count, bool):
                total += count
                counted = True
        if counted and float(total).is_integer():
            tokens = int(total)
    if tokens is not None:
        call.usage = Usage(input_tokens=tokens)


# --- streams ------------------------------------------------------------------------------------------------

class GenAIStreamAccumulator(StreamAccumulator):
    """Per-request stream chunks (each a GenerateContentResponse): ids from the first, usage from the last that
    has it (running totals), finish reasons and function calls per candidate, and, when capturing, the parts
    of every candidate with consecutive text pieces joined."""

    __slots__ = ("capture", "feedback", "first", "parts", "reasons", "seen", "tools", "usage")

    def __init__(self, capture: bool) -> None:
        self.capture = capture
        self.first: Any = None
        self.usage: Any = None
        self.feedback: Any = None
        self.reasons: dict[int, Any] = {}
        self.tools: set[int] = set()
        self.seen = 0  # candidates seen: highest index + 1
        self.parts: dict[int, list[list[Any]]] = {}  # capture: index -> [[kind or None, pieces or part]]

    def add(self, chunk: Any) -> bool:
        if self.first is None:
            self.first = chunk
        usage = chunk.usage_metadata
        if usage is not None:
            self.usage = usage
        candidates = chunk.candidates
        if not candidates:
            feedback = chunk.prompt_feedback
            if feedback is not None:
                self.feedback = feedback
            return False
        content = False
        position = 0
        for candidate in candidates:
            index = candidate.index
            if index is None:  # the API leaves out a zero index
                index = position
            position += 1
            if index >= self.seen:
                self.seen = index + 1
            reason = candidate.finish_reason
            if reason is not None:
                self.reasons[index] = reason
            body = candidate.content
            if body is None:
                continue
            parts = body.parts
            if not parts:
                continue
            content = True
            for part in parts:
                if part.function_call is not None:
                    self.tools.add(index)
            if self.capture:
                self._collect(index, parts)
        return content

    def _collect(self, index: int, parts: Any) -> None:
        gathered = self.parts.get(index)
        if gathered is None:
            gathered = self.parts[index] = []
        for part in parts:
            text = part.text
            if isinstance(text, str):
                kind = "reasoning" if part.thought else "text"
                if gathered and gathered[-1][0] == kind:
                    gathered[-1][1].append(text)
                else:
                    gathered.append([kind, [text]])
            else:
                gathered.append([None, _part(part)])

    def finish(self, call: LLMCall) -> None:
        first = self.first
        if first is not None:
            response_id = first.response_id
            call.response_id = response_id if isinstance(response_id, str) else None
            model = first.model_version
            call.response_model = model if isinstance(model, str) else None
        if self.seen:  # one per candidate, in order; a candidate the stream never finished is "error"
            count = max(self.seen, call.params.get(sc.GEN_AI_REQUEST_CHOICE_COUNT) or 1)
            reasons = self.reasons
            call.finish_reasons = [_finish_reason(reasons.get(i), i in self.tools) for i in range(count)]
        else:
            call.finish_reasons = _blocked(self.feedback)
        call.usage = _usage(self.usage)
        if self.capture:
            messages = []
            for i in range(self.seen):
                parts = []
                for kind, payload in self.parts.get(i, ()):
                    parts.append(payload if kind is None else {"type": kind, "content": "".join(payload)})
                messages.append({"role": "model", "parts": parts})
            call.output_messages = messages


def _on_stream(call: LLMCall, result: Any) -> Any:
    if not (hasattr(result, "__next__") or hasattr(result, "__anext__")):
        return result  # not a stream we know: the recorder ends the call now
    # The sync per-request stream is a generator that sends its HTTP request on the first next().
    return wrap_stream(result, call, GenAIStreamAccumulator(_capturing()), lazy_request=True)


def _on_response(call: LLMCall, result: Any) -> Any:
    _fill(call, result)
    return result


def _on_embeddings(call: LLMCall, result: Any) -> Any:
    _fill_embeddings(call, result)
    return result


# --- building the call ----------------------------------------------------------------------------------------

def _call(resource: Any, kwargs: dict[str, Any], operation: str, stream: bool) -> LLMCall:
    provider, address, port = client_info(resource)
    config = kwargs.get("config")
    if config is not None:
        base_url = _request_base_url(config)
        if base_url:
            address, port = _host_port(base_url)
    model = kwargs.get("model")
    if operation == sc.OP_EMBEDDINGS:
        params = _embed_params(config) if config is not None else {}
    else:
        params = _generate_params(config) if config is not None else {}
    call = LLMCall(
        operation, provider, model if type(model) is str else None, server_address=address, server_port=port,
        stream=stream, params=params, integration=INTEGRATION,
    )
    if operation != sc.OP_EMBEDDINGS:
        rt = _runtime._current or _runtime.get()
        if rt.capture:
            try:
                _capture_request(call, kwargs.get("contents"), config)
            except Exception as exc:
                report("google_genai.capture", exc)
    return call


def _capture_request(call: LLMCall, contents: Any, config: Any) -> None:
    call.input_messages = _input_messages(contents)
    fields = _fields(config) if config is not None else None
    if fields:
        call.system_instructions = _system_instructions(fields.get("system_instruction"))
        call.tool_definitions = _tool_definitions(fields.get("tools"))


def _wrappers(operation: str, stream: bool, on_result: Any) -> tuple[Any, Any]:
    return method_wrappers(INTEGRATION, functools.partial(_call, operation=operation, stream=stream), on_result)


# --- the integration ------------------------------------------------------------------------------------------

#: (per-request method, public method used when an SDK version lacks the first, streaming)
_GENERATE_METHODS = (
    ("_generate_content", "generate_content", False),
    ("_generate_content_stream", "generate_content_stream", True),
)


class GoogleGenAIIntegration(Integration):
    name = "google_genai"
    library = "google.genai"

    def patch(self, module: Any) -> None:
        models = importlib.import_module(f"{module.__name__}.models")
        self.patch_models(models)

    def patch_models(self, models: Any) -> None:
        """Patch ``Models`` / ``AsyncModels`` of a ``google.genai.models`` module."""
        emb_sync, emb_async = _wrappers(sc.OP_EMBEDDINGS, False, _on_embeddings)
        for cls_name, is_async in (("Models", False), ("AsyncModels", True)):
            cls = getattr(models, cls_name, None)
            if cls is None:
                continue
            for private, public, stream in _GENERATE_METHODS:
                sync, async_ = _wrappers(sc.OP_GENERATE_CONTENT, stream, _on_stream if stream else _on_response)
                method = private if hasattr(cls, private) else public
                self.patcher.wrap(models, f"{cls_name}.{method}", async_ if is_async else sync)
            self.patcher.wrap(models, f"{cls_name}.embed_content", emb_async if is_async else emb_sync)
