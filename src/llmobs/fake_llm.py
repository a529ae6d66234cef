"""An offline fake LLM server that speaks the OpenAI, Anthropic and Gemini HTTP APIs (and Ollama's native chat).

It is a real HTTP server (stdlib :class:`http.server.ThreadingHTTPServer`, HTTP/1.1 with keep-alive, SSE over
chunked transfer encoding) bound to loopback, so the examples, the demo and the end-to-end tests run the real
provider SDKs, unmodified, without keys or network. Replies are canned but shaped exactly like the providers'
wire formats, deterministic, and their token usage is consistent with their text.

What it serves
--------------

OpenAI (``base_url=f"{url}/v1"``):

* ``POST /v1/chat/completions``: stream and not, ``n`` choices, ``stream_options.include_usage``, tool calls,
  usage with ``prompt_tokens_details.cached_tokens`` and ``completion_tokens_details.reasoning_tokens``.
* ``POST /v1/responses``: stream (typed events ending in ``response.completed``) and not.
* ``POST /v1/embeddings``: float or ``encoding_format="base64"`` (little-endian float32), ``dimensions``.
* ``POST /v1/completions``: the legacy text completions, stream and not (``max_tokens`` defaults to 16 there,
  as in the real API, so the canned reply is cut with ``finish_reason="length"`` unless you raise it).

Anthropic (``base_url=url``):

* ``POST /v1/messages``: stream (``message_start``, ``content_block_start``/``_delta``/``_stop``, ``ping``,
  ``message_delta`` with cumulative usage, ``message_stop``) and not; ``tool_use`` blocks (streamed with
  ``input_json_delta``); ``thinking`` blocks when the request enables extended thinking; prompt caching
  driven by ``cache_control`` breakpoints (``cache_creation_input_tokens`` on first sight of a prefix of at
  least 1024 tokens, ``cache_read_input_tokens`` afterwards).
* ``POST /v1/messages/count_tokens``.

Gemini (``http_options=types.HttpOptions(base_url=url)``):

* ``POST /v1beta/models/{model}:generateContent`` and ``:streamGenerateContent?alt=sse`` (SSE of
  ``GenerateContentResponse`` chunks, ``usageMetadata`` running totals on every chunk), ``functionCall``
  parts, ``thoughtsTokenCount`` for thinking models (2.5 and later, unless ``thinkingBudget`` is 0),
  ``cachedContentTokenCount`` for a repeated prefix of at least 1024 tokens (implicit caching).
* ``:embedContent``, ``:batchEmbedContents`` (what ``client.models.embed_content`` calls) and
  ``:countTokens``. ``/v1/`` (what recent google-genai versions call by default) and ``/v1alpha/`` work as
  well as ``/v1beta/``. Request fields are read in camelCase or snake_case, as the API does.

Ollama's native API (``base_url=url``, e.g. ``httpx.post(f"{url}/api/chat", json=...)``):

* ``POST /api/chat``: streamed as newline-delimited JSON (the default, as in Ollama) or not with
  ``"stream": false``; ``prompt_eval_count`` / ``eval_count`` and the ``*_duration`` fields (nanoseconds) on
  the final object, ``done_reason`` ``stop`` or ``length`` (``options.num_predict``), ``tool_calls`` with
  arguments as an object.

``GET /health`` answers ``{"status": "ok"}``. Any other path gets a 404 with a JSON error body shaped like
the provider the path belongs to.

Behaviour
---------

* Reply text: a short canned sentence echoing the first words of the last user message (after a tool result,
  one echoing the tool's output). Token counts use a fake tokenizer, :func:`count_tokens` (words * 1.3,
  rounded); the prompt counts add a few tokens per message.
* Tool calls: when the request declares tools and the last user message names one of them (or contains the
  word "weather", or the tool choice forces a call), the reply calls the named tool (else the first one) with
  arguments made up from its JSON schema (a location-like string is taken from "... in Paris" in the message).
  After a tool result the model answers in text, so agent loops end.
* Reasoning: OpenAI reasoning models (``o1``/``o3``/``o4``/``gpt-5``...) report reasoning tokens by
  ``reasoning_effort`` (and the Responses API adds a ``reasoning`` output item).
* Caching: OpenAI reports ``cached_tokens`` (multiples of 128) when a request starts with a prefix of at
  least 1024 tokens already sent to the same model on this server.
* Output limits (``max_tokens``, ``max_completion_tokens``, ``max_output_tokens``, ``maxOutputTokens``) cut
  the text and report ``length`` / ``max_tokens`` / ``MAX_TOKENS`` / an ``incomplete`` response.
* Errors on demand: a model name containing ``error-429`` (or any ``error-NNN``) is answered with that status
  and the provider's error body (plus ``retry-after`` on 429/503/529); ``error-500`` gives a 500. A model
  containing ``slow`` waits 2 seconds before answering (for client timeout tests).
* Timing: ``latency`` seconds before the first byte, then ``chunk_delay`` seconds between SSE events; a
  non-streamed reply takes ``latency + chunk_delay * pieces`` as its stream would have.
* Every request (method, path, query, headers, JSON body) is recorded in a bounded list,
  :attr:`FakeLLMServer.requests`. Request lines are not logged unless ``log_requests=True`` (``--verbose``).

Starting it
-----------

In process (port 0 picks a free port)::

    from llmobs.fake_llm import FakeLLMServer

    with FakeLLMServer(port=0, latency=0.0, chunk_delay=0.0) as server:
        openai.OpenAI(base_url=f"{server.url}/v1", api_key="test")
        anthropic.Anthropic(base_url=server.url, api_key="test")
        genai.Client(api_key="test", http_options=types.HttpOptions(base_url=server.url))
        ...
        server.requests[-1].body  # what the SDK sent

From the command line (``llmobs fake-llm`` or ``python -m llmobs.fake_llm``)::

    llmobs fake-llm --port 8089 --latency 0.3 --chunk-delay 0.02
    export OPENAI_BASE_URL=http://127.0.0.1:8089/v1 OPENAI_API_KEY=test
    export ANTHROPIC_BASE_URL=http://127.0.0.1:8089 ANTHROPIC_API_KEY=test
    export GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:8089 GEMINI_API_KEY=test

The SDKs' own retries apply: an ``error-429`` model makes openai and anthropic retry twice (honouring
``retry-after: 1``) unless the client is built with ``max_retries=0``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import zip_longest
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = [
    "DEFAULT_CHUNK_DELAY",
    "DEFAULT_HOST",
    "DEFAULT_LATENCY",
    "DEFAULT_PORT",
    "SLOW_SECONDS",
    "FakeLLMServer",
    "RecordedRequest",
    "count_tokens",
    "main",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8089
DEFAULT_LATENCY = 0.05
"""Seconds before the first byte of an answer."""
DEFAULT_CHUNK_DELAY = 0.01
"""Seconds between two SSE events."""
SLOW_SECONDS = 2.0
"""How long a model whose name contains "slow" waits before answering."""
RETRY_AFTER_SECONDS = 1
MIN_CACHEABLE_TOKENS = 1024
"""The smallest prompt prefix the (fake) prompt caches keep, as in the real APIs."""

SNAPSHOTS: dict[str, str] = {  # alias -> the dated snapshot the API answers with

    "gpt-3.5-turbo": "gpt-3.5-turbo-0125",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "o3": "o3-2025-04-16",
    "o3-mini": "o3-mini-2025-01-31",
    "o4-mini": "o4-mini-2025-04-16",
    "gpt-5": "gpt-5-2025-08-07",
    "gpt-5-mini": "gpt-5-mini-2025-08-07",
    "gpt-5-nano": "gpt-5-nano-2025-08-07",
}
"""OpenAI answers an alias with the dated snapshot it resolved to."""

_REASONING_TOKENS = {"none": 0, "minimal": 0, "low": 64, "medium": 192, "high": 448, "xhigh": 640}
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


# ---------------------------------------------------------------------------------------------------------
# the fake tokenizer and the canned model
# ---------------------------------------------------------------------------------------------------------


def count_tokens(text: str) -> int:
    """The fake tokenizer: ``round(words * 1.3)`` (half up), 0 for blank text."""
    return int(len(text.split()) * 1.3 + 0.5)


def _dumps(obj: Any, indent: int | None = None) -> str:
    if indent is None:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return json.dumps(obj, indent=indent, ensure_ascii=False)


def _text_of(value: Any) -> str:
    """The text in a message content of any provider (string, list of parts/blocks, nested results)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(t for t in (_text_of(v) for v in value) if t)
    if isinstance(value, dict):
        for key in ("text", "thinking", "refusal", "content", "parts", "output"):
            if value.get(key) is not None:
                return _text_of(value[key])
        response = value.get("functionResponse") or value.get("function_response")
        if isinstance(response, dict):
            return _text_of(response.get("response"))
        call = value.get("functionCall") or value.get("function_call")
        if isinstance(call, dict):
            return f"{call.get('name', '')} {json.dumps(call.get('args') or {})}"
        if value.get("type") == "tool_use":
            return f"{value.get('name', '')} {json.dumps(value.get('input') or {})}"
    return json.dumps(value)


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9][\w'\u2019-]*", text)


def _pieces(text: str, words_per_piece: int = 1) -> list[str]:
    """Stream deltas: ``words_per_piece`` words each, leading whitespace kept (``"".join(...) == text``)."""
    words = re.findall(r"\s*\S+", text)
    tail = text[len("".join(words)):]
    if tail and words:
        words[-1] += tail
    step = max(1, words_per_piece)
    return ["".join(words[i:i + step]) for i in range(0, len(words), step)]


def _truncate(text: str, budget: int) -> str:
    out = ""
    for piece in _pieces(text):
        if count_tokens(out + piece) > budget:
            break
        out += piece
    return out


def _reply_text(echo: str, *, after_tool: bool = False, variant: int = 0) -> str:
    quoted = " ".join(_words(echo)[:6])
    if after_tool:
        text = (f'The tool says: "{quoted}". That answers it, from the llmobs fake LLM server.' if quoted
                else "The tool returned nothing, says the llmobs fake LLM server.")
    elif quoted:
        text = f'You said: "{quoted}". This is a canned reply from the llmobs fake LLM server.'
    else:
        text = "Hello! This is a canned reply from the llmobs fake LLM server."
    return f"{text} (Alternative {variant + 1}.)" if variant else text


_PLACE_RE = re.compile(r"\b(?:in|at|for|near|to|from)\s+([A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*)")


def _fake_value(name: str, schema: Any, text: str) -> Any:
    if not isinstance(schema, dict):
        return "example"
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "any_of"):
        if schema.get(key):
            return _fake_value(name, schema[key][0], text)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    kind = str(kind).lower() if kind else ("object" if "properties" in schema else "string")
    n = name.lower()
    if kind == "string":
        if any(k in n for k in ("location", "city", "place", "address", "destination", "region", "country")):
            match = _PLACE_RE.search(text)
            return match.group(1) if match else "Paris"
        if "unit" in n:
            return "celsius"
        if "date" in n:
            return "2025-01-01"
        if "email" in n:
            return "user@example.com"
        if "url" in n:
            return "https://example.com"
        if n == "id" or n.endswith(("_id", "id")):
            return "12345"
        return " ".join(_words(text)[:6]) or "example"
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1.0))
    if kind == "boolean":
        return True
    if kind == "array":
        items = schema.get("items")
        return [_fake_value(name, items, text)] if isinstance(items, dict) else []
    if kind == "object":
        return _tool_arguments(schema, text)
    return None


