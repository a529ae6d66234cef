"""The ``openai`` integration: Chat Completions, Responses, legacy Completions and Embeddings, sync and async,
for OpenAI and every server that speaks its API (Azure, xAI, Ollama, Groq, DeepSeek, vLLM, ...).

What is patched (on the resource classes, so every client, existing or future, is covered):

- ``chat.completions.create`` / ``parse`` / ``stream()``; ``responses.create`` / ``parse`` / ``stream()``;
  ``completions.create``; ``embeddings.create``; the ``Async*`` twins. The ``stream()`` helpers and the
  ``with_raw_response`` / ``with_streaming_response`` wrappers call the patched methods, so they are covered
  too; the user still gets the SDK's own objects (wrapped transparently where the span has to outlive the
  call: streams, raw responses whose body is read later, stream managers).
- The provider (``gen_ai.provider.name``) is read from the client: its class (``AzureOpenAI``), the SDK's
  provider runtime (Bedrock, Vertex) or the host of its base URL (:data:`PROVIDER_HOSTS`), once per client and
  base URL. A host we do not know is ``openai_compatible``; a local server on Ollama's or LM Studio's port
  is ``ollama`` / ``lm_studio``. ``server.address`` and ``server.port`` are always set.

Usage is what the API reported, mapped to the conventions: cached prompt tokens are ``cache_read`` (a subset
of input), reasoning tokens a subset of output. Servers that count reasoning tokens outside
``completion_tokens`` (their ``total_tokens`` = prompt + completion + reasoning, as xAI does) get them added
to output. A stream carries usage only when the request asked for it (``stream_options={"include_usage":
True}``) or, for the Responses API, in ``response.completed``; llmobs never changes the request to ask for it
(the extra chunk has no choices and breaks code that reads ``chunk.choices[0]``), and never estimates.
"""

from __future__ import annotations

import contextvars
import functools
import ipaddress
import json
from typing import Any

import wrapt

from .. import _runtime
from .. import semconv as sc
from .._content import blob_descriptor, url_part
from .._model import LLMCall, Usage
from .._safety import report
from .._streams import StreamAccumulator, ToolCallAssembler, end_stream
from . import Integration
from ._finish import OPENAI as _FINISH
from ._stainless import RawResponses, capturing, optional_import
from ._wrappers import ClientInfoCache, method_wrappers

INTEGRATION = "openai"

# --- provider detection --------------------------------------------------------------------------------------

#: Host (or ``host:port``) -> ``gen_ai.provider.name``. Add your own gateway before creating clients, e.g.
#: ``PROVIDER_HOSTS["llm-gateway.internal"] = "openai"`` for a proxy in front of OpenAI.
PROVIDER_HOSTS: dict[str, str] = {
    "api.openai.com": "openai",
    "api.x.ai": "x_ai",
    "api.groq.com": "groq",
    "api.deepseek.com": "deepseek",
    "api.mistral.ai": "mistral_ai",
    "api.perplexity.ai": "perplexity",
    "openrouter.ai": "openrouter",
    "api.together.xyz": "together",
    "api.together.ai": "together",
    "generativelanguage.googleapis.com": "gcp.gemini",
    "api.fireworks.ai": "fireworks",
    "api.cerebras.ai": "cerebras",
    "api.moonshot.ai": "moonshot_ai",
    "api.moonshot.cn": "moonshot_ai",
    "ollama.com": "ollama",
}
# Host suffixes, checked in order when the host is not in PROVIDER_HOSTS.
_HOST_SUFFIXES: tuple[tuple[str, str], ...] = (
    (".openai.azure.com", "azure.ai.openai"),
    (".cognitiveservices.azure.com", "azure.ai.openai"),
    (".services.ai.azure.com", "azure.ai.inference"),
    (".models.ai.azure.com", "azure.ai.inference"),
    ("aiplatform.googleapis.com", "gcp.vertex_ai"),
    (".amazonaws.com", "aws.bedrock"),  # only hosts with "bedrock" in them, see _provider_for
)
# Local servers on their well-known default ports.
_LOCAL_PORTS = {11434: "ollama", 1234: "lm_studio"}
_SDK_PROVIDERS = {"bedrock": "aws.bedrock", "vertex": "gcp.vertex_ai", "azure": "azure.ai.openai"}
PROVIDER_UNKNOWN = "openai_compatible"
_AZURE_CLASSES = frozenset({"AzureOpenAI", "AsyncAzureOpenAI"})
# Providers that get the ``openai.*`` attributes (the provider name discriminates provider attributes).
_OPENAI_FAMILY = frozenset({"openai", "azure.ai.openai"})


