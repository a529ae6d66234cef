"""Gemini API wire formats served to the real ``google-genai`` SDK, offline.

Three layers, each usable on its own:

* **Payload builders** return plain dicts shaped like what the Gemini REST API sends (camelCase field names,
  fields left out rather than ``null``, as the API's JSON encoder does):

  - :func:`generate_content_response`: ``models.generateContent`` (``candidates[].content.parts``,
    ``finishReason``, ``index``, ``usageMetadata``, ``modelVersion``, ``responseId``; with ``vertex=True`` the
    Vertex AI variant: ``createTime``, ``trafficType``, no zero ``index``).
  - :func:`stream_chunks`: the ``GenerateContentResponse`` chunks of ``models.streamGenerateContent?alt=sse``,
    text split into pieces per candidate, ``usageMetadata`` a running total on every chunk (the last chunk
    holds the final counts), ``finishReason`` on a candidate's last chunk.
  - :func:`usage_metadata`: ``promptTokenCount`` (cached content included), ``cachedContentTokenCount``,
    ``candidatesTokenCount``, ``thoughtsTokenCount``, ``toolUsePromptTokenCount``, ``totalTokenCount`` (their
    sum) and the per-modality details.
  - :func:`batch_embed_response` (``models.batchEmbedContents``), :func:`embed_response`
    (``models.embedContent``), :func:`vertex_predict_embeddings` (Vertex ``publishers/google/models/...:predict``
    for ``text-embedding-*`` models, token counts in ``statistics``).
  - :func:`error_body`: ``{"error": {"code", "message", "status"}}`` of a 4xx/5xx answer.
  - parts: :func:`text_part`, :func:`thought_part`, :func:`function_call_part`, :func:`inline_data_part`,
    :func:`file_data_part`, :func:`executable_code_part`, :func:`code_execution_result_part`.

* **SSE encoding**: :func:`sse_pieces` (one ``data: <json>\\r\\n\\r\\n`` event per chunk, as the API frames
  them; no terminating event).

* **A fake server**, :class:`MockGemini`, whose :meth:`MockGemini.handler` plugs into the HTTP library's
  ``MockTransport``; :func:`client` builds a real ``genai.Client`` (AI Studio, or Vertex AI with offline
  credentials) whose sync and async HTTP clients send everything there
  (``HttpOptions(client_args={"transport": ...}, async_client_args={"transport": ...})``).

:data:`HTTP` is the HTTP library the installed SDK is built on: ``httpx2`` for google-genai 3.x, ``httpx``
for earlier releases. Generated ids come from a seeded generator: realistic, unique within a run, and the
same from run to run.
"""

from __future__ import annotations

import base64
import importlib
import json
import random
import re
import string
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import google.genai._api_client as _sdk_api_client
from google import genai
from google.genai import types

from tests.support.paced_body import paced_body


def _sdk_http_library() -> Any:
    """The HTTP library the installed SDK builds its clients on. google-genai 3.x defaults to httpx2 (and
    follows the library of an injected transport), 2.x defaults to httpx even when httpx2 is installed, 1.x
    only knows httpx; ``GOOGLE_GENAI_HTTP_CLIENT`` can override. A default client built offline tells."""
    try:
        probe = genai.Client(vertexai=False, api_key="probe")
        for cls in type(probe._api_client._httpx_client).__mro__:
            package = (cls.__module__ or "").split(".")[0]
            if package in ("httpx", "httpx2"):
                return importlib.import_module(package)
    except Exception:
        pass
    return getattr(_sdk_api_client, "httpx2", None) or _sdk_api_client.httpx


HTTP: Any = _sdk_http_library()
"""The HTTP library module the installed google-genai SDK uses (``httpx2`` or ``httpx``)."""

DEFAULT_MODEL = "gemini-2.5-flash"
DEFAULT_TEXT = "Hello! How can I help you today?"
DEFAULT_EMBEDDING_MODEL = "gemini-embedding-001"
VERTEX_PROJECT = "test-project"
VERTEX_LOCATION = "us-central1"
CREATE_TIME = "2025-08-05T12:00:00.000000Z"
CALL_TOKENS = 6
"""Output tokens :func:`stream_chunks` counts for each function call part."""