def _tool_arguments(schema: Any, text: str) -> dict[str, Any]:
    """Plausible arguments for a JSON schema: its required properties (all of them if none is required)."""
    if not isinstance(schema, dict):
        return {}
    props = schema.get("properties") or {}
    required = [p for p in schema.get("required") or [] if p in props] or list(props)
    return {name: _fake_value(name, spec, text) for name, spec in props.items() if name in required}


@dataclass
class _Tool:
    name: str
    schema: Any


@dataclass
class _Seg:
    """One piece of a prompt, in order: a tool definition, a system block, a message (or content block)."""

    key: str
    text: str
    cache_mark: bool = False

    @property
    def tokens(self) -> int:
        return count_tokens(self.text)


@dataclass
class _Prompt:
    segs: list[_Seg] = field(default_factory=list)
    n_messages: int = 0
    echo: str = ""  # the text the reply echoes (last user message, or the tool result)
    after_tool: bool = False  # the last message is a tool result
    tools: list[_Tool] = field(default_factory=list)
    tool_choice: str = "auto"  # "auto" | "none" | "required"
    forced_tool: str | None = None

    def add(self, key_obj: Any, text: str, *, cache_mark: bool = False) -> None:
        self.segs.append(_Seg(_dumps(key_obj), text, cache_mark))

    def input_tokens(self, per_message: int = 3, base: int = 3) -> int:
        return sum(s.tokens for s in self.segs) + per_message * self.n_messages + base

    def set_last(self, turns: list[tuple[str, str]]) -> None:
        """From the (role, text) turns: what to echo, and whether the model is answering a tool result."""
        self.n_messages = len(turns)
        if turns and turns[-1][0] == "tool":
            self.echo, self.after_tool = turns[-1][1], True
            return
        self.echo = next((text for role, text in reversed(turns) if role == "user"), "")


def _choose_tool(prompt: _Prompt) -> _Tool | None:
    if not prompt.tools or prompt.tool_choice == "none":
        return None
    if prompt.forced_tool is not None:
        return next((t for t in prompt.tools if t.name == prompt.forced_tool), prompt.tools[0])
    if prompt.tool_choice == "required":
        return _named_tool(prompt) or prompt.tools[0]
    if prompt.after_tool:
        return None
    named = _named_tool(prompt)
    if named is not None:
        return named
    return prompt.tools[0] if re.search(r"\bweather\b", prompt.echo, re.IGNORECASE) else None


def _named_tool(prompt: _Prompt) -> _Tool | None:
    low = prompt.echo.lower()
    for tool in prompt.tools:
        name = tool.name.lower()
        if name and (name in low or name.replace("_", " ") in low):
            return tool
    return None


@dataclass
class _Answer:
    text: str
    tool: _Tool | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    truncated: bool = False

    @property
    def arguments_json(self) -> str:
        return _dumps(self.arguments)

    @property
    def text_tokens(self) -> int:
        return count_tokens(self.text)

    @property
    def tool_tokens(self) -> int:
        if self.tool is None:
            return 0
        return count_tokens(f"{self.tool.name} {json.dumps(self.arguments)}") + 6

    @property
    def output_tokens(self) -> int:
        return self.text_tokens + self.tool_tokens


def _answer(prompt: _Prompt, *, max_tokens: Any = None, variant: int = 0, preamble: bool = False,
            reserved: int = 0) -> _Answer:
    """The canned model. ``reserved``: output tokens already spent (reasoning) against ``max_tokens``."""
    tool = _choose_tool(prompt)
    if tool is not None:
        text = f"I'll use the {tool.name} tool to help with that." if preamble else ""
        return _Answer(text, tool, _tool_arguments(tool.schema, prompt.echo))
    text = _reply_text(prompt.echo, after_tool=prompt.after_tool, variant=variant)
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool):
        budget = max(0, max_tokens - reserved)
        if count_tokens(text) > budget:
            return _Answer(_truncate(text, budget), truncated=True)
    return _Answer(text)


def _is_reasoning_model(model: str) -> bool:
    return model.startswith(("o1", "o3", "o4", "gpt-5")) and "chat" not in model


def _effort_tokens(effort: Any) -> int:
    return _REASONING_TOKENS.get(str(effort), _REASONING_TOKENS["medium"]) if effort else _REASONING_TOKENS["medium"]


# ---------------------------------------------------------------------------------------------------------
# the recorded requests, the server's state
# ---------------------------------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One request the server received. ``body`` is the parsed JSON (``None`` if empty or not JSON)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    time: float