def _is_local(host: str) -> bool:
    if host in ("localhost", "host.docker.internal") or host.endswith((".local", ".localhost", ".internal")):
        return True
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private or ip.is_unspecified or ip.is_link_local


def _provider_for(client: Any, host: str, port: int | None) -> str:
    if type(client).__name__ in _AZURE_CLASSES:
        return "azure.ai.openai"
    runtime = getattr(client, "_provider_runtime", None)  # openai 3.x: OpenAI(provider=bedrock(...))
    name = getattr(runtime, "name", None)
    if isinstance(name, str) and name.lower() in _SDK_PROVIDERS:
        return _SDK_PROVIDERS[name.lower()]
    if port is not None and f"{host}:{port}" in PROVIDER_HOSTS:
        return PROVIDER_HOSTS[f"{host}:{port}"]
    known = PROVIDER_HOSTS.get(host)
    if known is not None:
        return known
    for suffix, provider in _HOST_SUFFIXES:
        if host.endswith(suffix) and (provider != "aws.bedrock" or "bedrock" in host):
            return provider
    if port in _LOCAL_PORTS and _is_local(host):
        return _LOCAL_PORTS[port]
    return PROVIDER_UNKNOWN


def _detect(client: Any, url: Any) -> tuple[str, str | None, int | None]:
    host = (getattr(url, "host", None) or "").lower() or None
    port = getattr(url, "port", None)
    if port is None and host:
        port = 443 if getattr(url, "scheme", "https") == "https" else 80
    provider = _provider_for(client, host or "", port)
    return provider, host, port


_clients = ClientInfoCache(_detect)


def client_info(resource: Any) -> tuple[str, str | None, int | None]:
    """(provider, server.address, server.port) of the client behind an SDK resource, cached per base URL."""
    client = getattr(resource, "_client", None)
    if client is None:
        return "openai", None, None
    return _clients.get(client, getattr(client, "_base_url", None))


# --- request parameters -------------------------------------------------------------------------------------

_FLOAT = 0
_INT = 1
_STR = 2
# kwarg -> (attribute, kind). Kinds check the exact type: the SDK's ``omit`` / ``NOT_GIVEN`` sentinels (which
# the stream() helpers pass for every unset argument) and None never match.
_COMMON_PARAMS: dict[str, tuple[str, int]] = {
    "temperature": (sc.GEN_AI_REQUEST_TEMPERATURE, _FLOAT),
    "top_p": (sc.GEN_AI_REQUEST_TOP_P, _FLOAT),
    "frequency_penalty": (sc.GEN_AI_REQUEST_FREQUENCY_PENALTY, _FLOAT),
    "presence_penalty": (sc.GEN_AI_REQUEST_PRESENCE_PENALTY, _FLOAT),
    "seed": (sc.GEN_AI_REQUEST_SEED, _INT),
    "max_tokens": (sc.GEN_AI_REQUEST_MAX_TOKENS, _INT),
    "max_completion_tokens": (sc.GEN_AI_REQUEST_MAX_TOKENS, _INT),
    "max_output_tokens": (sc.GEN_AI_REQUEST_MAX_TOKENS, _INT),
    "reasoning_effort": (sc.GEN_AI_REQUEST_REASONING_LEVEL, _STR),
    "previous_response_id": (sc.GEN_AI_REQUEST_PREVIOUS_RESPONSE_ID, _STR),
}
_NUMBER = (int, float)


def _output_type(fmt: Any) -> str | None:
    if isinstance(fmt, dict):
        kind = fmt.get("type")
    elif isinstance(fmt, type):  # parse(response_format=PydanticModel)
        return "json"
    else:
        kind = getattr(fmt, "type", None)
    if kind in ("json_object", "json_schema"):
        return "json"
    if kind == "text":
        return "text"
    return None