_rng = random.Random(20250805)
_ID_CHARS = string.ascii_letters + string.digits + "-_"


def new_response_id() -> str:
    """A ``responseId`` as the API returns them (23 URL-safe base64 characters)."""
    return "".join(_rng.choice(_ID_CHARS) for _ in range(23))


def split_text(text: str, size: int = 12) -> list[str]:
    """``text`` in stream pieces of about ``size`` characters, cut after whitespace where possible
    (``"".join(split_text(t)) == t``)."""
    if not text:
        return []
    return re.findall(rf".{{1,{max(1, size)}}}(?:\s+|$)|.{{1,{max(1, size)}}}", text, re.S)


def count_tokens(text: str) -> int:
    """A stable stand-in tokenizer: words and punctuation marks."""
    return len(re.findall(r"\w+|[^\w\s]", text))


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# ---------------------------------------------------------------------------------------------------------
# parts, candidates, usage
# ---------------------------------------------------------------------------------------------------------


def text_part(text: str) -> dict[str, Any]:
    return {"text": text}


def thought_part(text: str, *, signature: bool = False) -> dict[str, Any]:
    """A thought summary part (``includeThoughts``): ``{"text", "thought": true}``."""
    part: dict[str, Any] = {"text": text, "thought": True}
    if signature:
        part["thoughtSignature"] = base64.b64encode(b"sig-" + text[:8].encode()).decode()
    return part


def function_call_part(name: str, args: Mapping[str, Any] | None = None, *, id: str | None = None) -> dict[str, Any]:
    call: dict[str, Any] = {"name": name, "args": dict(args or {})}
    if id is not None:
        call["id"] = id
    return {"functionCall": call}


def inline_data_part(data: bytes, mime_type: str) -> dict[str, Any]:
    return {"inlineData": {"mimeType": mime_type, "data": base64.b64encode(data).decode()}}


def file_data_part(file_uri: str, mime_type: str) -> dict[str, Any]:
    return {"fileData": {"mimeType": mime_type, "fileUri": file_uri}}


def executable_code_part(code: str, language: str = "PYTHON") -> dict[str, Any]:
    return {"executableCode": {"language": language, "code": code}}


def code_execution_result_part(output: str, outcome: str = "OUTCOME_OK") -> dict[str, Any]:
    return {"codeExecutionResult": {"outcome": outcome, "output": output}}


def candidate(
    parts: Sequence[Mapping[str, Any]] | None = None,
    *,
    text: str | None = None,
    finish_reason: str | None = "STOP",
    index: int = 0,
    role: str = "model",
    vertex: bool = False,
) -> dict[str, Any]:
    """One ``Candidate``: ``content`` (``parts`` or a single ``text``), ``finishReason``, ``index`` (left out
    when zero on Vertex, as its proto3 JSON encoder does)."""
    if parts is None:
        parts = [text_part(DEFAULT_TEXT if text is None else text)]
    out: dict[str, Any] = {"content": {"role": role, "parts": [dict(p) for p in parts]}}
    if finish_reason is not None:
        out["finishReason"] = finish_reason
    if vertex:
        out["avgLogprobs"] = -0.0421
        if index:
            out["index"] = index
    else:
        out["index"] = index
    return out