class _PrefixCache:
    """Which prompt prefixes each model has seen (bounded, least recently used first out)."""

    def __init__(self, maxsize: int = 8192) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._maxsize = maxsize
        self._lock = threading.Lock()

    @staticmethod
    def chain(namespace: str, segs: list[_Seg]) -> list[str]:
        h = hashlib.sha256(namespace.encode())
        out = []
        for seg in segs:
            h.update(b"\x00" + seg.key.encode())
            out.append(h.copy().hexdigest())
        return out

    def seen(self, key: str) -> bool:
        with self._lock:
            if key in self._seen:
                self._seen.move_to_end(key)
                return True
            return False

    def remember(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self._seen[key] = None
                self._seen.move_to_end(key)
            while len(self._seen) > self._maxsize:
                self._seen.popitem(last=False)

    def implicit(self, namespace: str, segs: list[_Seg], granularity: int = 1) -> int:
        """Tokens of the longest already-seen prefix (0 under the cacheable minimum); remembers this prompt."""
        keys = self.chain(namespace, segs)
        cached = 0
        for i in range(len(keys) - 1, -1, -1):
            if self.seen(keys[i]):
                cached = sum(s.tokens for s in segs[:i + 1])
                break
        self.remember(keys)
        if cached < MIN_CACHEABLE_TOKENS:
            return 0
        return cached // granularity * granularity


@dataclass
class _Reply:
    status: int = 200
    body: Any = None
    events: list[bytes] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    indent: int | None = None
    work: int = 0  # pieces a non-streamed answer "generates" (it takes chunk_delay per piece)


class FakeLLMServer:
    """The fake LLM server. ``FakeLLMServer(port=0).start()`` (or ``with FakeLLMServer() as server:``)
    serves on ``server.url`` in a background thread until :meth:`stop`.

    ``latency``: seconds before the first byte; ``chunk_delay``: seconds between SSE events;
    ``log_requests``: log request lines to stderr; ``max_recorded``: how many requests :attr:`requests` keeps.
    """

    def __init__(self, host: str = DEFAULT_HOST, port: int = 0, *, latency: float = DEFAULT_LATENCY,
                 chunk_delay: float = DEFAULT_CHUNK_DELAY, log_requests: bool = False,
                 max_recorded: int = 1000) -> None:
        self.host = host
        self.requested_port = port
        self.latency = latency
        self.chunk_delay = chunk_delay
        self.log_requests = log_requests
        self.slow_seconds = SLOW_SECONDS
        self._recorded: deque[RecordedRequest] = deque(maxlen=max_recorded)
        self._lock = threading.Lock()
        self._counter = 0
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self.cache = _PrefixCache()

    # --- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> FakeLLMServer:
        """Bind and serve in a daemon thread; returns ``self``."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _HTTPServer((self.host, self.requested_port), _Handler)
        httpd.fake = self
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"llmobs-fake-llm:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end open connections (a stream in flight is cut) and close the socket."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the fake LLM server is not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://host:port``, without a trailing slash or an API version."""
        return f"http://{self.host}:{self.port}"

    # --- recorded requests -------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """The requests received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._recorded)

    def clear_requests(self) -> None:
        with self._lock:
            self._recorded.clear()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._recorded.append(request)

    # --- helpers for the handlers ------------------------------------------------------------------------

    def _pause(self, seconds: float) -> bool:
        """Sleep, unless the server stops meanwhile (then False)."""
        if seconds <= 0:
            return not self._stopping.is_set()
        return not self._stopping.wait(seconds)

    def new_id(self, kind: str) -> str:
        """A realistic-looking id, unique on this server and the same from run to run for the same calls."""
        with self._lock:
            self._counter += 1
            n = self._counter
        digest = hashlib.sha256(f"{kind}:{n}".encode()).digest()
        alnum = "".join(_ALNUM[b % 62] for b in digest + hashlib.sha256(digest).digest())
        hexed = hashlib.sha256(digest).hexdigest() + digest.hex()
        if kind == "chatcmpl":
            return "chatcmpl-" + alnum[:29]
        if kind == "cmpl":
            return "cmpl-" + alnum[:29]
        if kind == "call":
            return "call_" + alnum[:24]
        if kind in ("msg_anthropic", "toolu", "req_anthropic"):
            prefix = {"msg_anthropic": "msg_01", "toolu": "toolu_01", "req_anthropic": "req_011C"}[kind]
            return prefix + alnum[:22]
        if kind == "req":
            return "req_" + hexed[:32]
        if kind == "gemini":
            return base64.urlsafe_b64encode(digest[:17]).decode().rstrip("=")
        if kind == "pad":
            return alnum[: 2 + digest[0] % 12]
        if kind == "sig":
            return base64.b64encode(digest * 3).decode()
        return f"{kind}_" + hexed[:50]


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    fake: FakeLLMServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)) or self.fake._stopping.is_set():
            return
        super().handle_error(request, client_address)


# ---------------------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------------------

_OPENAI_ERRORS = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}
_ANTHROPIC_ERRORS = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "not_found_error",
    413: "request_too_large", 429: "rate_limit_error", 500: "api_error", 529: "overloaded_error",
}
_GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}


def _error_message(provider: str, status: int, model: str) -> str:
    if status == 429:
        return {
            "openai": f"Rate limit reached for {model} in organization org-fake on requests per min (RPM): "
                      f"Limit 3, Used 3, Requested 1. Please try again in {RETRY_AFTER_SECONDS}s.",
            "anthropic": "This request would exceed the rate limit for your organization of 50 requests per "
                         "minute. Please reduce the prompt length or the maximum tokens requested, or try "
                         "again later.",
            "gemini": "Resource has been exhausted (e.g. check quota).",
            "ollama": "too many requests, please try again later",
        }[provider]
    if status >= 500:
        return {
            "openai": "The server had an error while processing your request. Sorry about that!",
            "anthropic": "Overloaded" if status == 529 else "Internal server error",
            "gemini": "An internal error has occurred. Please retry or report the problem.",
            "ollama": "an error was encountered while running the model",
        }[provider]
    return f"The fake LLM server answers {status} for model {model!r}."


def _error(server: FakeLLMServer, provider: str, status: int, message: str, *, param: str | None = None,
           code: Any = ...) -> _Reply:
    headers: dict[str, str] = {}
    if status in (429, 503, 529):
        headers["retry-after"] = str(RETRY_AFTER_SECONDS)
    if provider == "anthropic":
        request_id = server.new_id("req_anthropic")
        headers["request-id"] = request_id
        body: Any = {"type": "error", "error": {"type": _ANTHROPIC_ERRORS.get(status, "api_error"),
                                                 "message": message}, "request_id": request_id}
        return _Reply(status, body, headers=headers)
    if provider == "ollama":  # Ollama's errors are a bare string
        return _Reply(status, {"error": message}, headers=headers)
    if provider == "gemini":
        body = {"error": {"code": status, "message": message,
                          "status": _GOOGLE_STATUS.get(status, "INTERNAL" if status >= 500 else "UNKNOWN")}}
        return _Reply(status, body, headers=headers, indent=2)
    kind, default_code = _OPENAI_ERRORS.get(status, ("server_error" if status >= 500 else "invalid_request_error",
                                                     None))
    headers["x-request-id"] = server.new_id("req")
    body = {"error": {"message": message, "type": kind, "param": param,
                      "code": default_code if code is ... else code}}
    return _Reply(status, body, headers=headers, indent=2)


def _error_on_demand(server: FakeLLMServer, provider: str, model: str) -> _Reply | None:
    match = re.search(r"error-(\d{3})", model)
    if not match or not 400 <= int(match.group(1)) <= 599:
        return None
    status = int(match.group(1))
    return _error(server, provider, status, _error_message(provider, status, model))


# ---------------------------------------------------------------------------------------------------------
# SSE encodings
# ---------------------------------------------------------------------------------------------------------


def _sse_data(obj: Any) -> bytes:
    return f"data: {_dumps(obj)}\n\n".encode()


def _sse_typed(obj: dict[str, Any]) -> bytes:
    return f"event: {obj['type']}\ndata: {_dumps(obj)}\n\n".encode()


def _sse_google(obj: Any) -> bytes:
    return f"data: {_dumps(obj)}\r\n\r\n".encode()


_OPENAI_SSE = "text/event-stream; charset=utf-8"