def _params(kwargs: dict[str, Any], provider: str) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in kwargs.items():
        spec = _COMMON_PARAMS.get(key)
        if spec is not None:
            attr, kind = spec
            vtype = type(value)
            if kind == _FLOAT:
                if vtype in _NUMBER and vtype is not bool:
                    params[attr] = float(value)
            elif kind == _INT:
                if vtype is int:
                    if key == "max_tokens" and attr in params:
                        continue  # max_completion_tokens wins over the deprecated max_tokens
                    params[attr] = value
            elif vtype is str:
                params[attr] = value
        elif key == "n":
            if type(value) is int and value != 1:
                params[sc.GEN_AI_REQUEST_CHOICE_COUNT] = value
        elif key == "stop":
            if type(value) is str:
                params[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = (value,)
            elif isinstance(value, (list, tuple)) and value and all(type(v) is str for v in value):
                params[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = tuple(value)
        elif key == "response_format":
            out = _output_type(value)
            if out:
                params[sc.GEN_AI_OUTPUT_TYPE] = out
        elif key == "text":  # Responses: text={"format": {...}}
            if isinstance(value, dict):
                out = _output_type(value.get("format"))
                if out:
                    params[sc.GEN_AI_OUTPUT_TYPE] = out
        elif key == "text_format":  # responses.parse(text_format=Model)
            if isinstance(value, type):
                params[sc.GEN_AI_OUTPUT_TYPE] = "json"
        elif key == "reasoning":  # Responses: reasoning={"effort": "low"}
            if isinstance(value, dict) and type(value.get("effort")) is str:
                params[sc.GEN_AI_REQUEST_REASONING_LEVEL] = value["effort"]
        elif key == "service_tier":
            if type(value) is str and value != "auto" and provider in _OPENAI_FAMILY:
                params[sc.OPENAI_REQUEST_SERVICE_TIER] = value
        elif key == "dimensions":
            if type(value) is int:
                params[sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = value
        elif key == "encoding_format" and type(value) is str:
            params[sc.GEN_AI_REQUEST_ENCODING_FORMATS] = (value,)
    return params


def _conversation_id(kwargs: dict[str, Any]) -> str | None:
    conv = kwargs.get("conversation")
    if type(conv) is str:
        return conv
    if isinstance(conv, dict) and type(conv.get("id")) is str:
        return conv["id"]
    return None


# --- usage and finish reasons ---------------------------------------------------------------------------------

def _int(value: Any) -> int | None:
    return value if type(value) is int else None


def _chat_usage(u: Any) -> Usage | None:
    """Chat Completions / legacy Completions usage (``prompt_tokens`` family), provider variants included."""
    if u is None:
        return None
    if isinstance(u, dict):  # a provider extension we read raw (Groq's x_groq.usage)
        from types import SimpleNamespace

        u = SimpleNamespace(**{k: (SimpleNamespace(**v) if isinstance(v, dict) else v) for k, v in u.items()})
    prompt = _int(getattr(u, "prompt_tokens", None))
    completion = _int(getattr(u, "completion_tokens", None))
    usage = Usage(prompt, completion)
    details = getattr(u, "prompt_tokens_details", None)
    if details is not None:
        usage.cache_read_input_tokens = _int(getattr(details, "cached_tokens", None))
        usage.cache_write_input_tokens = _int(getattr(details, "cache_write_tokens", None))
    if usage.cache_read_input_tokens is None:  # DeepSeek reports cache hits apart
        extra = getattr(u, "__pydantic_extra__", None) or getattr(u, "__dict__", {})
        hit = extra.get("prompt_cache_hit_tokens")
        if type(hit) is int:
            usage.cache_read_input_tokens = hit
    out_details = getattr(u, "completion_tokens_details", None)
    if out_details is not None:
        reasoning = _int(getattr(out_details, "reasoning_tokens", None))
        usage.reasoning_output_tokens = reasoning
        # Servers that count reasoning outside completion_tokens (xAI): total = prompt + completion + reasoning.
        total = _int(getattr(u, "total_tokens", None))
        if (reasoning and completion is not None and prompt is not None and total is not None
                and total == prompt + completion + reasoning):
            usage.output_tokens = completion + reasoning
    if usage.is_empty():
        return None
    return usage


def _number(value: Any) -> float | None:
    return float(value) if type(value) in _NUMBER and value >= 0 else None


def reported_cost(u: Any) -> tuple[float, float | None, float | None] | None:
    """The cost the server put in ``usage`` (USD), if any: OpenRouter's ``cost`` number, Perplexity's
    ``cost`` object (``total_cost``, ``input_tokens_cost``, ``output_tokens_cost``)."""
    if u is None:
        return None
    extra = getattr(u, "__pydantic_extra__", None)
    if extra is None:
        extra = u if isinstance(u, dict) else getattr(u, "__dict__", None) or {}
    cost = extra.get("cost")
    if cost is None:
        return None
    total = _number(cost)
    if total is not None:
        return total, None, None
    if isinstance(cost, dict):
        total = _number(cost.get("total_cost"))
        if total is not None:
            return total, _number(cost.get("input_tokens_cost")), _number(cost.get("output_tokens_cost"))
    return None


def _responses_usage(u: Any) -> Usage | None:
    if u is None:
        return None
    usage = Usage(_int(getattr(u, "input_tokens", None)), _int(getattr(u, "output_tokens", None)))
    details = getattr(u, "input_tokens_details", None)
    if details is not None:
        usage.cache_read_input_tokens = _int(getattr(details, "cached_tokens", None))
        usage.cache_write_input_tokens = _int(getattr(details, "cache_write_tokens", None))
    out_details = getattr(u, "output_tokens_details", None)
    if out_details is not None:
        usage.reasoning_output_tokens = _int(getattr(out_details, "reasoning_tokens", None))
    return None if usage.is_empty() else usage


def _finish_reason(reason: Any) -> str:
    if not reason:
        return sc.FINISH_ERROR
    return _FINISH.get(reason, reason) if isinstance(reason, str) else str(reason)


# --- content (only built when capture is on) ------------------------------------------------------------------

def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return raw
    return raw


def _media_part(url: str, modality: str) -> dict[str, Any]:
    return url_part(url, modality)  # a data: URL becomes a descriptor (size, sha256), never its bytes


def _content_parts(content: Any) -> list[dict[str, Any]]:
    """Chat message content (a string or a list of content parts) as semconv parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts: list[dict[str, Any]] = []
    for item in content:
        kind = _get(item, "type")
        if kind in ("text", "input_text", "output_text"):
            parts.append({"type": "text", "content": _get(item, "text")})
        elif kind == "refusal":
            parts.append({"type": "text", "content": _get(item, "refusal")})
        elif kind == "image_url":
            url = _get(_get(item, "image_url"), "url")
            if isinstance(url, str):
                parts.append(_media_part(url, "image"))
        elif kind == "input_image":
            url = _get(item, "image_url")
            if isinstance(url, str):
                parts.append(_media_part(url, "image"))
            elif _get(item, "file_id"):
                parts.append({"type": "file", "modality": "image", "file_id": _get(item, "file_id")})
        elif kind == "input_audio":
            audio = _get(item, "input_audio")
            fmt = _get(audio, "format")
            parts.append(blob_descriptor("audio", f"audio/{fmt}" if fmt else None, _get(audio, "data")))
        elif kind in ("file", "input_file"):
            file = _get(item, "file") or item
            file_id = _get(file, "file_id")
            if file_id:
                parts.append({"type": "file", "modality": "document", "file_id": file_id})
            else:
                parts.append({"type": "generic", "generic_type": kind})
        else:
            parts.append({"type": "generic", "generic_type": kind})
    return parts


def _tool_call_part(tc: Any) -> dict[str, Any]:
    fn = _get(tc, "function") or tc
    part: dict[str, Any] = {"type": "tool_call", "name": _get(fn, "name"), "arguments": _arguments(_get(fn, "arguments"))}
    call_id = _get(tc, "id") or _get(tc, "call_id")
    if call_id:
        part["id"] = call_id
    return part


def _chat_input(messages: Any) -> list[dict[str, Any]] | None:
    if not isinstance(messages, (list, tuple)):  # a generator would be consumed before the SDK sees it
        return None
    out = []
    for message in messages:
        role = _get(message, "role")
        if role == "tool":
            parts: list[dict[str, Any]] = [{
                "type": "tool_call_response", "id": _get(message, "tool_call_id"),
                "response": _get(message, "content"),
            }]
        else:
            parts = _content_parts(_get(message, "content"))
            for tc in _get(message, "tool_calls") or ():
                parts.append(_tool_call_part(tc))
            fc = _get(message, "function_call")
            if fc:
                parts.append(_tool_call_part(fc))
        entry: dict[str, Any] = {"role": role, "parts": parts}
        name = _get(message, "name")
        if name:
            entry["name"] = name
        out.append(entry)
    return out


def _tool_definitions(tools: Any) -> list[dict[str, Any]] | None:
    if not isinstance(tools, (list, tuple)):
        return None
    out = []
    for tool in tools:
        kind = _get(tool, "type") or "function"
        fn = _get(tool, "function")
        name = _get(fn, "name") if fn is not None else _get(tool, "name")
        entry = {"type": kind}
        if name:
            entry["name"] = name
        out.append(entry)
    return out or None


def _chat_output(choices: Any) -> list[dict[str, Any]]:
    out = []
    for choice in choices or ():
        message = _get(choice, "message")
        parts: list[dict[str, Any]] = []
        if message is not None:
            reasoning = _reasoning_text(message)
            if reasoning:
                parts.append({"type": "reasoning", "content": reasoning})
            content = _get(message, "content")
            if content:
                parts.append({"type": "text", "content": content})
            refusal = _get(message, "refusal")
            if refusal:
                parts.append({"type": "text", "content": refusal})
            for tc in _get(message, "tool_calls") or ():
                parts.append(_tool_call_part(tc))
            fc = _get(message, "function_call")
            if fc:
                parts.append(_tool_call_part(fc))
        else:  # legacy completions
            text = _get(choice, "text")
            if text is not None:
                parts.append({"type": "text", "content": text})
        out.append({"role": _get(message, "role") or "assistant", "parts": parts})
    return out


def _reasoning_text(obj: Any) -> str | None:
    """Reasoning text some OpenAI-compatible servers return beside the content (DeepSeek, vLLM, Ollama)."""
    extra = getattr(obj, "__pydantic_extra__", None)
    if not extra:
        return None
    for key in ("reasoning_content", "reasoning"):
        value = extra.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _responses_input(value: Any) -> list[dict[str, Any]] | None:
    if isinstance(value, str):
        return [{"role": "user", "parts": [{"type": "text", "content": value}]}]
    if not isinstance(value, (list, tuple)):  # never consume an iterator the SDK has yet to read
        return None
    out: list[dict[str, Any]] = []
    for item in value:
        kind = _get(item, "type")
        role = _get(item, "role")
        if role is not None and kind in (None, "message"):
            out.append({"role": role, "parts": _content_parts(_get(item, "content"))})
        elif kind == "function_call":
            out.append({"role": "assistant", "parts": [_tool_call_part(item)]})
        elif kind == "function_call_output":
            out.append({"role": "tool", "parts": [{
                "type": "tool_call_response", "id": _get(item, "call_id"), "response": _get(item, "output"),
            }]})
        elif kind == "reasoning":
            text = _summary_text(item)
            out.append({"role": "assistant", "parts": [{"type": "reasoning", "content": text}]})
        else:
            out.append({"role": "user", "parts": [{"type": "generic", "generic_type": kind}]})
    return out


def _summary_text(item: Any) -> str:
    return "".join(_get(s, "text") or "" for s in (_get(item, "summary") or ()))


def _responses_output(output: Any) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for item in output or ():
        kind = _get(item, "type")
        if kind == "message":
            parts.extend(_content_parts(_get(item, "content")))
        elif kind == "reasoning":
            parts.append({"type": "reasoning", "content": _summary_text(item)})
        elif kind == "function_call":
            parts.append(_tool_call_part(item))
        elif isinstance(kind, str) and kind.endswith("_call"):
            part = {"type": "server_tool_call", "name": kind[:-5], "server_tool_call": {"type": kind}}
            if _get(item, "id"):
                part["id"] = _get(item, "id")
            parts.append(part)
        else:
            parts.append({"type": "generic", "generic_type": kind})
    return [{"role": "assistant", "parts": parts}]


# --- filling a call from a response ---------------------------------------------------------------------------

def _openai_extras(call: LLMCall, obj: Any) -> None:
    if call.provider not in _OPENAI_FAMILY:
        return
    extra = call.extra_attributes
    if extra is None:
        extra = call.extra_attributes = {}
    tier = getattr(obj, "service_tier", None)
    if type(tier) is str:
        extra[sc.OPENAI_RESPONSE_SERVICE_TIER] = tier
    fingerprint = getattr(obj, "system_fingerprint", None)
    if type(fingerprint) is str:
        extra[sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] = fingerprint


def _fill_chat(call: LLMCall, obj: Any) -> None:
    """A ChatCompletion (or legacy Completion) into the call."""
    call.response_id = getattr(obj, "id", None)
    call.response_model = getattr(obj, "model", None)
    choices = getattr(obj, "choices", None) or ()
    if choices:
        call.finish_reasons = [_finish_reason(getattr(c, "finish_reason", None)) for c in choices]
    usage = getattr(obj, "usage", None)
    call.usage = _chat_usage(usage)
    call.reported_cost = reported_cost(usage)
    _openai_extras(call, obj)
    if capturing():
        call.output_messages = _chat_output(choices)


def _responses_finish(response: Any) -> list[str] | None:
    status = getattr(response, "status", None)
    if status == "completed":
        for item in getattr(response, "output", None) or ():
            if getattr(item, "type", None) == "function_call":
                return [sc.FINISH_TOOL_CALL]
        return [sc.FINISH_STOP]
    if status == "incomplete":
        reason = getattr(getattr(response, "incomplete_details", None), "reason", None)
        if reason == "max_output_tokens":
            return [sc.FINISH_LENGTH]
        if reason == "content_filter":
            return [sc.FINISH_CONTENT_FILTER]
        return [reason] if isinstance(reason, str) else [sc.FINISH_ERROR]
    if status in ("failed", "cancelled"):
        return [sc.FINISH_ERROR]
    return None  # queued / in_progress (background mode): no outcome yet


def _fill_response(call: LLMCall, obj: Any) -> None:
    """A Responses API ``Response`` into the call."""
    call.response_id = getattr(obj, "id", None)
    call.response_model = getattr(obj, "model", None)
    call.finish_reasons = _responses_finish(obj)
    call.usage = _responses_usage(getattr(obj, "usage", None))
    if call.conversation_id is None:
        conv = getattr(obj, "conversation", None)
        conv_id = getattr(conv, "id", None)
        if type(conv_id) is str:
            call.conversation_id = conv_id
    _openai_extras(call, obj)
    if capturing():
        call.output_messages = _responses_output(getattr(obj, "output", None))


def _fill_embeddings(call: LLMCall, obj: Any) -> None:
    call.response_model = getattr(obj, "model", None)
    u = getattr(obj, "usage", None)
    if u is not None:
        tokens = _int(getattr(u, "prompt_tokens", None))
        if tokens is not None:
            call.usage = Usage(input_tokens=tokens)


# --- stream accumulators --------------------------------------------------------------------------------------

class ChatAccumulator(StreamAccumulator):
    """Chat Completions (and legacy Completions) chunks: ids, finish reasons per choice, the usage chunk, and,
    when capturing, the text and reassembled tool calls of every choice."""

    __slots__ = ("capture", "chunk", "reasoning", "reasons", "skip_content", "texts", "tools", "usage")

    def __init__(self, capture: bool) -> None:
        self.capture = capture
        # Once the first content has arrived (time to first chunk is known) and nothing is captured, only
        # finish reasons and usage matter: the per-chunk work shrinks to two attribute reads.
        self.skip_content = False
        self.chunk: Any = None  # the first chunk: id, model, fingerprint
        self.usage: Any = None
        self.reasons: dict[int, Any] = {}
        self.texts: dict[int, list[str]] = {}
        self.reasoning: dict[int, list[str]] = {}
        self.tools: dict[int, ToolCallAssembler] = {}

    def add(self, chunk: Any) -> bool:
        if self.chunk is None:
            self.chunk = chunk
        usage = chunk.usage
        if usage is not None:
            self.usage = usage
        content = False
        skip = self.skip_content
        for choice in chunk.choices:
            reason = choice.finish_reason
            if reason is not None:
                self.reasons[choice.index] = reason
                if self.usage is None:  # Groq (older API versions) puts usage in x_groq on the last chunk
                    x_groq = (getattr(chunk, "__pydantic_extra__", None) or {}).get("x_groq")
                    if isinstance(x_groq, dict) and isinstance(x_groq.get("usage"), dict):
                        self.usage = x_groq["usage"]
            if skip:
                continue
            delta = choice.delta
            text = delta.content
            if text:
                content = True
                if self.capture:
                    self.texts.setdefault(choice.index, []).append(text)
            tool_calls = delta.tool_calls
            if tool_calls:
                content = True
                if self.capture:
                    assembler = self.tools.get(choice.index)
                    if assembler is None:
                        assembler = self.tools[choice.index] = ToolCallAssembler()
                    for tc in tool_calls:
                        fn = tc.function
                        assembler.add(tc.index, tc.id, fn.name if fn else None, fn.arguments if fn else None)
            elif not text:
                if delta.refusal or getattr(delta, "function_call", None):
                    content = True
                else:
                    reasoning = _reasoning_text(delta)
                    if reasoning:
                        content = True
                        if self.capture:
                            self.reasoning.setdefault(choice.index, []).append(reasoning)
        if content and not self.capture:
            self.skip_content = True
        return content

    def finish(self, call: LLMCall) -> None:
        first = self.chunk
        if first is not None:
            call.response_id = first.id
            call.response_model = first.model
            _openai_extras(call, first)
        if self.reasons:  # one per choice, in order; a choice the stream never finished is "error"
            count = max(max(self.reasons) + 1, call.params.get(sc.GEN_AI_REQUEST_CHOICE_COUNT) or 1)
            call.finish_reasons = [_finish_reason(self.reasons.get(i)) for i in range(count)]
        call.usage = _chat_usage(self.usage)
        call.reported_cost = reported_cost(self.usage)
        if self.capture:
            indices = sorted(set(self.texts) | set(self.tools) | set(self.reasoning) | set(self.reasons))
            messages = []
            for i in indices:
                parts: list[dict[str, Any]] = []
                if i in self.reasoning:
                    parts.append({"type": "reasoning", "content": "".join(self.reasoning[i])})
                if i in self.texts:
                    parts.append({"type": "text", "content": "".join(self.texts[i])})
                if i in self.tools:
                    parts.extend(self.tools[i].parts())
                messages.append({"role": "assistant", "parts": parts})
            call.output_messages = messages


class CompletionAccumulator(ChatAccumulator):
    """Legacy Completions chunks: the text is on the choice itself."""

    __slots__ = ()

    def add(self, chunk: Any) -> bool:
        if self.chunk is None:
            self.chunk = chunk
        usage = chunk.usage
        if usage is not None:
            self.usage = usage
        content = False
        for choice in chunk.choices:
            reason = choice.finish_reason
            if reason is not None:
                self.reasons[choice.index] = reason
            text = choice.text
            if text:
                content = True
                if self.capture:
                    self.texts.setdefault(choice.index, []).append(text)
        return content


class ResponsesAccumulator(StreamAccumulator):
    """Responses API events: the final response (``response.completed`` / ``incomplete`` / ``failed``) carries
    everything; until then, the created response and, when capturing, the text deltas."""

    __slots__ = ("capture", "created", "final", "texts")

    _TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})

    def __init__(self, capture: bool) -> None:
        self.capture = capture
        self.created: Any = None
        self.final: Any = None
        self.texts: list[str] = []

    def add(self, event: Any) -> bool:
        kind = event.type
        if kind.endswith(".delta"):
            if self.capture and kind == "response.output_text.delta":
                self.texts.append(event.delta)
            return True
        if kind in self._TERMINAL:
            self.final = event.response
        elif kind == "response.created":
            self.created = event.response
        return False

    def finish(self, call: LLMCall) -> None:
        if self.final is not None:
            _fill_response(call, self.final)
            return
        created = self.created
        if created is not None:
            call.response_id = getattr(created, "id", None)
            call.response_model = getattr(created, "model", None)
        if self.capture and self.texts:
            call.output_messages = [{"role": "assistant", "parts": [{"type": "text", "content": "".join(self.texts)}]}]


# --- results: parsed, streamed or raw (see _stainless) ----------------------------------------------------

_raw = RawResponses()


def _add_to_manager(proxy: Any) -> None:
    managed = _manager_streams.get()
    if managed is not None:  # opened by a stream() helper manager: it ends the span on exit
        managed.append(proxy)


_on_chat = _raw.handler(_fill_chat, ChatAccumulator, _add_to_manager)
_on_completion = _raw.handler(_fill_chat, CompletionAccumulator, _add_to_manager)
_on_response = _raw.handler(_fill_response, ResponsesAccumulator, _add_to_manager)
_on_embeddings = _raw.handler(_fill_embeddings, lambda capture: StreamAccumulator(), _add_to_manager)


# --- building the call ----------------------------------------------------------------------------------------

def _call(resource: Any, kwargs: dict[str, Any], operation: str, api_type: str | None) -> LLMCall:
    provider, address, port = client_info(resource)
    model = kwargs.get("model")
    params = _params(kwargs, provider) if kwargs else {}
    if api_type is not None and provider in _OPENAI_FAMILY:
        params[sc.OPENAI_API_TYPE] = api_type
    call = LLMCall(
        operation, provider, model if type(model) is str else None, server_address=address, server_port=port,
        stream=kwargs.get("stream") is True, params=params, integration=INTEGRATION,
    )
    if api_type == "responses":
        call.conversation_id = _conversation_id(kwargs)
    rt = _runtime._current or _runtime.get()
    if rt.capture:
        try:
            _capture_request(call, kwargs, operation, api_type)
        except Exception as exc:
            report("openai.capture", exc)
    return call


def _capture_request(call: LLMCall, kwargs: dict[str, Any], operation: str, api_type: str | None) -> None:
    if api_type == "chat_completions":
        call.input_messages = _chat_input(kwargs.get("messages"))
        call.tool_definitions = _tool_definitions(kwargs.get("tools"))
    elif api_type == "responses":
        call.input_messages = _responses_input(kwargs.get("input"))
        instructions = kwargs.get("instructions")
        if type(instructions) is str:
            call.system_instructions = [{"type": "text", "content": instructions}]
        call.tool_definitions = _tool_definitions(kwargs.get("tools"))
    elif operation == sc.OP_TEXT_COMPLETION:
        prompt = kwargs.get("prompt")
        prompts = [prompt] if isinstance(prompt, str) else prompt if isinstance(prompt, list) else []
        call.input_messages = [
            {"role": "user", "parts": [{"type": "text", "content": p}]} for p in prompts if isinstance(p, str)
        ]


def _wrappers(operation: str, api_type: str | None, on_result: Any) -> tuple[Any, Any]:
    return method_wrappers(INTEGRATION, functools.partial(_call, operation=operation, api_type=api_type), on_result)


# --- stream() helper managers ---------------------------------------------------------------------------------

# While a stream() helper manager opens its request, the stream proxies created are collected here, so that
# leaving the manager's ``with`` block ends the span even if the user keeps the helper stream object (the
# helper closes the HTTP response directly, underneath our proxy).
_manager_streams: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar(
    "llmobs_openai_manager", default=None
)


def _end_streams(proxies: list[Any]) -> None:
    for proxy in proxies:
        end_stream(proxy)  # no-op for a stream that already ended


class StreamManagerProxy(wrapt.ObjectProxy):
    """``chat.completions.stream()`` / ``responses.stream()`` managers: unchanged, except that leaving the
    ``with`` block ends a span the helper stream left open (the helper closes the HTTP response directly)."""

    def __init__(self, wrapped: Any) -> None:
        super().__init__(wrapped)
        self._self_streams: list[Any] = []

    def __enter__(self) -> Any:
        token = _manager_streams.set(self._self_streams)
        try:
            return self.__wrapped__.__enter__()
        finally:
            _manager_streams.reset(token)

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            _end_streams(self._self_streams)

    async def __aenter__(self) -> Any:
        token = _manager_streams.set(self._self_streams)
        try:
            return await self.__wrapped__.__aenter__()
        finally:
            _manager_streams.reset(token)

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            _end_streams(self._self_streams)


def _stream_manager(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    manager = wrapped(*args, **kwargs)
    try:
        if hasattr(type(manager), "__enter__") or hasattr(type(manager), "__aenter__"):
            return StreamManagerProxy(manager)
    except Exception as exc:
        report("openai.stream_manager", exc)
    return manager


# --- the integration ------------------------------------------------------------------------------------------

class OpenAIIntegration(Integration):
    name = "openai"
    library = "openai"

    def competitor_hooks(self, module: Any) -> list[tuple[Any, str]]:
        # OpenInference's openai instrumentation wraps the clients' request method, below llmobs's wrappers.
        return [(cls, "request") for cls in (getattr(module, "OpenAI", None), getattr(module, "AsyncOpenAI", None))
                if isinstance(cls, type)]

    def patch(self, module: Any) -> None:
        _raw.find("openai")
        chat_sync, chat_async = _wrappers(sc.OP_CHAT, "chat_completions", _on_chat)
        resp_sync, resp_async = _wrappers(sc.OP_CHAT, "responses", _on_response)
        text_sync, text_async = _wrappers(sc.OP_TEXT_COMPLETION, None, _on_completion)
        emb_sync, emb_async = _wrappers(sc.OP_EMBEDDINGS, None, _on_embeddings)

        chat = optional_import("openai.resources.chat.completions.completions") or optional_import("openai.resources.chat.completions")
        if chat is not None:
            for cls, wrapper in (("Completions", chat_sync), ("AsyncCompletions", chat_async)):
                self.patcher.wrap(chat, f"{cls}.create", wrapper)
                self.patcher.wrap(chat, f"{cls}.parse", wrapper)
                self.patcher.wrap(chat, f"{cls}.stream", _stream_manager)
        responses = optional_import("openai.resources.responses.responses")
        if responses is not None:
            for cls, wrapper in (("Responses", resp_sync), ("AsyncResponses", resp_async)):
                self.patcher.wrap(responses, f"{cls}.create", wrapper)
                self.patcher.wrap(responses, f"{cls}.parse", wrapper)
                self.patcher.wrap(responses, f"{cls}.stream", _stream_manager)
        completions = optional_import("openai.resources.completions")
        if completions is not None:
            self.patcher.wrap(completions, "Completions.create", text_sync)
            self.patcher.wrap(completions, "AsyncCompletions.create", text_async)
        embeddings = optional_import("openai.resources.embeddings")
        if embeddings is not None:
            self.patcher.wrap(embeddings, "Embeddings.create", emb_sync)
            self.patcher.wrap(embeddings, "AsyncEmbeddings.create", emb_async)
