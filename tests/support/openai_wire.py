"""OpenAI wire formats served to the real ``openai`` SDK, offline.

Three layers, each usable on its own:

* **Payload builders** return plain dicts shaped like what the OpenAI HTTP API sends (field names, nesting,
  key order, id prefixes, ``null`` vs. absent fields):

  - :func:`chat_completion` / :func:`chat_chunks`: ``POST /v1/chat/completions`` (``chat.completion`` and
    the ``chat.completion.chunk`` objects of a streamed request).
  - :func:`response_object` / :func:`response_events`: ``POST /v1/responses`` (a ``response`` object and
    the typed SSE events of a streamed request).
  - :func:`completion` / :func:`completion_chunks`: the legacy ``POST /v1/completions``
    (``text_completion`` objects).
  - :func:`embedding_response`: ``POST /v1/embeddings`` (``list`` of ``embedding`` objects, float or
    base64 encoded).
  - :func:`error_body`: the ``{"error": {...}}`` body of a 4xx/5xx answer.
  - usage blocks: :func:`completion_usage` (OpenAI chat/legacy), :func:`deepseek_usage`, :func:`xai_usage`
    (OpenAI-compatible providers' variants), :func:`response_usage` (Responses API).

* **SSE encoding**: :func:`sse_chat` / :func:`sse_chat_pieces` (``data: <json>`` events closed by
  ``data: [DONE]``, used by chat and legacy completions) and :func:`sse_responses` /
  :func:`sse_responses_pieces` (``event: <type>`` + ``data: <json>``, no ``[DONE]``).

* **A fake server**, :class:`MockOpenAI`, whose :meth:`MockOpenAI.handler` plugs into the HTTP library's
  ``MockTransport``; :func:`client` builds a real SDK client (sync or async, OpenAI or Azure) on top of it.

:data:`HTTP` is the HTTP library module the installed SDK is built on: ``httpx2`` for openai 3.x, ``httpx``
for openai 1.x/2.x. Everything here only uses the API the two share.

Generated ids ("chatcmpl-...", "resp_...", "call_...") come from a seeded generator: they look real, are
unique within a run and are the same from run to run for the same sequence of calls.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import re
import string
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import openai
import openai._base_client as _sdk_base_client

from llmobs.fake_llm import SNAPSHOTS
from tests.support.paced_body import paced_body

HTTP: Any = getattr(_sdk_base_client, "httpx2", None) or _sdk_base_client.httpx
"""The HTTP library module the installed openai SDK uses (``httpx2`` or ``httpx``)."""

__all__ = [
    "CREATED",
    "DEFAULT",
    "DEFAULT_BASE_URL",
    "DEFAULT_CHAT_MODEL",
    "DEFAULT_COMPLETION_MODEL",
    "DEFAULT_EMBEDDING_MODEL",
    "DEFAULT_FINGERPRINT",
    "HTTP",
    "SNAPSHOTS",
    "MockOpenAI",
    "RecordedRequest",
    "chat_chunks",
    "chat_completion",
    "client",
    "completion",
    "completion_chunks",
    "completion_usage",
    "deepseek_usage",
    "embedding_response",
    "embedding_vector",
    "encode_embedding_base64",
    "error_body",
    "function_call_item",
    "message_item",
    "new_id",
    "reasoning_item",
    "resolve_model",
    "response_events",
    "response_object",
    "response_usage",
    "split_text",
    "sse_chat",
    "sse_chat_pieces",
    "sse_responses",
    "sse_responses_pieces",
    "tool_call",
    "web_search_item",
    "xai_usage",
]

# ---------------------------------------------------------------------------------------------------------
# constants and small helpers
# ---------------------------------------------------------------------------------------------------------

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_AZURE_ENDPOINT = "https://example-resource.openai.azure.com"
DEFAULT_AZURE_API_VERSION = "2024-10-21"
DEFAULT_CHAT_MODEL = "gpt-4o-mini-2024-07-18"
DEFAULT_COMPLETION_MODEL = "gpt-3.5-turbo-instruct"
DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"
DEFAULT_FINGERPRINT = "fp_560af6e559"
DEFAULT_TEXT = "Hello!"
CREATED = 1_754_400_000
"""The default ``created`` / ``created_at`` timestamp (fixed, so payloads are deterministic)."""

# Model aliases the API answers with a dated snapshot name (the response ``model`` differs from the
# request's): llmobs.fake_llm.SNAPSHOTS, one table for both fakes. Used by MockOpenAI's default replies.


def resolve_model(model: str) -> str:
    """The model name the API reports for a requested ``model`` (alias -> dated snapshot)."""
    return SNAPSHOTS.get(model, model)


def _is_reasoning_model(model: str) -> bool:
    return model.startswith(("o1", "o3", "o4", "gpt-5")) and "chat" not in model


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Any = _Default()
"""Sentinel for "build the usual value" (e.g. ``usage=DEFAULT``), as opposed to ``None`` = "omit"."""

_rng = random.Random(20240718)
_ALNUM = string.ascii_letters + string.digits


def _alnum(n: int) -> str:
    return "".join(_rng.choice(_ALNUM) for _ in range(n))


def _hex(n: int) -> str:
    return "".join(_rng.choice("0123456789abcdef") for _ in range(n))


def _obfuscation() -> str:
    # The API pads stream events with a random-length random string (stream_options.include_obfuscation).
    return _alnum(_rng.randint(2, 14))


def new_id(kind: str) -> str:
    """A realistic id for ``kind``: chatcmpl, cmpl, call, req, or resp, msg, rs, fc, ws (hex-suffixed)."""
    if kind == "chatcmpl":
        return "chatcmpl-" + _alnum(29)
    if kind == "cmpl":
        return "cmpl-" + _alnum(29)
    if kind == "call":
        return "call_" + _alnum(24)
    if kind == "req":
        return "req_" + _hex(32)
    return f"{kind}_" + _hex(50)


def split_text(text: str, size: int = 4) -> list[str]:
    """Split ``text`` into stream deltas of at most ``size`` visible characters (leading whitespace stays
    with the following piece, as tokens do). ``"".join(split_text(t)) == t``."""
    if not text:
        return []
    return re.findall(rf"\s*\S{{1,{max(1, size)}}}|\s+", text)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _arguments(arguments: Any) -> str:
    return arguments if isinstance(arguments, str) else _dumps(arguments)


# ---------------------------------------------------------------------------------------------------------
# usage blocks
# ---------------------------------------------------------------------------------------------------------


def completion_usage(
    prompt_tokens: int = 12,
    completion_tokens: int = 8,
    *,
    cached_tokens: int = 0,
    reasoning_tokens: int = 0,
    prompt_audio_tokens: int = 0,
    completion_audio_tokens: int = 0,
    accepted_prediction_tokens: int = 0,
    rejected_prediction_tokens: int = 0,
    total_tokens: int | None = None,
    details: bool = True,
) -> dict[str, Any]:
    """OpenAI's ``usage`` of chat completions (``CompletionUsage``): ``reasoning_tokens`` are part of
    ``completion_tokens`` and ``cached_tokens`` part of ``prompt_tokens``; ``details=False`` gives the bare
    three counts (legacy completions, many compatible providers)."""
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens if total_tokens is None else total_tokens,
    }
    if details:
        usage["prompt_tokens_details"] = {"cached_tokens": cached_tokens, "audio_tokens": prompt_audio_tokens}
        usage["completion_tokens_details"] = {
            "reasoning_tokens": reasoning_tokens,
            "audio_tokens": completion_audio_tokens,
            "accepted_prediction_tokens": accepted_prediction_tokens,
            "rejected_prediction_tokens": rejected_prediction_tokens,
        }
    return usage


def deepseek_usage(
    prompt_tokens: int = 12,
    completion_tokens: int = 8,
    *,
    cache_hit_tokens: int = 0,
    reasoning_tokens: int | None = None,
) -> dict[str, Any]:
    """DeepSeek's chat ``usage``: cache hits in ``prompt_cache_hit_tokens`` / ``prompt_cache_miss_tokens``
    (hit + miss = prompt), mirrored in ``prompt_tokens_details.cached_tokens``; ``completion_tokens_details``
    only for the reasoner (reasoning included in ``completion_tokens``)."""
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cache_hit_tokens},
    }
    if reasoning_tokens is not None:
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning_tokens}
    usage["prompt_cache_hit_tokens"] = cache_hit_tokens
    usage["prompt_cache_miss_tokens"] = prompt_tokens - cache_hit_tokens
    return usage


def xai_usage(
    prompt_tokens: int = 12,
    completion_tokens: int = 8,
    reasoning_tokens: int = 0,
    *,
    cached_tokens: int = 0,
    num_sources_used: int = 0,
) -> dict[str, Any]:
    """xAI's chat ``usage``: reasoning tokens are NOT part of ``completion_tokens``, so
    ``total_tokens = prompt + completion + reasoning``."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens + reasoning_tokens,
        "prompt_tokens_details": {
            "text_tokens": prompt_tokens,
            "audio_tokens": 0,
            "image_tokens": 0,
            "cached_tokens": cached_tokens,
        },
        "completion_tokens_details": {
            "reasoning_tokens": reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
        "num_sources_used": num_sources_used,
    }