def _openai_headers(server: FakeLLMServer) -> dict[str, str]:
    return {"x-request-id": server.new_id("req"), "openai-processing-ms": "42", "openai-version": "2020-10-01"}


def _positive_int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


def _max_tokens(*values: Any) -> int | None:
    for v in values:
        if isinstance(v, int) and not isinstance(v, bool):
            return v
    return None


# ---------------------------------------------------------------------------------------------------------
# OpenAI
# ---------------------------------------------------------------------------------------------------------


def _openai_tools(tools: Any, *, flat: bool) -> list[_Tool]:
    out = []
    for tool in tools or []:
        if not isinstance(tool, dict) or tool.get("type", "function") != "function":
            continue
        spec = tool if flat else tool.get("function") or {}
        if spec.get("name"):
            out.append(_Tool(spec["name"], spec.get("parameters")))
    return out


def _openai_tool_choice(prompt: _Prompt, choice: Any) -> None:
    if isinstance(choice, str):
        prompt.tool_choice = choice if choice in ("none", "required") else "auto"
    elif isinstance(choice, dict):
        name = choice.get("name") or (choice.get("function") or {}).get("name")
        if name:
            prompt.forced_tool = name


def _chat_prompt(body: dict[str, Any]) -> _Prompt:
    prompt = _Prompt(tools=_openai_tools(body.get("tools"), flat=False))
    _openai_tool_choice(prompt, body.get("tool_choice"))
    for tool in body.get("tools") or []:
        prompt.add(tool, json.dumps(tool))
    turns = []
    for message in body.get("messages") or []:
        role = message.get("role", "user")
        text = _text_of(message.get("content"))
        for call in message.get("tool_calls") or []:
            fn = call.get("function") or {}
            text += f" {fn.get('name', '')} {fn.get('arguments', '')}"
        prompt.add(message, text)
        turns.append(("tool" if role in ("tool", "function") else role, text))
    prompt.set_last(turns)
    return prompt


def _chat_usage(prompt_tokens: int, completion_tokens: int, cached: int, reasoning: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    }


def openai_chat(server: FakeLLMServer, body: dict[str, Any], model: str) -> _Reply:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _error(server, "openai", 400, "[] is too short - 'messages'", param="messages", code="empty_array")
    prompt = _chat_prompt(body)
    n = _positive_int(body.get("n"), 1)
    reasoning = _effort_tokens(body.get("reasoning_effort")) if _is_reasoning_model(model) else 0
    limit = _max_tokens(body.get("max_completion_tokens"), body.get("max_tokens"))
    answers = [_answer(prompt, max_tokens=limit, variant=i, reserved=reasoning) for i in range(n)]
    prompt_tokens = prompt.input_tokens()
    cached = min(prompt_tokens, server.cache.implicit(f"openai:{model}", prompt.segs, granularity=128))
    usage = _chat_usage(prompt_tokens, sum(a.output_tokens + reasoning for a in answers), cached, reasoning * n)
    cid, created, resolved = server.new_id("chatcmpl"), int(time.time()), SNAPSHOTS.get(model, model)
    calls = [server.new_id("call") if a.tool else "" for a in answers]

    def finish(a: _Answer) -> str:
        return "tool_calls" if a.tool else "length" if a.truncated else "stop"

    if not body.get("stream"):
        choices = []
        for i, a in enumerate(answers):
            message: dict[str, Any] = {"role": "assistant", "content": a.text if not a.tool else None}
            if a.tool:
                message["tool_calls"] = [{"id": calls[i], "type": "function",
                                          "function": {"name": a.tool.name, "arguments": a.arguments_json}}]
            message["refusal"] = None
            message["annotations"] = []
            choices.append({"index": i, "message": message, "logprobs": None, "finish_reason": finish(a)})
        out = {"id": cid, "object": "chat.completion", "created": created, "model": resolved, "choices": choices,
               "usage": usage, "service_tier": "default", "system_fingerprint": "fp_560af6e559"}
        work = sum(len(_pieces(a.text)) + (4 if a.tool else 0) for a in answers)
        return _Reply(200, out, headers=_openai_headers(server), indent=2, work=work)

    options = body.get("stream_options") or {}
    include_usage = bool(options.get("include_usage"))
    obfuscate = options.get("include_obfuscation", True) is not False

    def chunk(choices: list[dict[str, Any]], chunk_usage: Any = None) -> bytes:
        out: dict[str, Any] = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": resolved,
                               "service_tier": "default", "system_fingerprint": "fp_560af6e559", "choices": choices}
        if include_usage:
            out["usage"] = chunk_usage
        if obfuscate:
            out["obfuscation"] = server.new_id("pad")
        return _sse_data(out)

    per_choice: list[list[dict[str, Any]]] = []
    for i, a in enumerate(answers):
        deltas: list[dict[str, Any]] = []
        if a.tool:
            head: dict[str, Any] = {"index": 0, "id": calls[i], "type": "function",
                    "function": {"name": a.tool.name, "arguments": ""}}
            deltas.append({"role": "assistant", "content": None, "tool_calls": [head], "refusal": None})
            deltas += [{"tool_calls": [{"index": 0, "function": {"arguments": p}}]}
                       for p in _json_pieces(a.arguments_json)]
        else:
            deltas.append({"role": "assistant", "content": "", "refusal": None})
            deltas += [{"content": p} for p in _pieces(a.text)]
        entries: list[dict[str, Any]] = [{"index": i, "delta": d, "logprobs": None, "finish_reason": None}
                                         for d in deltas]
        entries.append({"index": i, "delta": {}, "logprobs": None, "finish_reason": finish(a)})
        per_choice.append(entries)
    events = [chunk([entry]) for step in zip_longest(*per_choice) for entry in step if entry is not None]
    if include_usage:
        events.append(chunk([], usage))
    events.append(b"data: [DONE]\n\n")
    return _Reply(200, events=events, headers=_openai_headers(server), content_type=_OPENAI_SSE)