def usage_metadata(
    prompt: int | None = 8,
    candidates: int | None = 10,
    *,
    cached: int | None = None,
    thoughts: int | None = None,
    tool_use: int | None = None,
    total: int | None = None,
    vertex: bool = False,
    details: bool = True,
) -> dict[str, Any]:
    """``usageMetadata``: ``promptTokenCount`` includes the cached tokens; ``totalTokenCount`` is prompt +
    candidates + tool-use prompt + thoughts. Counts given as None are left out, as the API leaves out zeros."""
    out: dict[str, Any] = {}
    if prompt is not None:
        out["promptTokenCount"] = prompt
    if candidates is not None:
        out["candidatesTokenCount"] = candidates
    out["totalTokenCount"] = total if total is not None else sum(
        n or 0 for n in (prompt, candidates, tool_use, thoughts))
    if cached is not None:
        out["cachedContentTokenCount"] = cached
    if details and prompt:
        out["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt}]
        if cached:
            out["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": cached}]
        if vertex and candidates:
            out["candidatesTokensDetails"] = [{"modality": "TEXT", "tokenCount": candidates}]
    if tool_use is not None:
        out["toolUsePromptTokenCount"] = tool_use
        if details:
            out["toolUsePromptTokensDetails"] = [{"modality": "TEXT", "tokenCount": tool_use}]
    if thoughts is not None:
        out["thoughtsTokenCount"] = thoughts
    if vertex:
        out["trafficType"] = "ON_DEMAND"
    return out


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Any = _Default()
"""Sentinel for "build the usual value" (``usage=DEFAULT``), as opposed to None = "leave the field out"."""


def generate_content_response(
    candidates: Sequence[Mapping[str, Any]] | None = None,
    *,
    text: str | None = None,
    usage: Mapping[str, Any] | None = DEFAULT,
    model_version: str = DEFAULT_MODEL,
    response_id: str | None = None,
    prompt_feedback: Mapping[str, Any] | None = None,
    vertex: bool = False,
) -> dict[str, Any]:
    """A ``GenerateContentResponse`` body. ``candidates`` defaults to one candidate with ``text``;
    ``usage`` defaults to counts derived from the candidates' text."""
    if candidates is None:
        candidates = [candidate(text=text, vertex=vertex)]
    out: dict[str, Any] = {}
    if candidates:
        out["candidates"] = [dict(c) for c in candidates]
    if prompt_feedback is not None:
        out["promptFeedback"] = dict(prompt_feedback)
    if usage is DEFAULT:
        produced = sum(count_tokens(p.get("text", "")) for c in candidates
                       for p in c.get("content", {}).get("parts", []) if not p.get("thought"))
        usage = usage_metadata(8, produced or None, vertex=vertex)
    if usage is not None:
        out["usageMetadata"] = dict(usage)
    out["modelVersion"] = model_version
    if vertex:
        out["createTime"] = CREATE_TIME
    out["responseId"] = response_id or new_response_id()
    return out


def stream_chunks(
    texts: Sequence[str | None] = (DEFAULT_TEXT,),
    *,
    piece_size: int = 12,
    thoughts: Sequence[str | None] | None = None,
    function_calls: Sequence[Sequence[Mapping[str, Any]] | None] | None = None,
    finish_reasons: Sequence[str | None] | None = None,
    prompt_tokens: int | None = 8,
    cached: int | None = None,
    thoughts_tokens: int | None = None,
    usage: bool = True,
    model_version: str = DEFAULT_MODEL,
    response_id: str | None = None,
    vertex: bool = False,
) -> list[dict[str, Any]]:
    """The chunks of a streamed ``generateContent``, one list entry per SSE event.

    ``texts[i]`` is candidate ``i``'s answer, streamed in pieces (candidates interleaved, one piece each per
    chunk); ``thoughts[i]`` a thought summary streamed before it; ``function_calls[i]`` function call parts
    sent whole in candidate ``i``'s last chunk. Every chunk carries ``usageMetadata`` with the running totals:
    the prompt (and cached, thoughts) counts from the first chunk on, ``candidatesTokenCount`` growing with
    the text streamed so far (left out while zero), as the API does. ``usage=False`` leaves it out."""
    n = len(texts)
    thoughts = list(thoughts or [None] * n)
    calls = list(function_calls or [None] * n)
    reasons = list(finish_reasons or ["STOP"] * n)
    per_candidate: list[list[dict[str, Any]]] = []
    for i in range(n):
        steps: list[dict[str, Any]] = []
        if thoughts[i]:
            steps.append(thought_part(str(thoughts[i])))
        for piece in split_text(texts[i] or "", piece_size):
            steps.append(text_part(piece))
        if calls[i]:
            steps.append({"calls": [dict(c) for c in calls[i] or ()]})
        if not steps:
            steps.append(text_part(""))
        per_candidate.append(steps)
    rid = response_id or new_response_id()
    streamed = [0] * n
    rows = max(len(s) for s in per_candidate)
    chunks = []
    for r in range(rows):
        cands = []
        for i, steps in enumerate(per_candidate):
            if r >= len(steps):
                continue
            step = steps[r]
            parts = step.get("calls", [step])
            if "text" in step and not step.get("thought"):
                streamed[i] += count_tokens(step["text"])
            last = r == len(steps) - 1
            cand: dict[str, Any] = {"content": {"role": "model", "parts": parts}}
            if last and reasons[i] is not None:
                cand["finishReason"] = reasons[i]
            if i or not vertex:
                cand["index"] = i
            cands.append(cand)
        chunk: dict[str, Any] = {"candidates": cands}
        if usage:
            produced = sum(streamed) + (sum(len(c or ()) * CALL_TOKENS for c in calls) if r == rows - 1 else 0)
            chunk["usageMetadata"] = usage_metadata(
                prompt_tokens, produced or None, cached=cached, thoughts=thoughts_tokens, vertex=vertex,
                details=r == rows - 1,
            )
        chunk["modelVersion"] = model_version
        if vertex:
            chunk["createTime"] = CREATE_TIME
        chunk["responseId"] = rid
        chunks.append(chunk)
    return chunks