def response_usage(
    input_tokens: int = 12,
    output_tokens: int = 8,
    *,
    cached_tokens: int = 0,
    reasoning_tokens: int = 0,
    total_tokens: int | None = None,
) -> dict[str, Any]:
    """The Responses API ``usage`` (``ResponseUsage``); reasoning is part of ``output_tokens``."""
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached_tokens},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": input_tokens + output_tokens if total_tokens is None else total_tokens,
    }


# ---------------------------------------------------------------------------------------------------------
# /v1/chat/completions
# ---------------------------------------------------------------------------------------------------------


def tool_call(name: str, arguments: Any = None, *, id: str | None = None) -> dict[str, Any]:
    """One entry of a chat message's ``tool_calls``: ``{"id": "call_...", "type": "function", "function":
    {"name", "arguments"}}``; ``arguments`` is a JSON string (a dict/list is serialised compactly)."""
    return {
        "id": id or new_id("call"),
        "type": "function",
        "function": {"name": name, "arguments": _arguments({} if arguments is None else arguments)},
    }


def _as_tool_call(spec: Mapping[str, Any]) -> dict[str, Any]:
    if "function" in spec:
        return dict(spec)
    return tool_call(spec["name"], spec.get("arguments"), id=spec.get("id"))


def _per_choice_tool_calls(tool_calls: Any) -> list[list[dict[str, Any]] | None]:
    """``tool_calls`` is either one choice's list of calls (every entry a dict) or one entry per choice
    (each a list of calls, or ``None``)."""
    if not tool_calls:
        return []
    if all(isinstance(tc, Mapping) for tc in tool_calls):
        return [[_as_tool_call(tc) for tc in tool_calls]]
    return [None if calls is None else [_as_tool_call(tc) for tc in calls] for calls in tool_calls]


@dataclass
class _ChoiceSpec:
    content: str | None
    pieces: list[str] | None  # explicit stream deltas
    tool_calls: list[dict[str, Any]] | None
    refusal: str | None
    finish_reason: str


def _choice_specs(
    contents: Sequence[Any] | None,
    tool_calls: Any,
    refusals: Sequence[str | None] | None,
    finish_reasons: Sequence[str] | None,
) -> list[_ChoiceSpec]:
    calls = _per_choice_tool_calls(tool_calls)
    refusals = list(refusals or [])
    n = max(len(contents or ()), len(calls), len(refusals), len(finish_reasons or ()), 1)
    specs = []
    for i in range(n):
        tcs = calls[i] if i < len(calls) else None
        refusal = refusals[i] if i < len(refusals) else None
        if contents is not None and i < len(contents):
            raw = contents[i]
        elif tcs or refusal is not None:
            raw = None
        else:
            raw = DEFAULT_TEXT if n == 1 else f"Hello from choice {i}!"
        pieces = [str(p) for p in raw] if isinstance(raw, (list, tuple)) else None
        content = "".join(pieces) if pieces is not None else raw
        if finish_reasons is not None and i < len(finish_reasons):
            finish = finish_reasons[i]
        else:
            finish = "tool_calls" if tcs else "stop"
        specs.append(_ChoiceSpec(content, pieces, tcs, refusal, finish))
    return specs