def _json_pieces(text: str, size: int = 8) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def openai_completions(server: FakeLLMServer, body: dict[str, Any], model: str) -> _Reply:
    raw = body.get("prompt")
    if isinstance(raw, list) and raw and all(isinstance(p, int) for p in raw):
        prompts = [" ".join(map(str, raw))]
    elif isinstance(raw, list) and raw:
        prompts = [p if isinstance(p, str) else " ".join(map(str, p)) for p in raw]
    else:
        prompts = [raw if isinstance(raw, str) else ""]
    n = _positive_int(body.get("n"), 1)
    limit = _max_tokens(body.get("max_tokens"))
    limit = 16 if body.get("max_tokens") is None else limit  # the legacy API's default
    texts: list[tuple[str, bool]] = []
    for p in prompts:
        prompt = _Prompt(echo=p)
        for i in range(n):
            a = _answer(prompt, max_tokens=limit, variant=i)
            texts.append(("\n\n" + a.text if a.text else "", a.truncated))
    prompt_tokens = sum(max(1, count_tokens(p)) for p in prompts)
    completion_tokens = sum(count_tokens(t) for t, _ in texts)
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
             "total_tokens": prompt_tokens + completion_tokens}
    cid, created = server.new_id("cmpl"), int(time.time())
    if body.get("echo"):
        texts = [(prompts[i // n] + t, cut) for i, (t, cut) in enumerate(texts)]

    if not body.get("stream"):
        choices = [{"text": t, "index": i, "logprobs": None, "finish_reason": "length" if cut else "stop"}
                   for i, (t, cut) in enumerate(texts)]
        out = {"id": cid, "object": "text_completion", "created": created, "model": model, "choices": choices,
               "usage": usage}
        return _Reply(200, out, headers=_openai_headers(server), indent=2,
                      work=sum(len(_pieces(t)) for t, _ in texts))
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

    def chunk(choices: list[dict[str, Any]], chunk_usage: Any = None) -> bytes:
        out: dict[str, Any] = {"id": cid, "object": "text_completion", "created": created, "choices": choices,
                               "model": model}
        if include_usage:
            out["usage"] = chunk_usage
        return _sse_data(out)

    per_choice = []
    for i, (t, cut) in enumerate(texts):
        entries = [{"text": p, "index": i, "logprobs": None, "finish_reason": None} for p in _pieces(t)]
        entries.append({"text": "", "index": i, "logprobs": None, "finish_reason": "length" if cut else "stop"})
        per_choice.append(entries)
    events = [chunk([e]) for step in zip_longest(*per_choice) for e in step if e is not None]
    if include_usage:
        events.append(chunk([], usage))
    events.append(b"data: [DONE]\n\n")
    return _Reply(200, events=events, headers=_openai_headers(server), content_type=_OPENAI_SSE)


def _embedding(text: str, model: str, dimensions: int) -> list[float]:
    """A deterministic unit vector for ``text``, its values exact float32 numbers (they survive base64)."""
    rng = random.Random(hashlib.sha256(f"{model}\x00{text}".encode()).digest())
    values = [rng.gauss(0.0, 1.0) for _ in range(dimensions)]
    norm = sum(v * v for v in values) ** 0.5 or 1.0
    packed = struct.pack(f"<{dimensions}f", *(v / norm for v in values))
    return list(struct.unpack(f"<{dimensions}f", packed))


def openai_embeddings(server: FakeLLMServer, body: dict[str, Any], model: str) -> _Reply:
    raw = body.get("input")
    inputs: list[Any]
    if isinstance(raw, str) or (isinstance(raw, list) and raw and all(isinstance(x, int) for x in raw)):
        inputs = [raw]
    elif isinstance(raw, list) and raw:
        inputs = list(raw)
    else:
        return _error(server, "openai", 400, "'input' : input must be a string or an array of strings",
                      param="input", code=None)
    default_dims = 3072 if "large" in model else 1536
    dims = body.get("dimensions")
    if dims is not None:
        if model == "text-embedding-ada-002":
            return _error(server, "openai", 400, "This model does not support specifying dimensions.",
                          param=None, code=None)
        if not isinstance(dims, int) or not 1 <= dims <= default_dims:
            return _error(server, "openai", 400, f"Invalid value for 'dimensions' = {dims}.",
                          param="dimensions", code=None)
    dimensions = dims or default_dims
    as_base64 = body.get("encoding_format") == "base64"
    data, tokens = [], 0
    for i, item in enumerate(inputs):
        if isinstance(item, list):
            text, item_tokens = " ".join(map(str, item)), len(item)
        else:
            text, item_tokens = str(item), max(1, count_tokens(str(item)))
        tokens += item_tokens
        vector = _embedding(text, model, dimensions)
        encoded: Any = (base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode("ascii")
                        if as_base64 else vector)
        data.append({"object": "embedding", "index": i, "embedding": encoded})
    out = {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
    return _Reply(200, out, headers=_openai_headers(server), indent=2)


def _responses_prompt(body: dict[str, Any]) -> _Prompt:
    prompt = _Prompt(tools=_openai_tools(body.get("tools"), flat=True))
    _openai_tool_choice(prompt, body.get("tool_choice"))
    for tool in body.get("tools") or []:
        prompt.add(tool, json.dumps(tool))
    if body.get("instructions"):
        prompt.add({"instructions": body["instructions"]}, _text_of(body["instructions"]))
    raw = body.get("input")
    items = [{"role": "user", "content": raw}] if isinstance(raw, str) else list(raw or [])
    turns = []
    for item in items:
        if not isinstance(item, dict):
            continue
        kind = item.get("type") or "message"
        if kind == "message":
            role, text = item.get("role", "user"), _text_of(item.get("content"))
        elif kind == "function_call_output":
            role, text = "tool", _text_of(item.get("output"))
        elif kind == "function_call":
            role, text = "assistant", f"{item.get('name', '')} {item.get('arguments', '')}"
        elif kind == "reasoning":
            continue
        else:
            role, text = "assistant", _dumps(item)
        prompt.add(item, text)
        turns.append((role, text))
    prompt.set_last(turns)
    return prompt


def openai_responses(server: FakeLLMServer, body: dict[str, Any], model: str) -> _Reply:
    if body.get("input") in (None, "", []):
        return _error(server, "openai", 400, "Missing required parameter: 'input'.", param="input",
                      code="missing_required_parameter")
    prompt = _responses_prompt(body)
    reasoning_cfg = body.get("reasoning") or {}
    reasoning = _effort_tokens(reasoning_cfg.get("effort")) if _is_reasoning_model(model) else 0
    limit = _max_tokens(body.get("max_output_tokens"))
    a = _answer(prompt, max_tokens=limit, reserved=reasoning)
    input_tokens = prompt.input_tokens()
    cached = min(input_tokens, server.cache.implicit(f"openai:{model}", prompt.segs, granularity=128))
    output_tokens = a.output_tokens + reasoning
    usage = {"input_tokens": input_tokens, "input_tokens_details": {"cached_tokens": cached},
             "output_tokens": output_tokens, "output_tokens_details": {"reasoning_tokens": reasoning},
             "total_tokens": input_tokens + output_tokens}
    status = "incomplete" if a.truncated else "completed"
    created = int(time.time())
    output: list[dict[str, Any]] = []
    if _is_reasoning_model(model):
        output.append({"id": server.new_id("rs"), "type": "reasoning", "summary": []})
    if a.tool:
        output.append({"id": server.new_id("fc"), "type": "function_call", "status": "completed",
                       "arguments": a.arguments_json, "call_id": server.new_id("call"), "name": a.tool.name})
    else:
        output.append({"id": server.new_id("msg"), "type": "message", "status": status, "content": [
            {"type": "output_text", "annotations": [], "logprobs": [], "text": a.text}], "role": "assistant"})
    effort = reasoning_cfg.get("effort") or ("medium" if _is_reasoning_model(model) else None)
    final: dict[str, Any] = {
        "id": server.new_id("resp"), "object": "response", "created_at": created, "status": status,
        "background": bool(body.get("background", False)),
        "completed_at": created + 1 if status == "completed" else None, "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if a.truncated else None,
        "instructions": body.get("instructions"), "max_output_tokens": limit,
        "max_tool_calls": body.get("max_tool_calls"), "model": SNAPSHOTS.get(model, model), "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": body.get("prompt_cache_key"),
        "reasoning": {"effort": effort, "summary": reasoning_cfg.get("summary")},
        "safety_identifier": body.get("safety_identifier"), "service_tier": "default",
        "store": body.get("store", True), "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools") or [],
        "top_logprobs": body.get("top_logprobs", 0), "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"), "usage": usage, "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }
    if not body.get("stream"):
        return _Reply(200, final, headers=_openai_headers(server), indent=2, work=len(_pieces(a.text)))

    events: list[dict[str, Any]] = []

    def emit(kind: str, **fields: Any) -> None:
        events.append({"type": kind, "sequence_number": len(events), **fields})

    snapshot = {**final, "status": "in_progress", "completed_at": None, "incomplete_details": None, "output": [],
                "service_tier": "auto", "usage": None}
    emit("response.created", response=snapshot)
    emit("response.in_progress", response=snapshot)
    for oi, item in enumerate(output):
        if item["type"] == "message":
            where = {"item_id": item["id"], "output_index": oi, "content_index": 0}
            emit("response.output_item.added", output_index=oi, item={**item, "status": "in_progress", "content": []})
            emit("response.content_part.added", **where,
                 part={"type": "output_text", "annotations": [], "logprobs": [], "text": ""})
            for p in _pieces(a.text):
                emit("response.output_text.delta", **where, delta=p, logprobs=[], obfuscation=server.new_id("pad"))
            emit("response.output_text.done", **where, text=a.text, logprobs=[])
            emit("response.content_part.done", **where, part=item["content"][0])
        elif item["type"] == "function_call":
            emit("response.output_item.added", output_index=oi, item={**item, "status": "in_progress",
                                                                       "arguments": ""})
            for p in _json_pieces(item["arguments"]):
                emit("response.function_call_arguments.delta", item_id=item["id"], output_index=oi, delta=p,
                     obfuscation=server.new_id("pad"))
            emit("response.function_call_arguments.done", item_id=item["id"], output_index=oi, name=item["name"],
                 arguments=item["arguments"])
        else:
            emit("response.output_item.added", output_index=oi, item=item)
        emit("response.output_item.done", output_index=oi, item=item)
    emit("response.incomplete" if a.truncated else "response.completed", response=final)
    return _Reply(200, events=[_sse_typed(e) for e in events], headers=_openai_headers(server),
                  content_type=_OPENAI_SSE)


# ---------------------------------------------------------------------------------------------------------
# Anthropic
# ---------------------------------------------------------------------------------------------------------


def _uncached(block: Any) -> Any:
    """A block without its ``cache_control`` marker: moving a breakpoint does not change the prefix."""
    return {k: v for k, v in block.items() if k != "cache_control"} if isinstance(block, dict) else block


def _anthropic_prompt(body: dict[str, Any]) -> _Prompt:
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict) and t.get("name")]
    prompt = _Prompt(tools=[_Tool(t["name"], t.get("input_schema")) for t in tools
                            if "input_schema" in t or t.get("type") in (None, "custom")])
    choice = body.get("tool_choice") or {}
    if choice.get("type") == "none":
        prompt.tool_choice = "none"
    elif choice.get("type") == "any":
        prompt.tool_choice = "required"
    elif choice.get("type") == "tool":
        prompt.forced_tool = choice.get("name")
    for tool in tools:
        prompt.add(_uncached(tool), json.dumps(_uncached(tool)),
                   cache_mark="cache_control" in tool)
    system = body.get("system")
    for block in [{"type": "text", "text": system}] if isinstance(system, str) else system or []:
        prompt.add({"system": _uncached(block)}, _text_of(block), cache_mark="cache_control" in block)
    turns = []
    for message in body.get("messages") or []:
        role, content = message.get("role", "user"), message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else list(content or [])
        for block in blocks:
            mark = isinstance(block, dict) and "cache_control" in block
            prompt.add({"role": role, "block": _uncached(block)}, _text_of(block), cache_mark=mark)
        kinds = {b.get("type") for b in blocks if isinstance(b, dict)}
        text = " ".join(_text_of(b) for b in blocks)
        turns.append(("tool" if role == "user" and "tool_result" in kinds and "text" not in kinds else role, text))
    prompt.set_last(turns)
    return prompt


def _anthropic_cache(server: FakeLLMServer, model: str, prompt: _Prompt) -> tuple[int, int]:
    """(cache_read, cache_creation) tokens from the request's cache_control breakpoints."""
    keys = _PrefixCache.chain(f"anthropic:{model}", prompt.segs)
    sizes, total = [], 0
    for seg in prompt.segs:
        total += seg.tokens
        sizes.append(total)
    marks = [i for i, s in enumerate(prompt.segs) if s.cache_mark and sizes[i] >= MIN_CACHEABLE_TOKENS]
    if not marks:
        return 0, 0
    read = next((sizes[i] for i in reversed(marks) if server.cache.seen(keys[i])), 0)
    creation = sizes[marks[-1]] - read
    server.cache.remember(keys[i] for i in marks)
    return read, creation


def _anthropic_counts(server: FakeLLMServer, body: dict[str, Any], model: str) -> tuple[_Prompt, int, int, int]:
    prompt = _anthropic_prompt(body)
    read, creation = _anthropic_cache(server, model, prompt)
    total = prompt.input_tokens(per_message=3, base=4)
    return prompt, total - read - creation, read, creation


def anthropic_count_tokens(server: FakeLLMServer, body: dict[str, Any], model: str) -> _Reply:
    prompt = _anthropic_prompt(body)
    return _Reply(200, {"input_tokens": prompt.input_tokens(per_message=3, base=4)},
                  headers={"request-id": server.new_id("req_anthropic")})


def anthropic_messages(server: FakeLLMServer, body: dict[str, Any], model: str) -> _Reply:
    limit = _max_tokens(body.get("max_tokens"))
    if limit is None:
        return _error(server, "anthropic", 400, "max_tokens: Field required")
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        return _error(server, "anthropic", 400, "messages: Field required")
    prompt, input_tokens, read, creation = _anthropic_counts(server, body, model)
    thinking_cfg = body.get("thinking") or {}
    thinking = ""
    if thinking_cfg.get("type") in ("enabled", "adaptive"):
        quoted = " ".join(_words(prompt.echo)[:6]) or "nothing in particular"
        tool = _choose_tool(prompt)
        plan = f"The {tool.name} tool can answer that." if tool else "A short canned answer is enough here."
        thinking = f'The {"tool result" if prompt.after_tool else "user"} says "{quoted}". {plan}'
    thinking_tokens = count_tokens(thinking)
    a = _answer(prompt, max_tokens=limit, reserved=thinking_tokens,
                preamble=prompt.tool_choice == "auto" and prompt.forced_tool is None)
    output_tokens = thinking_tokens + a.output_tokens
    stop_reason = "tool_use" if a.tool else "max_tokens" if a.truncated else "end_turn"
    msg_id = server.new_id("msg_anthropic")
    signature = server.new_id("sig") if thinking else ""
    tool_id = server.new_id("toolu") if a.tool else ""
    headers = {"request-id": server.new_id("req_anthropic")}
    ttl_1h = '"ttl":"1h"' in _dumps(body)  # a 1-hour breakpoint (simplified: any of them)
    usage: dict[str, Any] = {
        "input_tokens": input_tokens, "cache_creation_input_tokens": creation, "cache_read_input_tokens": read,
        "cache_creation": {"ephemeral_5m_input_tokens": 0 if ttl_1h else creation,
                           "ephemeral_1h_input_tokens": creation if ttl_1h else 0},
        "output_tokens": output_tokens, "service_tier": "standard",
    }
    content: list[dict[str, Any]] = []
    if thinking:
        content.append({"type": "thinking", "thinking": thinking, "signature": signature})
    if a.text or not a.tool:
        content.append({"type": "text", "text": a.text})
    if a.tool:
        content.append({"type": "tool_use", "id": tool_id, "name": a.tool.name, "input": a.arguments})
    message: dict[str, Any] = {"id": msg_id, "type": "message", "role": "assistant", "model": model,
                               "content": content, "stop_reason": stop_reason, "stop_sequence": None,
                               "usage": usage}
    if not body.get("stream"):
        return _Reply(200, message, headers=headers, work=len(_pieces(thinking)) + len(_pieces(a.text)))

    start_usage = {**usage, "output_tokens": 1}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": {
        **message, "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}}]
    for index, block in enumerate(content):
        if block["type"] == "thinking":
            events.append({"type": "content_block_start", "index": index,
                           "content_block": {"type": "thinking", "thinking": "", "signature": ""}})
            events += [{"type": "content_block_delta", "index": index,
                        "delta": {"type": "thinking_delta", "thinking": p}} for p in _pieces(thinking, 2)]
            events.append({"type": "content_block_delta", "index": index,
                           "delta": {"type": "signature_delta", "signature": signature}})
        elif block["type"] == "text":
            events.append({"type": "content_block_start", "index": index,
                           "content_block": {"type": "text", "text": ""}})
            events += [{"type": "content_block_delta", "index": index,
                        "delta": {"type": "text_delta", "text": p}} for p in _pieces(a.text)]
        else:
            events.append({"type": "content_block_start", "index": index,
                           "content_block": {"type": "tool_use", "id": tool_id, "name": block["name"], "input": {}}})
            events += [{"type": "content_block_delta", "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": p}}
                       for p in ["", *_json_pieces(a.arguments_json)]]
        events.append({"type": "content_block_stop", "index": index})
    events.insert(2, {"type": "ping"})  # the API pings once, right after the first content_block_start
    events.append({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                   "usage": {"input_tokens": input_tokens, "cache_creation_input_tokens": creation,
                             "cache_read_input_tokens": read, "output_tokens": output_tokens}})
    events.append({"type": "message_stop"})
    return _Reply(200, events=[_sse_typed(e) for e in events], headers=headers,
                  content_type="text/event-stream; charset=utf-8")