def embedding_values(seed: int = 0, dimensions: int = 8) -> list[float]:
    gen = random.Random(seed)
    return [round(gen.uniform(-0.1, 0.1), 6) for _ in range(dimensions)]


def batch_embed_response(count: int = 1, dimensions: int = 8, *, usage: int | None = None) -> dict[str, Any]:
    """``batchEmbedContents`` (what the SDK calls for every Gemini API ``embed_content``): ``embeddings[]``,
    plus ``usageMetadata.promptTokenCount`` where the API reports it."""
    out: dict[str, Any] = {"embeddings": [{"values": embedding_values(i, dimensions)} for i in range(count)]}
    if usage is not None:
        out["usageMetadata"] = {"promptTokenCount": usage, "totalTokenCount": usage}
    return out


def embed_response(dimensions: int = 8, *, usage: int | None = None) -> dict[str, Any]:
    """``embedContent`` (Vertex, one content, ``gemini-embedding-*``): one ``embedding``."""
    out: dict[str, Any] = {"embedding": {"values": embedding_values(0, dimensions)}}
    if usage is not None:
        out["usageMetadata"] = {"promptTokenCount": usage, "totalTokenCount": usage}
    return out


def vertex_predict_embeddings(token_counts: Sequence[int] = (5,), dimensions: int = 8) -> dict[str, Any]:
    """Vertex ``:predict`` for ``text-embedding-*`` models: per instance ``embeddings.statistics.token_count``,
    and the billable characters in ``metadata``."""
    return {
        "predictions": [
            {"embeddings": {"statistics": {"truncated": False, "token_count": n},
                            "values": embedding_values(i, dimensions)}}
            for i, n in enumerate(token_counts)
        ],
        "metadata": {"billableCharacterCount": sum(token_counts) * 4},
    }


_STATUS = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: ("UNAUTHENTICATED", "Request had invalid authentication credentials."),
    403: ("PERMISSION_DENIED", "The caller does not have permission"),
    404: ("NOT_FOUND", "models/unknown is not found for API version v1beta."),
    429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    500: ("INTERNAL", "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
}


def error_body(code: int = 400, message: str | None = None, status: str | None = None) -> dict[str, Any]:
    """``{"error": {"code", "message", "status"}}`` with the API's usual status and message for ``code``."""
    d_status, d_message = _STATUS.get(code, ("INTERNAL" if code >= 500 else "FAILED_PRECONDITION", f"HTTP {code}"))
    return {"error": {"code": code, "message": message or d_message, "status": status or d_status}}


# ---------------------------------------------------------------------------------------------------------
# SSE
# ---------------------------------------------------------------------------------------------------------