def chat_completion(
    model: str = DEFAULT_CHAT_MODEL,
    contents: Sequence[str | Sequence[str] | None] | None = None,
    *,
    finish_reasons: Sequence[str] | None = None,
    tool_calls: Sequence[Any] | None = None,
    refusals: Sequence[str | None] | None = None,
    usage: Mapping[str, Any] | None = DEFAULT,
    id: str | None = None,
    created: int = CREATED,
    system_fingerprint: str | None = DEFAULT_FINGERPRINT,
    service_tier: str | None = "default",
) -> dict[str, Any]:
    """A ``chat.completion`` object, the body of a non-streamed ``POST /v1/chat/completions``.

    One choice per entry of ``contents`` (``n`` > 1); ``contents=None`` gives ``"Hello!"`` (``None`` for a
    choice that only calls tools or refuses). ``tool_calls``: one choice's list of calls (dicts built by
    :func:`tool_call` or ``{"name", "arguments"}``), or one list (or ``None``) per choice; a choice with
    calls finishes with ``"tool_calls"``. ``refusals``: per-choice refusal text. ``usage``: ``DEFAULT`` =
    :func:`completion_usage` defaults, ``None`` = no usage key, a dict = served as is (provider variants).
    """
    choices = []
    for i, spec in enumerate(_choice_specs(contents, tool_calls, refusals, finish_reasons)):
        message: dict[str, Any] = {"role": "assistant", "content": spec.content}
        if spec.tool_calls:
            message["tool_calls"] = spec.tool_calls
        message["refusal"] = spec.refusal
        message["annotations"] = []
        choices.append(
            {"index": i, "message": message, "logprobs": None, "finish_reason": spec.finish_reason}
        )
    body: dict[str, Any] = {
        "id": id or new_id("chatcmpl"),
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": choices,
    }
    if usage is DEFAULT:
        usage = completion_usage()
    if usage is not None:
        body["usage"] = dict(usage)
    if service_tier is not None:
        body["service_tier"] = service_tier
    body["system_fingerprint"] = system_fingerprint
    return body


def _choice_deltas(spec: _ChoiceSpec, piece_size: int, args_piece_size: int) -> list[dict[str, Any]]:
    """The per-choice sequence of ``{"delta": ..., "finish_reason": ...}`` a stream carries."""
    out: list[dict[str, Any]] = []
    first: dict[str, Any] = {"role": "assistant"}
    calls = spec.tool_calls or []
    if spec.refusal is not None:
        first.update(content=None, refusal="")
        out.append(first)
        out.extend({"refusal": p} for p in split_text(spec.refusal, piece_size))
    elif spec.content is not None or not calls:
        first.update(content="", refusal=None)
        out.append(first)
        pieces = spec.pieces if spec.pieces is not None else split_text(spec.content or "", piece_size)
        out.extend({"content": p} for p in pieces)
    for j, tc in enumerate(calls):
        head = {
            "index": j,
            "id": tc["id"],
            "type": "function",
            "function": {"name": tc["function"]["name"], "arguments": ""},
        }
        if not out:  # a tool-call-only choice: the first fragment rides on the role delta
            first.update(content=None, tool_calls=[head], refusal=None)
            out.append(first)
        else:
            out.append({"tool_calls": [head]})
        out.extend(
            {"tool_calls": [{"index": j, "function": {"arguments": p}}]}
            for p in split_text(tc["function"]["arguments"], args_piece_size)
        )
    return [{"delta": d, "finish_reason": None} for d in out] + [
        {"delta": {}, "finish_reason": spec.finish_reason}
    ]


def _interleave(per_choice: list[list[dict[str, Any]]]) -> Iterator[tuple[int, dict[str, Any]]]:
    for step in range(max(len(c) for c in per_choice)):
        for index, entries in enumerate(per_choice):
            if step < len(entries):
                yield index, entries[step]