# ---------------------------------------------------------------------------------------------------------
# Ollama's native API
# ---------------------------------------------------------------------------------------------------------


def _ollama_time() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"


def ollama_chat(server: FakeLLMServer, body: dict[str, Any], model: str) -> _Reply:
    """``POST /api/chat``: NDJSON chunks (``"done": false``) then a final object with the counts, or one object
    with ``"stream": false``. Durations are nanoseconds, as in Ollama."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return _error(server, "ollama", 400, "messages must be a list")
    prompt = _chat_prompt(body)  # Ollama's messages and tools have OpenAI's shape
    options = body.get("options")
    limit = _max_tokens(options.get("num_predict")) if isinstance(options, dict) else None
    a = _answer(prompt, max_tokens=limit if limit is not None and limit >= 0 else None)
    prompt_tokens = prompt.input_tokens(per_message=4, base=0)
    message: dict[str, Any] = {"role": "assistant", "content": a.text}
    if a.tool is not None:
        message["tool_calls"] = [{"function": {"name": a.tool.name, "arguments": a.arguments}}]
    eval_ns = int(a.output_tokens * 12.5e6)  # a local model generating 80 tokens/s
    final = {"done_reason": "length" if a.truncated else "stop", "done": True,
             "total_duration": eval_ns + 150_000_000, "load_duration": 20_000_000,
             "prompt_eval_count": prompt_tokens, "prompt_eval_duration": 130_000_000,
             "eval_count": a.output_tokens, "eval_duration": eval_ns}
    if body.get("stream") is False:
        return _Reply(200, {"model": model, "created_at": _ollama_time(), "message": message, **final},
                      content_type="application/json; charset=utf-8", work=len(_pieces(a.text)))
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": p} for p in _pieces(a.text)]
    if a.tool is not None:
        deltas.append({"role": "assistant", "content": "", "tool_calls": message["tool_calls"]})
    events = [{"model": model, "created_at": _ollama_time(), "message": d, "done": False} for d in deltas]
    events.append({"model": model, "created_at": _ollama_time(), "message": {"role": "assistant", "content": ""},
                   **final})
    return _Reply(200, events=[(_dumps(e) + "\n").encode() for e in events],
                  content_type="application/x-ndjson")


# ---------------------------------------------------------------------------------------------------------
# Gemini
# ---------------------------------------------------------------------------------------------------------


def _g(obj: Any, name: str) -> Any:
    """``obj[name]`` for a camelCase Gemini field, or its snake_case spelling: the API's JSON parser takes both,
    and the google-genai SDK sends some nested fields (``thinkingConfig``'s) in snake_case."""
    if not isinstance(obj, dict):
        return None
    if name in obj:
        return obj[name]
    return obj.get(re.sub(r"(?<!^)([A-Z])", lambda m: "_" + m.group(1).lower(), name))


def _gemini_prompt(body: dict[str, Any]) -> _Prompt:
    prompt = _Prompt()
    for tool in body.get("tools") or []:
        for decl in _g(tool, "functionDeclarations") or []:
            prompt.tools.append(_Tool(decl.get("name", ""), decl.get("parameters") or _g(decl, "parametersJsonSchema")))
            prompt.add(decl, json.dumps(decl))
    calling = _g(_g(body, "toolConfig"), "functionCallingConfig") or {}
    mode = str(calling.get("mode", "AUTO")).upper()
    if mode == "NONE":
        prompt.tool_choice = "none"
    elif mode == "ANY":
        allowed = _g(calling, "allowedFunctionNames") or []
        if len(allowed) == 1:
            prompt.forced_tool = allowed[0]
        prompt.tool_choice = "required"
    if _g(body, "systemInstruction"):
        prompt.add({"systemInstruction": _g(body, "systemInstruction")}, _text_of(_g(body, "systemInstruction")))
    turns = []
    contents = body.get("contents") or []
    for content in [contents] if isinstance(contents, dict) else contents:
        parts = content.get("parts") or []
        text = " ".join(_text_of(p) for p in parts)
        prompt.add(content, text)
        has_response = any(_g(p, "functionResponse") for p in parts)
        has_text = any("text" in p for p in parts if isinstance(p, dict))
        role = content.get("role", "user")
        turns.append(("tool" if has_response and not has_text else role, text))
    prompt.set_last(turns)
    return prompt


def _gemini_thoughts(model: str, config: dict[str, Any]) -> int:
    thinking = _g(config, "thinkingConfig") or {}
    budget = _g(thinking, "thinkingBudget")
    if budget == 0:
        return 0
    if not (thinking or re.search(r"gemini-(2\.5|[3-9])", model)):
        return 0
    if isinstance(budget, int) and budget > 0:
        return min(budget, _REASONING_TOKENS["medium"])
    return _effort_tokens(str(_g(thinking, "thinkingLevel") or "medium").lower())


def _gemini_model_path(path: str) -> tuple[str, str] | None:
    match = re.fullmatch(r"/(?:v1beta|v1|v1alpha)/(?:models/)?([^/:]+):(\w+)", unquote(path))
    return (match.group(1), match.group(2)) if match else None


def gemini_generate(server: FakeLLMServer, body: dict[str, Any], model: str, *, stream: bool) -> _Reply:
    if not body.get("contents"):
        return _error(server, "gemini", 400, "* GenerateContentRequest.contents: contents is not specified")
    prompt = _gemini_prompt(body)
    config = _g(body, "generationConfig") or {}
    thoughts = _gemini_thoughts(model, config)
    count = _positive_int(_g(config, "candidateCount"), 1)
    limit = _max_tokens(_g(config, "maxOutputTokens"))
    answers = [_answer(prompt, max_tokens=limit, variant=i, reserved=thoughts) for i in range(count)]
    prompt_tokens = max(1, prompt.input_tokens(per_message=0, base=0))
    cached = min(prompt_tokens, server.cache.implicit(f"gemini:{model}", prompt.segs))
    include_thoughts = bool(_g(_g(config, "thinkingConfig"), "includeThoughts")) and thoughts > 0
    thought_text = (f'**Answering briefly**\n\nThe user wrote "{" ".join(_words(prompt.echo)[:6])}". '
                    "A short canned answer will do.")
    response_id = server.new_id("gemini")

    def usage(candidates: int, final: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"promptTokenCount": prompt_tokens, "candidatesTokenCount": candidates,
                               "totalTokenCount": prompt_tokens + candidates + thoughts}
        if cached:
            out["cachedContentTokenCount"] = cached
        out["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt_tokens}]
        if cached:
            out["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": cached}]
        if final and candidates:
            out["candidatesTokensDetails"] = [{"modality": "TEXT", "tokenCount": candidates}]
        if thoughts:
            out["thoughtsTokenCount"] = thoughts
        return out

    def finish(a: _Answer) -> str:
        return "MAX_TOKENS" if a.truncated else "STOP"

    def call_part(a: _Answer) -> dict[str, Any]:
        assert a.tool is not None
        return {"functionCall": {"name": a.tool.name, "args": a.arguments}}

    if not stream:
        candidates = []
        for i, a in enumerate(answers):
            parts: list[dict[str, Any]] = [{"text": thought_text, "thought": True}] if include_thoughts else []
            parts.append(call_part(a) if a.tool else {"text": a.text})
            candidates.append({"content": {"parts": parts, "role": "model"}, "finishReason": finish(a), "index": i})
        out = {"candidates": candidates, "usageMetadata": usage(sum(a.output_tokens for a in answers), True),
               "modelVersion": model, "responseId": response_id}
        return _Reply(200, out, indent=2, content_type="application/json; charset=UTF-8",
                      work=sum(len(_pieces(a.text, 3)) for a in answers))

    # per candidate: the parts of each chunk; a chunk's usage counts the text streamed so far
    per_candidate: list[list[tuple[dict[str, Any], int, bool]]] = []
    for a in answers:
        steps: list[tuple[dict[str, Any], int, bool]] = []
        if include_thoughts:
            steps.append(({"text": thought_text, "thought": True}, 0, False))
        if a.tool:
            steps.append((call_part(a), a.output_tokens, True))
        else:
            pieces, so_far = _pieces(a.text, 3) or [""], ""
            for j, p in enumerate(pieces):
                so_far += p
                steps.append(({"text": p}, count_tokens(so_far), j == len(pieces) - 1))
        per_candidate.append(steps)
    events, streamed = [], [0] * len(answers)
    rows = list(zip_longest(*per_candidate))
    for r, row in enumerate(rows):
        candidates = []
        for i, step in enumerate(row):
            if step is None:
                continue
            part, tokens, last = step
            streamed[i] = tokens
            cand: dict[str, Any] = {"content": {"parts": [part], "role": "model"}}
            if last:
                cand["finishReason"] = finish(answers[i])
            cand["index"] = i
            candidates.append(cand)
        events.append(_sse_google({"candidates": candidates, "usageMetadata": usage(sum(streamed), r == len(rows) - 1),
                                   "modelVersion": model, "responseId": response_id}))
    return _Reply(200, events=events, content_type="text/event-stream")


def gemini_embed(server: FakeLLMServer, body: dict[str, Any], model: str, *, batch: bool) -> _Reply:
    default_dims = 3072 if "gemini-embedding" in model else 768
    requests = body.get("requests") if batch else [body]
    if not isinstance(requests, list) or not requests:
        return _error(server, "gemini", 400, "* BatchEmbedContentsRequest.requests: requests is not specified")
    embeddings = []
    for req in requests:
        dims = _g(req, "outputDimensionality") or _g(_g(req, "embedContentConfig"), "outputDimensionality")
        text = _text_of(req.get("content"))
        embeddings.append({"values": _embedding(text, model, dims if isinstance(dims, int) and dims > 0
                                                 else default_dims)})
    out = {"embeddings": embeddings} if batch else {"embedding": embeddings[0]}
    return _Reply(200, out, indent=2, content_type="application/json; charset=UTF-8")


def gemini_count_tokens(server: FakeLLMServer, body: dict[str, Any], model: str) -> _Reply:
    request = _g(body, "generateContentRequest") or body
    tokens = max(1, _gemini_prompt(request).input_tokens(per_message=0, base=0)) if request.get("contents") else 0
    return _Reply(200, {"totalTokens": tokens, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": tokens}]},
                  indent=2, content_type="application/json; charset=UTF-8")


# ---------------------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------------------

_OPENAI_ROUTES = {
    "/v1/chat/completions": openai_chat,
    "/v1/responses": openai_responses,
    "/v1/embeddings": openai_embeddings,
    "/v1/completions": openai_completions,
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "llmobs-fake-llm"
    sys_version = ""
    timeout = 120
    # Headers and body go out in separate writes: with Nagle's algorithm the second waited for the client's
    # delayed ACK, ~40 ms per reply on a kept-alive connection (and every streamed chunk paced by it).
    disable_nagle_algorithm = True
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        with self.server.fake._lock:
            self.server.fake._connections.add(self.connection)

    def finish(self) -> None:
        with self.server.fake._lock:
            self.server.fake._connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.fake.log_requests:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    # --- request ---------------------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self, method: str) -> None:
        fake = self.server.fake
        split = urlsplit(self.path)
        path = split.path.rstrip("/") or "/"
        raw = self._read_body()
        body: Any = None
        bad_json = False
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                bad_json = True
        fake._record(RecordedRequest(method, path, dict(parse_qsl(split.query)),
                                     {k.lower(): v for k, v in self.headers.items()}, body, time.time()))
        try:
            reply = self._route(method, path, split.query, body, bad_json)
        except Exception as exc:  # a bug in the fake: say so, loudly, in the answer and on stderr
            traceback.print_exc()
            reply = _error(fake, _provider_of(path), 500, f"llmobs fake LLM server bug: {exc!r}")
        self._send(reply)

    def _route(self, method: str, path: str, query: str, body: Any, bad_json: bool) -> _Reply:
        fake = self.server.fake
        provider = _provider_of(path)
        if method == "GET":
            if path == "/health":
                return _Reply(200, {"status": "ok"})
            return _error(fake, provider, 404, f"Invalid URL (GET {path})", code=None)
        gemini = _gemini_model_path(path) if provider == "gemini" else None
        known = path in _OPENAI_ROUTES or path in ("/v1/messages", "/v1/messages/count_tokens", "/api/chat") or (
            gemini is not None and gemini[1] in ("generateContent", "streamGenerateContent", "embedContent",
                                                 "batchEmbedContents", "countTokens"))
        if not known:
            return _error(fake, provider, 404, f"Invalid URL (POST {path})", code=None)
        if bad_json or not isinstance(body, dict):
            return _error(fake, provider, 400, "We could not parse the JSON body of your request.", code=None)
        model = gemini[0] if gemini is not None else str(body.get("model") or "")
        if not model:
            return _error(fake, provider, 400, "model: Field required" if provider == "anthropic"
                          else "you must provide a model parameter", param="model", code=None)
        reply = _error_on_demand(fake, provider, model)
        if reply is not None:
            return reply
        if "slow" in model and not fake._pause(fake.slow_seconds):
            return _error(fake, provider, 503, "The fake LLM server is stopping.")
        if path in _OPENAI_ROUTES:
            return _OPENAI_ROUTES[path](fake, body, model)
        if path == "/v1/messages":
            return anthropic_messages(fake, body, model)
        if path == "/v1/messages/count_tokens":
            return anthropic_count_tokens(fake, body, model)
        if path == "/api/chat":
            return ollama_chat(fake, body, model)
        assert gemini is not None
        action = gemini[1]
        if action in ("generateContent", "streamGenerateContent"):
            return gemini_generate(fake, body, model, stream=action == "streamGenerateContent")
        if action == "countTokens":
            return gemini_count_tokens(fake, body, model)
        return gemini_embed(fake, body, model, batch=action == "batchEmbedContents")

    # --- response --------------------------------------------------------------------------------------------

    def _send(self, reply: _Reply) -> None:
        fake = self.server.fake
        wait = fake.latency + (fake.chunk_delay * reply.work if reply.events is None else 0.0)
        if not fake._pause(wait):
            self.close_connection = True
            return
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.events is None:
                data = _dumps(reply.body, reply.indent).encode()
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i, event in enumerate(reply.events):
                if i and not fake._pause(fake.chunk_delay):
                    self.close_connection = True
                    return
                self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        except (ConnectionError, TimeoutError):
            self.close_connection = True


def _provider_of(path: str) -> str:
    if re.match(r"/v1(beta|alpha)?/(models|tunedModels)/[^/]*:", path) or path.startswith(("/v1beta", "/v1alpha")):
        return "gemini"
    if path.startswith("/v1/messages"):
        return "anthropic"
    if path.startswith("/api/"):
        return "ollama"
    return "openai"


# ---------------------------------------------------------------------------------------------------------
# the command line
# ---------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``llmobs fake-llm``: serve until interrupted (Ctrl-C or SIGTERM)."""
    parser = argparse.ArgumentParser(
        prog="llmobs fake-llm",
        description="An offline fake LLM server speaking the OpenAI, Anthropic and Gemini HTTP APIs.")
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port to bind, 0 for a free one (default {DEFAULT_PORT})")
    parser.add_argument("--latency", type=float, default=DEFAULT_LATENCY,
                        help=f"seconds before the first byte of an answer (default {DEFAULT_LATENCY})")
    parser.add_argument("--chunk-delay", type=float, default=DEFAULT_CHUNK_DELAY,
                        help=f"seconds between two streamed events (default {DEFAULT_CHUNK_DELAY})")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each request line to stderr")
    args = parser.parse_args(argv)
    server = FakeLLMServer(args.host, args.port, latency=args.latency, chunk_delay=args.chunk_delay,
                           log_requests=args.verbose)
    try:
        server.start()
    except OSError as exc:
        print(f"llmobs fake-llm: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    done = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda *_: done.set())
    url = server.url
    print(f"llmobs fake LLM server listening on {url}\n"
          f"  OpenAI:    OPENAI_BASE_URL={url}/v1 OPENAI_API_KEY=test\n"
          f"  Anthropic: ANTHROPIC_BASE_URL={url} ANTHROPIC_API_KEY=test\n"
          f"  Gemini:    GOOGLE_GEMINI_BASE_URL={url} GEMINI_API_KEY=test\n"
          "Models named *error-429* / *error-500* fail, *slow* wait 2 s. Ctrl-C to stop.", flush=True)
    try:
        while not done.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0


if __name__ == "__main__":
    sys.exit(main())