def sse_pieces(chunks: Sequence[Mapping[str, Any]]) -> list[bytes]:
    """One ``data: <json>\\r\\n\\r\\n`` event per chunk (the API frames events with CRLF and sends no end marker)."""
    return [f"data: {_dumps(c)}\r\n\r\n".encode() for c in chunks]


# ---------------------------------------------------------------------------------------------------------
# the fake server
# ---------------------------------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    method: str
    url: str
    path: str
    model: str | None
    action: str | None
    headers: dict[str, str]
    json: Any
    content: bytes = field(repr=False)


Responder = Callable[[Any, RecordedRequest], Any]

_PATH = re.compile(r".*?/(?:models|tunedModels)/([^/:]+):(\w+)$")


def _default_headers(content_type: str) -> dict[str, str]:
    return {"content-type": content_type, "vary": "Origin, X-Origin, Referer", "server": "scaffolding on HTTPServer2",
            "x-content-type-options": "nosniff", "server-timing": "gfet4t7; dur=412"}


class MockGemini:
    """A fake Gemini / Vertex AI server: ``handler(request)`` serves queued answers in order, then defaults.

    Queue answers with :meth:`add_json`, :meth:`add_stream`, :meth:`add_error` or :meth:`add`. With nothing
    queued, :meth:`default_reply` answers by the path's action (``generateContent``,
    ``streamGenerateContent``, ``batchEmbedContents``, ``embedContent``, ``predict``, ``countTokens``),
    honouring ``generationConfig.candidateCount``; anything else gets a 404 error body. Every request is
    recorded in :attr:`requests` with its parsed JSON body, model and action.
    """

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        # The clients built by client(): a genai.Client closes its HTTP clients when it is garbage-collected,
        # so ``client(server).models.generate_content(...)`` needs something to hold it for the call.
        self.clients: list[Any] = []
        self._queue: deque[Responder] = deque()
        self._lock = threading.Lock()

    # -- queueing ---------------------------------------------------------------------------------------

    def add(self, responder: Responder) -> MockGemini:
        self._queue.append(responder)
        return self

    def add_json(self, body: Any, status: int = 200, headers: Mapping[str, str] | None = None, *,
                 delay: float = 0.0) -> MockGemini:
        payload = _dumps(body).encode()
        return self.add(lambda request, _rec: self.response(
            status, "application/json; charset=UTF-8", [payload], request, headers=headers, initial_delay=delay))

    def add_stream(self, chunks: Sequence[Mapping[str, Any]], *, delay: float = 0.0, initial_delay: float = 0.0,
                   fail_after: int | None = None, exc: Any = None) -> MockGemini:
        """Queue SSE chunks (``fail_after`` counts chunks)."""
        pieces = sse_pieces(chunks)
        return self.add(lambda request, _rec: self.response(
            200, "text/event-stream", pieces, request, delay=delay, initial_delay=initial_delay,
            fail_after=fail_after, exc=exc))

    def add_error(self, code: int, message: str | None = None, status: str | None = None) -> MockGemini:
        return self.add_json(error_body(code, message, status), code)

    @property
    def pending(self) -> int:
        return len(self._queue)

    @property
    def last(self) -> RecordedRequest:
        return self.requests[-1]

    # -- serving ----------------------------------------------------------------------------------------

    @staticmethod
    def response(status: int, content_type: str, pieces: Sequence[bytes], request: Any, *,
                 headers: Mapping[str, str] | None = None, delay: float = 0.0, initial_delay: float = 0.0,
                 fail_after: int | None = None, exc: Any = None) -> Any:
        all_headers = _default_headers(content_type)
        all_headers.update(headers or {})
        body = paced_body(HTTP)(pieces, delay=delay, initial_delay=initial_delay, fail_after=fail_after, exc=exc,
                     request=request)
        return HTTP.Response(status, headers=all_headers, stream=body)

    def handler(self, request: Any) -> Any:
        content = request.content
        try:
            parsed = json.loads(content) if content else None
        except ValueError:
            parsed = None
        path = unquote(request.url.path)
        match = _PATH.match(path)
        recorded = RecordedRequest(
            method=request.method, url=str(request.url), path=path,
            model=match.group(1) if match else None, action=match.group(2) if match else None,
            headers={k.lower(): v for k, v in request.headers.items()}, json=parsed, content=content,
        )
        with self._lock:
            self.requests.append(recorded)
            responder = self._queue.popleft() if self._queue else None
        if responder is None:
            return self.default_reply(request, recorded)
        return responder(request, recorded)

    def default_reply(self, request: Any, recorded: RecordedRequest) -> Any:
        body = recorded.json if isinstance(recorded.json, dict) else {}
        vertex = "aiplatform" in recorded.url
        model = recorded.model or DEFAULT_MODEL
        action = recorded.action
        config = body.get("generationConfig") or {}
        n = int(config.get("candidateCount") or 1)
        texts = [DEFAULT_TEXT] if n == 1 else [f"Answer {i}: {DEFAULT_TEXT}" for i in range(n)]
        if recorded.method == "POST" and action == "generateContent":
            cands = [candidate(text=t, index=i, vertex=vertex) for i, t in enumerate(texts)]
            produced = sum(count_tokens(t) for t in texts)
            return self._json(generate_content_response(
                cands, usage=usage_metadata(8, produced, vertex=vertex), model_version=model, vertex=vertex), request)
        if recorded.method == "POST" and action == "streamGenerateContent":
            chunks = stream_chunks(texts, model_version=model, vertex=vertex)
            return self.response(200, "text/event-stream", sse_pieces(chunks), request)
        if recorded.method == "POST" and action == "batchEmbedContents":
            requests = body.get("requests") or [{}]
            dims = (requests[0].get("outputDimensionality") if requests else None) or 8
            return self._json(batch_embed_response(len(requests), int(dims)), request)
        if recorded.method == "POST" and action == "embedContent":
            dims = body.get("outputDimensionality") or (body.get("embedContentConfig") or {}).get(
                "outputDimensionality") or 8
            return self._json(embed_response(int(dims), usage=5), request)
        if recorded.method == "POST" and action == "predict":
            instances = body.get("instances") or [{}]
            return self._json(vertex_predict_embeddings([5] * len(instances)), request)
        if recorded.method == "POST" and action == "countTokens":
            return self._json({"totalTokens": 8, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 8}]},
                              request)
        return self._json(error_body(404, f"{recorded.path} is not found."), request, 404)

    def _json(self, body: Any, request: Any, status: int = 200) -> Any:
        return self.response(status, "application/json; charset=UTF-8", [_dumps(body).encode()], request)