def chat_chunks(
    model: str = DEFAULT_CHAT_MODEL,
    contents: Sequence[str | Sequence[str] | None] | None = None,
    *,
    finish_reasons: Sequence[str] | None = None,
    tool_calls: Sequence[Any] | None = None,
    refusals: Sequence[str | None] | None = None,
    include_usage: bool = False,
    usage: Mapping[str, Any] | None = DEFAULT,
    piece_size: int = 4,
    args_piece_size: int = 8,
    obfuscation: bool = True,
    id: str | None = None,
    created: int = CREATED,
    system_fingerprint: str | None = DEFAULT_FINGERPRINT,
    service_tier: str | None = "default",
) -> list[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects of a streamed ``POST /v1/chat/completions``, in order.

    Same choice arguments as :func:`chat_completion` (a content may also be given as its list of deltas).
    Each choice opens with ``delta={"role": "assistant", "content": "", "refusal": None}`` (``content:
    None`` plus the first tool-call fragment for a tool-call-only choice), then content pieces of
    ``piece_size`` characters, then per tool call a fragment with ``index``, ``id``, ``type``,
    ``function.name`` and ``""`` arguments followed by argument pieces keyed by ``index`` only, and closes
    with an empty delta carrying ``finish_reason``. One choice per chunk; with ``n`` > 1 the choices are
    interleaved round-robin. ``include_usage`` (``stream_options.include_usage``) puts ``"usage": null`` on
    every chunk and appends a ``choices: []`` chunk with the usage (none if ``usage=None``).
    ``obfuscation`` adds the random ``obfuscation`` padding field the API sends by default.
    """
    specs = _choice_specs(contents, tool_calls, refusals, finish_reasons)
    cid = id or new_id("chatcmpl")

    def chunk(choices: list[dict[str, Any]], chunk_usage: Any = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
        }
        if service_tier is not None:
            out["service_tier"] = service_tier
        out["system_fingerprint"] = system_fingerprint
        out["choices"] = choices
        if include_usage:
            out["usage"] = chunk_usage
        if obfuscation:
            out["obfuscation"] = _obfuscation()
        return out

    per_choice = [_choice_deltas(spec, piece_size, args_piece_size) for spec in specs]
    chunks = [
        chunk(
            [
                {
                    "index": index,
                    "delta": entry["delta"],
                    "logprobs": None,
                    "finish_reason": entry["finish_reason"],
                }
            ]
        )
        for index, entry in _interleave(per_choice)
    ]
    if include_usage:
        if usage is DEFAULT:
            usage = completion_usage()
        if usage is not None:
            chunks.append(chunk([], dict(usage)))
    return chunks


# ---------------------------------------------------------------------------------------------------------
# legacy /v1/completions
# ---------------------------------------------------------------------------------------------------------


def completion(
    model: str = DEFAULT_COMPLETION_MODEL,
    texts: Sequence[str] = ("\n\nThis is a test.",),
    *,
    finish_reasons: Sequence[str] | None = None,
    usage: Mapping[str, Any] | None = DEFAULT,
    id: str | None = None,
    created: int = CREATED,
    system_fingerprint: str | None = None,
) -> dict[str, Any]:
    """A ``text_completion`` object, the body of a non-streamed legacy ``POST /v1/completions`` (one
    choice per text; ``usage`` has only the three counts by default)."""
    body: dict[str, Any] = {
        "id": id or new_id("cmpl"),
        "object": "text_completion",
        "created": created,
        "model": model,
    }
    if system_fingerprint is not None:
        body["system_fingerprint"] = system_fingerprint
    body["choices"] = [
        {
            "text": text,
            "index": i,
            "logprobs": None,
            "finish_reason": finish_reasons[i] if finish_reasons and i < len(finish_reasons) else "stop",
        }
        for i, text in enumerate(texts)
    ]
    if usage is DEFAULT:
        usage = completion_usage(5, 7, details=False)
    if usage is not None:
        body["usage"] = dict(usage)
    return body


def completion_chunks(
    model: str = DEFAULT_COMPLETION_MODEL,
    texts: Sequence[str] = ("\n\nThis is a test.",),
    *,
    finish_reasons: Sequence[str] | None = None,
    include_usage: bool = False,
    usage: Mapping[str, Any] | None = DEFAULT,
    piece_size: int = 4,
    id: str | None = None,
    created: int = CREATED,
) -> list[dict[str, Any]]:
    """The ``text_completion`` objects of a streamed legacy ``POST /v1/completions``: same shape as the
    non-streamed object, one choice per chunk carrying a text piece, then per choice a ``""`` text with
    the ``finish_reason``; ``include_usage`` adds ``"usage": null`` everywhere and a final ``choices: []``
    chunk with the usage."""
    cid = id or new_id("cmpl")

    def chunk(choices: list[dict[str, Any]], chunk_usage: Any = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": cid,
            "object": "text_completion",
            "created": created,
            "choices": choices,
            "model": model,
        }
        if include_usage:
            out["usage"] = chunk_usage
        return out

    per_choice = []
    for i, text in enumerate(texts):
        finish = finish_reasons[i] if finish_reasons and i < len(finish_reasons) else "stop"
        entries = [{"text": p, "finish_reason": None} for p in split_text(text, piece_size)]
        entries.append({"text": "", "finish_reason": finish})
        per_choice.append(entries)
    chunks = [
        chunk([{"text": e["text"], "index": index, "logprobs": None, "finish_reason": e["finish_reason"]}])
        for index, e in _interleave(per_choice)
    ]
    if include_usage:
        if usage is DEFAULT:
            usage = completion_usage(5, 7, details=False)
        if usage is not None:
            chunks.append(chunk([], dict(usage)))
    return chunks


# ---------------------------------------------------------------------------------------------------------
# /v1/embeddings
# ---------------------------------------------------------------------------------------------------------


def embedding_vector(index: int = 0, dimensions: int = 8) -> list[float]:
    """A deterministic embedding whose values are exact float32 numbers (multiples of 1/1024), so they
    survive the base64/float32 round trip unchanged."""
    return [((index * 7919 + j * 104729) * 2654435761 % 2048 - 1024) / 1024 for j in range(dimensions)]


def encode_embedding_base64(vector: Sequence[float]) -> str:
    """What the API sends for ``encoding_format="base64"``: base64 of the little-endian float32 values."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def embedding_response(
    vectors: Sequence[Sequence[float]] | None = None,
    *,
    model: str = DEFAULT_EMBEDDING_MODEL,
    count: int = 1,
    dimensions: int = 8,
    encoding_format: str = "float",
    prompt_tokens: int = 8,
) -> dict[str, Any]:
    """The body of ``POST /v1/embeddings``: ``{"object": "list", "data": [{"object": "embedding", "index",
    "embedding"}], "model", "usage": {"prompt_tokens", "total_tokens"}}``. ``vectors`` default to
    ``count`` :func:`embedding_vector` s; ``encoding_format="base64"`` serves each as a base64 string.

    Note: the SDK asks for ``base64`` unless the caller passes ``encoding_format`` and then decodes the
    strings back to floats (float32, native byte order); if the caller asked for ``base64`` itself the
    strings are left alone.
    """
    if vectors is None:
        vectors = [embedding_vector(i, dimensions) for i in range(count)]
    data = [
        {
            "object": "embedding",
            "index": i,
            "embedding": encode_embedding_base64(vec) if encoding_format == "base64" else list(vec),
        }
        for i, vec in enumerate(vectors)
    ]
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }


# ---------------------------------------------------------------------------------------------------------
# /v1/responses
# ---------------------------------------------------------------------------------------------------------


def message_item(
    text: str | None = DEFAULT_TEXT,
    *,
    refusal: str | None = None,
    annotations: Sequence[Mapping[str, Any]] = (),
    status: str = "completed",
    id: str | None = None,
) -> dict[str, Any]:
    """A Responses ``message`` output item: ``content`` holds an ``output_text`` part (with
    ``annotations`` and ``logprobs``) and/or a ``refusal`` part."""
    content: list[dict[str, Any]] = []
    if text is not None:
        content.append(
            {
                "type": "output_text",
                "annotations": [dict(a) for a in annotations],
                "logprobs": [],
                "text": text,
            }
        )
    if refusal is not None:
        content.append({"type": "refusal", "refusal": refusal})
    return {
        "id": id or new_id("msg"),
        "type": "message",
        "status": status,
        "content": content,
        "role": "assistant",
    }


def reasoning_item(summary: Sequence[str] = (), *, id: str | None = None) -> dict[str, Any]:
    """A Responses ``reasoning`` output item; ``summary`` texts become ``summary_text`` parts (empty when
    the request did not ask for a summary)."""
    return {
        "id": id or new_id("rs"),
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": s} for s in summary],
    }


def function_call_item(
    name: str,
    arguments: Any = None,
    *,
    call_id: str | None = None,
    status: str = "completed",
    id: str | None = None,
) -> dict[str, Any]:
    """A Responses ``function_call`` output item (``id`` "fc_...", ``call_id`` "call_...", ``arguments``
    a JSON string)."""
    return {
        "id": id or new_id("fc"),
        "type": "function_call",
        "status": status,
        "arguments": _arguments({} if arguments is None else arguments),
        "call_id": call_id or new_id("call"),
        "name": name,
    }


def web_search_item(
    query: str = "latest news", *, status: str = "completed", id: str | None = None
) -> dict[str, Any]:
    """A Responses ``web_search_call`` output item with a ``search`` action."""
    return {
        "id": id or new_id("ws"),
        "type": "web_search_call",
        "status": status,
        "action": {"type": "search", "query": query},
    }


def response_object(
    model: str = DEFAULT_CHAT_MODEL,
    output_text: str | None = DEFAULT_TEXT,
    *,
    output: Sequence[Mapping[str, Any]] | None = None,
    reasoning_summary: Sequence[str] | None = None,
    web_search: str | None = None,
    function_calls: Sequence[Mapping[str, Any]] = (),
    refusal: str | None = None,
    annotations: Sequence[Mapping[str, Any]] = (),
    status: str = "completed",
    incomplete_reason: str = "max_output_tokens",
    error: Mapping[str, Any] | None = None,
    usage: Mapping[str, Any] | None = DEFAULT,
    id: str | None = None,
    created_at: int = CREATED,
    instructions: Any = None,
    max_output_tokens: int | None = None,
    max_tool_calls: int | None = None,
    parallel_tool_calls: bool = True,
    previous_response_id: str | None = None,
    prompt_cache_key: str | None = None,
    reasoning: Mapping[str, Any] | None = None,
    safety_identifier: str | None = None,
    service_tier: str | None = "default",
    store: bool = True,
    temperature: float | None = 1.0,
    text: Mapping[str, Any] | None = None,
    tool_choice: Any = "auto",
    tools: Sequence[Mapping[str, Any]] = (),
    top_logprobs: int = 0,
    top_p: float | None = 1.0,
    truncation: str = "disabled",
    user: str | None = None,
    metadata: Mapping[str, str] | None = None,
    background: bool = False,
) -> dict[str, Any]:
    """A ``response`` object, the body of a non-streamed ``POST /v1/responses`` (and the payload of the
    terminal stream event), with the top-level fields of the API reference in its order.

    ``output`` items are built, unless ``output`` is given, in the API's order: a :func:`reasoning_item`
    when ``reasoning_summary`` is not None, a :func:`web_search_item` when ``web_search`` (a query) is
    set, a :func:`message_item` when ``output_text`` or ``refusal`` is set, then one
    :func:`function_call_item` per ``function_calls`` entry (``{"name", "arguments", "call_id"?}``).

    ``status``: ``"completed"`` (sets ``completed_at``), ``"incomplete"`` (``incomplete_details.reason`` =
    ``incomplete_reason``, the message item is ``incomplete``), ``"failed"`` (``error``, default a
    ``server_error``; usage defaults to null), ``"in_progress"``/``"queued"``. The request-echo fields
    (``instructions``, ``temperature``, ``tools``, ``text``, ``reasoning``, ...) are served as given.
    """
    item_status = "incomplete" if status == "incomplete" else "completed"
    if output is None:
        items: list[dict[str, Any]] = []
        if reasoning_summary is not None:
            items.append(reasoning_item(reasoning_summary))
        if web_search is not None:
            items.append(web_search_item(web_search))
        if output_text is not None or refusal is not None:
            items.append(
                message_item(output_text, refusal=refusal, annotations=annotations, status=item_status)
            )
        items.extend(
            function_call_item(fc["name"], fc.get("arguments"), call_id=fc.get("call_id"), id=fc.get("id"))
            for fc in function_calls
        )
    else:
        items = [copy.deepcopy(dict(item)) for item in output]
    if usage is DEFAULT:
        usage = None if status in ("failed", "in_progress", "queued") else response_usage()
    if status == "failed" and error is None:
        error = {"code": "server_error", "message": "The model failed to generate a response."}
    if reasoning is None:
        reasoning = {"effort": "medium" if _is_reasoning_model(model) else None, "summary": None}
    return {
        "id": id or new_id("resp"),
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": background,
        "completed_at": created_at + 2 if status == "completed" else None,
        "error": None if error is None else dict(error),
        "incomplete_details": {"reason": incomplete_reason} if status == "incomplete" else None,
        "instructions": instructions,
        "max_output_tokens": max_output_tokens,
        "max_tool_calls": max_tool_calls,
        "model": model,
        "output": items,
        "parallel_tool_calls": parallel_tool_calls,
        "previous_response_id": previous_response_id,
        "prompt_cache_key": prompt_cache_key,
        "reasoning": dict(reasoning),
        "safety_identifier": safety_identifier,
        "service_tier": service_tier,
        "store": store,
        "temperature": temperature,
        "text": dict(text) if text is not None else {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": tool_choice,
        "tools": [dict(t) for t in tools],
        "top_logprobs": top_logprobs,
        "top_p": top_p,
        "truncation": truncation,
        "usage": None if usage is None else dict(usage),
        "user": user,
        "metadata": dict(metadata or {}),
    }


_TERMINAL_EVENT = {
    "completed": "response.completed",
    "incomplete": "response.incomplete",
    "failed": "response.failed",
}


def response_events(
    response: Mapping[str, Any] | None = None,
    *,
    piece_size: int = 4,
    args_piece_size: int = 8,
    obfuscation: bool = True,
    **response_kwargs: Any,
) -> list[dict[str, Any]]:
    """The SSE events of a streamed ``POST /v1/responses``, in the API's order, numbered by
    ``sequence_number``; derived from the final ``response`` (default: ``response_object(**kwargs)``), so
    the deltas always add up to the terminal event's output.

    ``response.created`` and ``response.in_progress`` (an ``in_progress`` snapshot without output or
    usage), then per output item: ``response.output_item.added`` (item in progress), its content events,
    ``response.output_item.done`` (final item). Content events: for a ``message``,
    ``response.content_part.added`` / ``response.output_text.delta`` ... / ``response.output_text.done`` /
    ``response.content_part.done`` per part (``response.output_text.annotation.added`` per annotation
    after the text deltas; ``response.refusal.delta``/``.done`` for a refusal part); for a
    ``function_call``, ``response.function_call_arguments.delta`` ... / ``.done``; for ``reasoning``,
    ``response.reasoning_summary_part.added`` / ``response.reasoning_summary_text.delta`` ... /
    ``response.reasoning_summary_text.done`` / ``response.reasoning_summary_part.done`` per summary part;
    for a ``web_search_call``, ``response.web_search_call.in_progress`` / ``.searching`` / ``.completed``.
    It ends with ``response.completed`` (``response.incomplete`` / ``response.failed`` by the response's
    status) carrying the full response. Delta events carry ``obfuscation`` padding unless disabled.
    """
    if response is not None and response_kwargs:
        raise TypeError("pass either a response or response_object() arguments, not both")
    final = copy.deepcopy(dict(response)) if response is not None else response_object(**response_kwargs)
    events: list[dict[str, Any]] = []

    def emit(type_: str, **fields: Any) -> None:
        events.append({"type": type_, "sequence_number": len(events), **fields})

    def delta_fields(delta: str, **extra: Any) -> dict[str, Any]:
        out = {"delta": delta, **extra}
        if obfuscation:
            out["obfuscation"] = _obfuscation()
        return out

    snapshot = {
        **copy.deepcopy(final),
        "status": "in_progress",
        "completed_at": None,
        "error": None,
        "incomplete_details": None,
        "output": [],
        # the lifecycle snapshots show the requested tier ("auto" unless one was asked for)
        "service_tier": "auto" if final.get("service_tier") in (None, "default") else final["service_tier"],
        "usage": None,
    }
    emit("response.created", response=snapshot)
    emit("response.in_progress", response=copy.deepcopy(snapshot))

    for oi, item in enumerate(final["output"]):
        kind = item.get("type")
        item_id = item.get("id")
        if kind == "message":
            emit(
                "response.output_item.added",
                output_index=oi,
                item={**item, "status": "in_progress", "content": []},
            )
            for ci, part in enumerate(item.get("content", [])):
                where = {"item_id": item_id, "output_index": oi, "content_index": ci}
                if part.get("type") == "refusal":
                    emit("response.content_part.added", **where, part={"type": "refusal", "refusal": ""})
                    for p in split_text(part["refusal"], piece_size):
                        emit("response.refusal.delta", **where, **delta_fields(p))
                    emit("response.refusal.done", **where, refusal=part["refusal"])
                else:
                    emit(
                        "response.content_part.added",
                        **where,
                        part={"type": "output_text", "annotations": [], "logprobs": [], "text": ""},
                    )
                    for p in split_text(part["text"], piece_size):
                        emit("response.output_text.delta", **where, **delta_fields(p, logprobs=[]))
                    for ai, annotation in enumerate(part.get("annotations") or []):
                        emit(
                            "response.output_text.annotation.added",
                            **where,
                            annotation_index=ai,
                            annotation=copy.deepcopy(annotation),
                        )
                    emit("response.output_text.done", **where, text=part["text"], logprobs=[])
                emit("response.content_part.done", **where, part=copy.deepcopy(part))
        elif kind == "function_call":
            emit(
                "response.output_item.added",
                output_index=oi,
                item={**item, "status": "in_progress", "arguments": ""},
            )
            for p in split_text(item["arguments"], args_piece_size):
                emit(
                    "response.function_call_arguments.delta",
                    item_id=item_id,
                    output_index=oi,
                    **delta_fields(p),
                )
            emit(
                "response.function_call_arguments.done",
                item_id=item_id,
                output_index=oi,
                name=item["name"],
                arguments=item["arguments"],
            )
        elif kind == "reasoning":
            emit("response.output_item.added", output_index=oi, item={**item, "summary": []})
            for si, part in enumerate(item.get("summary", [])):
                where = {"item_id": item_id, "output_index": oi, "summary_index": si}
                emit(
                    "response.reasoning_summary_part.added",
                    **where,
                    part={"type": "summary_text", "text": ""},
                )
                for p in split_text(part["text"], piece_size):
                    emit("response.reasoning_summary_text.delta", **where, **delta_fields(p))
                emit("response.reasoning_summary_text.done", **where, text=part["text"])
                emit("response.reasoning_summary_part.done", **where, part=copy.deepcopy(part))
        elif kind == "web_search_call":
            added = {**item, "status": "in_progress", "action": {"type": "search"}}
            emit("response.output_item.added", output_index=oi, item=added)
            for phase in ("in_progress", "searching", "completed"):
                emit(f"response.web_search_call.{phase}", output_index=oi, item_id=item_id)
        else:
            emit("response.output_item.added", output_index=oi, item=copy.deepcopy(item))
        emit("response.output_item.done", output_index=oi, item=copy.deepcopy(item))

    terminal = _TERMINAL_EVENT.get(final.get("status", "completed"))
    if terminal is not None:
        emit(terminal, response=final)
    return events


# ---------------------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------------------

_ERRORS: dict[int, tuple[str, str | None, str | None, str]] = {
    400: (
        "invalid_request_error",
        "context_length_exceeded",
        "messages",
        "This model's maximum context length is 128000 tokens. However, your messages resulted in 130412 "
        "tokens. Please reduce the length of the messages.",
    ),
    401: (
        "invalid_request_error",
        "invalid_api_key",
        None,
        "Incorrect API key provided: sk-test. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
    ),
    403: (
        "request_forbidden",
        "unsupported_country_region_territory",
        None,
        "Country, region, or territory not supported",
    ),
    404: (
        "invalid_request_error",
        "model_not_found",
        None,
        "The model `gpt-unknown` does not exist or you do not have access to it.",
    ),
    429: (
        "requests",
        "rate_limit_exceeded",
        None,
        "Rate limit reached for gpt-4o-mini in organization org-test on requests per min (RPM): Limit 3, "
        "Used 3, Requested 1. Please try again in 20s. Visit https://platform.openai.com/account/rate-limits "
        "to learn more.",
    ),
    500: (
        "server_error",
        None,
        None,
        "The server had an error while processing your request. Sorry about that!",
    ),
    503: ("server_error", None, None, "The engine is currently overloaded, please try again later."),
}


def error_body(
    status: int = 400,
    message: str | None = None,
    type: str | None = None,
    code: str | None = DEFAULT,
    param: str | None = DEFAULT,
) -> dict[str, Any]:
    """The body of an API error answer: ``{"error": {"message", "type", "param", "code"}}``, with the
    API's usual values for ``status`` (e.g. 429 -> type ``requests``, code ``rate_limit_exceeded``)."""
    d_type, d_code, d_param, d_message = _ERRORS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None, None, f"HTTP {status}")
    )
    return {
        "error": {
            "message": d_message if message is None else message,
            "type": d_type if type is None else type,
            "param": d_param if param is DEFAULT else param,
            "code": d_code if code is DEFAULT else code,
        }
    }