class FakeCredentials:
    """Vertex AI credentials that never touch the network: a fixed, never-expiring bearer token."""

    def __init__(self, token: str = "ya29.test-token") -> None:
        from google.oauth2.credentials import Credentials

        self.credentials = Credentials(token=token)


def client(
    server: MockGemini,
    *,
    vertexai: bool = False,
    api_key: str = "test-api-key",
    base_url: str | None = None,
    project: str = VERTEX_PROJECT,
    location: str = VERTEX_LOCATION,
    **kwargs: Any,
) -> genai.Client:
    """A real ``genai.Client`` whose sync and async HTTP clients send everything to ``server``.

    AI Studio by default (``api_key``); ``vertexai=True`` builds a Vertex AI client for ``project`` /
    ``location`` with offline OAuth credentials (a fixed token, so nothing is refreshed). ``base_url`` sets
    ``HttpOptions.base_url``. Other keyword arguments go to ``genai.Client``. The server keeps the client
    alive (in :attr:`MockGemini.clients`)."""
    transport = HTTP.MockTransport(server.handler)
    options: dict[str, Any] = {"client_args": {"transport": transport},
                               "async_client_args": {"transport": transport}}
    if base_url is not None:
        options["base_url"] = base_url
    http_options = types.HttpOptions(**options)
    if vertexai:
        made = genai.Client(vertexai=True, project=project, location=location,
                            credentials=FakeCredentials().credentials, http_options=http_options, **kwargs)
    else:
        made = genai.Client(vertexai=False, api_key=api_key, http_options=http_options, **kwargs)
    server.clients.append(made)
    return made