# ---------------------------------------------------------------------------------------------------------
# SSE encoding
# ---------------------------------------------------------------------------------------------------------


def sse_chat_pieces(chunks: Iterable[Mapping[str, Any]], *, done: bool = True) -> list[bytes]:
    """One ``data: <json>\\n\\n`` piece per chunk, then ``data: [DONE]\\n\\n`` (chat and legacy
    completions streams)."""
    pieces = [f"data: {_dumps(c)}\n\n".encode() for c in chunks]
    if done:
        pieces.append(b"data: [DONE]\n\n")
    return pieces


def sse_chat(chunks: Iterable[Mapping[str, Any]], *, done: bool = True) -> bytes:
    """The whole body of a chat / legacy completions stream (see :func:`sse_chat_pieces`)."""
    return b"".join(sse_chat_pieces(chunks, done=done))


def sse_responses_pieces(events: Iterable[Mapping[str, Any]]) -> list[bytes]:
    """One ``event: <type>\\ndata: <json>\\n\\n`` piece per Responses stream event (no ``[DONE]``)."""
    return [f"event: {e['type']}\ndata: {_dumps(e)}\n\n".encode() for e in events]


def sse_responses(events: Iterable[Mapping[str, Any]]) -> bytes:
    """The whole body of a Responses stream (see :func:`sse_responses_pieces`)."""
    return b"".join(sse_responses_pieces(events))


# ---------------------------------------------------------------------------------------------------------
# the fake server
# ---------------------------------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """A request the fake server received."""

    method: str
    url: str
    path: str
    headers: dict[str, str]
    json: Any
    content: bytes = field(repr=False)


Responder = Callable[[Any, RecordedRequest], Any]
"""``(request, recorded) -> Response``: how one queued answer is produced."""


def _default_headers(content_type: str) -> dict[str, str]:
    return {
        "content-type": content_type,
        "openai-organization": "user-test",
        "openai-processing-ms": "187",
        "openai-version": "2020-10-01",
        "x-ratelimit-limit-requests": "10000",
        "x-ratelimit-remaining-requests": "9999",
        "x-ratelimit-limit-tokens": "10000000",
        "x-ratelimit-remaining-tokens": "9999980",
        "x-request-id": new_id("req"),
    }


class MockOpenAI:
    """A fake OpenAI server: ``handler(request)`` serves queued answers in order, then default ones.

    Queue answers with :meth:`add_json`, :meth:`add_sse` (:meth:`add_chat_stream`,
    :meth:`add_responses_stream`), :meth:`add_error` or :meth:`add` (any responder). With nothing queued,
    :meth:`default_reply` answers by path: chat completions, responses, legacy completions and embeddings,
    streamed or not as the request asks (honouring ``n``, ``stream_options.include_usage`` and
    ``.include_obfuscation``, the requested embedding ``encoding_format`` / ``dimensions``, echoing the
    Responses request fields); anything else gets a 404 error body. Every request is recorded in
    :attr:`requests`, parsed JSON body included.
    """

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Responder] = deque()
        self._lock = threading.Lock()

    # -- queueing -------------------------------------------------------------------------------------

    def add(self, responder: Responder) -> MockOpenAI:
        """Queue a callable ``(request, recorded) -> Response``."""
        self._queue.append(responder)
        return self

    def add_json(
        self,
        body: Any,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        *,
        delay: float = 0.0,
    ) -> MockOpenAI:
        """Queue a JSON answer (``delay``: seconds before the body arrives)."""
        payload = _dumps(body).encode()
        return self.add(
            lambda request, _rec: self._response(
                status, "application/json", headers, [payload], request, initial_delay=delay
            )
        )

    def add_sse(
        self,
        pieces: Sequence[bytes] | bytes,
        *,
        delay: float = 0.0,
        initial_delay: float = 0.0,
        fail_after: int | None = None,
        exc: Any = None,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> MockOpenAI:
        """Queue an event stream delivered piece by piece: ``initial_delay`` seconds before the first
        piece, ``delay`` between pieces. ``fail_after=k`` drops the connection after ``k`` pieces by
        raising ``exc`` (default the HTTP library's ``RemoteProtocolError``; pass e.g. ``HTTP.ReadError``,
        any exception class or instance)."""
        parts = [pieces] if isinstance(pieces, bytes) else list(pieces)
        return self.add(
            lambda request, _rec: self._response(
                status,
                "text/event-stream; charset=utf-8",
                headers,
                parts,
                request,
                delay=delay,
                initial_delay=initial_delay,
                fail_after=fail_after,
                exc=exc,
            )
        )

    def add_chat_stream(self, chunks: Iterable[Mapping[str, Any]], **kwargs: Any) -> MockOpenAI:
        """Queue chat (or legacy completion) chunks as a ``data:``/``[DONE]`` stream (:meth:`add_sse`
        keyword arguments apply; ``fail_after`` counts chunks)."""
        return self.add_sse(sse_chat_pieces(chunks), **kwargs)

    def add_responses_stream(self, events: Iterable[Mapping[str, Any]], **kwargs: Any) -> MockOpenAI:
        """Queue Responses events as an ``event:``/``data:`` stream (:meth:`add_sse` keyword arguments)."""
        return self.add_sse(sse_responses_pieces(events), **kwargs)

    def add_error(
        self,
        status: int,
        message: str | None = None,
        type: str | None = None,
        code: str | None = DEFAULT,
        *,
        param: str | None = DEFAULT,
        headers: Mapping[str, str] | None = None,
    ) -> MockOpenAI:
        """Queue an API error answer with an :func:`error_body`."""
        return self.add_json(error_body(status, message, type, code, param), status, headers)

    @property
    def pending(self) -> int:
        """How many queued answers have not been served yet."""
        return len(self._queue)

    @property
    def last(self) -> RecordedRequest:
        """The last recorded request."""
        return self.requests[-1]

    # -- serving --------------------------------------------------------------------------------------

    @staticmethod
    def _response(
        status: int,
        content_type: str,
        headers: Mapping[str, str] | None,
        pieces: Sequence[bytes],
        request: Any,
        *,
        delay: float = 0.0,
        initial_delay: float = 0.0,
        fail_after: int | None = None,
        exc: Any = None,
    ) -> Any:
        all_headers = _default_headers(content_type)
        all_headers.update(headers or {})
        body = paced_body(HTTP)(
            pieces, delay=delay, initial_delay=initial_delay, fail_after=fail_after, exc=exc, request=request
        )
        return HTTP.Response(status, headers=all_headers, stream=body)

    def handler(self, request: Any) -> Any:
        """The ``MockTransport`` handler: record the request, serve the next queued answer or a default."""
        content = request.content  # MockTransport has read the body already (sync and async)
        try:
            parsed = json.loads(content) if content else None
        except ValueError:
            parsed = None
        recorded = RecordedRequest(
            method=request.method,
            url=str(request.url),
            path=request.url.path,
            headers={k.lower(): v for k, v in request.headers.items()},
            json=parsed,
            content=content,
        )
        with self._lock:
            self.requests.append(recorded)
            responder = self._queue.popleft() if self._queue else None
        if responder is None:
            return self.default_reply(request, recorded)
        return responder(request, recorded)

    def default_reply(self, request: Any, recorded: RecordedRequest) -> Any:
        """The answer when nothing is queued: a sensible success for the known endpoints, else 404."""
        body = recorded.json if isinstance(recorded.json, dict) else {}
        path = recorded.path.rstrip("/")
        stream = bool(body.get("stream"))
        stream_options = body.get("stream_options") or {}
        include_usage = bool(stream_options.get("include_usage"))
        obfuscation = stream_options.get("include_obfuscation", True) is not False
        model = resolve_model(str(body.get("model") or DEFAULT_CHAT_MODEL))
        if recorded.method == "POST" and path.endswith("/chat/completions"):
            n = int(body.get("n") or 1)
            contents = None if n == 1 else [f"Hello from choice {i}!" for i in range(n)]
            if stream:
                chunks = chat_chunks(model, contents, include_usage=include_usage, obfuscation=obfuscation)
                return self._response(
                    200, "text/event-stream; charset=utf-8", None, sse_chat_pieces(chunks), request
                )
            return self._json(chat_completion(model, contents), request)
        if recorded.method == "POST" and path.endswith("/responses"):
            response = self._default_response_object(model, body)
            if stream:
                events = response_events(response, obfuscation=obfuscation)
                return self._response(
                    200, "text/event-stream; charset=utf-8", None, sse_responses_pieces(events), request
                )
            return self._json(response, request)
        if recorded.method == "POST" and path.endswith("/completions"):
            model = str(body.get("model") or DEFAULT_COMPLETION_MODEL)
            n = int(body.get("n") or 1)
            texts = ["\n\nThis is a test."] * n
            if stream:
                chunks = completion_chunks(model, texts, include_usage=include_usage)
                return self._response(
                    200, "text/event-stream; charset=utf-8", None, sse_chat_pieces(chunks), request
                )
            return self._json(completion(model, texts), request)
        if recorded.method == "POST" and path.endswith("/embeddings"):
            inputs = body.get("input")
            if isinstance(inputs, str) or (
                isinstance(inputs, list) and inputs and isinstance(inputs[0], int)
            ):
                inputs = [inputs]
            inputs = inputs or [""]
            tokens = sum(
                len(x) if isinstance(x, list) else max(1, len(re.findall(r"\w+|[^\w\s]", x))) for x in inputs
            )
            reply = embedding_response(
                model=str(body.get("model") or DEFAULT_EMBEDDING_MODEL),
                count=len(inputs),
                dimensions=int(body.get("dimensions") or 8),
                encoding_format=str(body.get("encoding_format") or "float"),
                prompt_tokens=tokens,
            )
            return self._json(reply, request)
        message = f"Invalid URL ({recorded.method} {recorded.path})"
        return self._json(error_body(404, message, "invalid_request_error", None, None), request, 404)

    def _json(self, body: Any, request: Any, status: int = 200) -> Any:
        return self._response(status, "application/json", None, [_dumps(body).encode()], request)

    @staticmethod
    def _default_response_object(model: str, body: Mapping[str, Any]) -> dict[str, Any]:
        reasoning_req = body.get("reasoning") or {}
        reasoning_model = _is_reasoning_model(model)
        summary = None
        if reasoning_model:
            summary = (
                ["**Answering**\n\nThe user greets me; I reply briefly."]
                if reasoning_req.get("summary")
                else []
            )
        echoed: dict[str, Any] = {
            key: body[key]
            for key in (
                "instructions",
                "max_output_tokens",
                "max_tool_calls",
                "parallel_tool_calls",
                "previous_response_id",
                "prompt_cache_key",
                "safety_identifier",
                "store",
                "temperature",
                "text",
                "tool_choice",
                "tools",
                "top_logprobs",
                "top_p",
                "truncation",
                "user",
                "metadata",
                "background",
            )
            if body.get(key) is not None
        }
        if reasoning_model:
            echoed["reasoning"] = {
                "effort": reasoning_req.get("effort", "medium"),
                "summary": reasoning_req.get("summary"),
            }
        elif reasoning_req:
            echoed["reasoning"] = {
                "effort": reasoning_req.get("effort"),
                "summary": reasoning_req.get("summary"),
            }
        tier = body.get("service_tier")
        echoed["service_tier"] = "default" if tier in (None, "auto") else tier
        usage = response_usage(
            12, 8 + (64 if reasoning_model else 0), reasoning_tokens=64 if reasoning_model else 0
        )
        return response_object(model, reasoning_summary=summary, usage=usage, **echoed)


def client(
    server: MockOpenAI,
    *,
    async_: bool = False,
    cls: type | None = None,
    base_url: str = DEFAULT_BASE_URL,
    **kwargs: Any,
) -> Any:
    """A real SDK client whose HTTP client sends everything to ``server`` through ``MockTransport``.

    ``cls`` defaults to ``openai.OpenAI`` / ``openai.AsyncOpenAI`` (by ``async_``); an async class implies
    ``async_=True``. ``api_key="sk-test"`` and ``max_retries=0`` unless given. For Azure classes
    ``api_version`` defaults to a GA version and, unless ``azure_endpoint`` or a non-default ``base_url``
    is given, ``azure_endpoint`` to a made-up resource. Other keyword arguments go to the constructor.
    """
    if cls is None:
        cls = openai.AsyncOpenAI if async_ else openai.OpenAI
    else:
        async_ = issubclass(cls, openai.AsyncOpenAI)
    transport = HTTP.MockTransport(server.handler)
    http_client = HTTP.AsyncClient(transport=transport) if async_ else HTTP.Client(transport=transport)
    kwargs.setdefault("api_key", "sk-test")
    kwargs.setdefault("max_retries", 0)
    if "Azure" in cls.__name__:
        kwargs.setdefault("api_version", DEFAULT_AZURE_API_VERSION)
        if "azure_endpoint" not in kwargs:
            if base_url == DEFAULT_BASE_URL:
                kwargs["azure_endpoint"] = DEFAULT_AZURE_ENDPOINT
            else:
                kwargs["base_url"] = base_url
    else:
        kwargs["base_url"] = base_url
    return cls(http_client=http_client, **kwargs)
