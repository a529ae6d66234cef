"""What the framework integrations (LangChain/LangGraph, LlamaIndex) share.

Frameworks report runs through callbacks: a start and, later, an end or an error, keyed by a run id. This
module holds the pieces every such integration needs, so each one only maps its framework's shapes:

* ``RunTable``: the bounded map from run id to what llmobs keeps for the run. Entries leave on end or error;
  if a framework never reports the end of a run, the oldest entries are closed once the table is full, so
  memory stays bounded whatever the framework does.
* ``attach`` / ``detach``: make a span current for the run's duration. A run may end in another context than
  it started in (an abandoned async generator is closed by the event loop); detaching is then skipped
  silently instead of logging an error into the app's logs.
* ``enter_model`` / ``exit_model``: the one-LLM-span rule (see ``_recorder.ModelScope``). A model run opens a
  scope; LLM calls recorded while it is current claim it; at the end, ``exit_model`` says whether one did, or
  whether the framework must record the run as its own LLM span (``record_model_run``), back-dated.
* ``provider_name``: the framework's provider labels mapped onto the semconv ``gen_ai.provider.name`` values.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace

from . import _recorder
from ._model import LLMCall, Usage
from ._recorder import ModelScope, _model_scope
from ._safety import report
from .instrumentation import anthropic as _anthropic
from .instrumentation import openai as _openai

_perf = time.perf_counter
_time_ns = time.time_ns
_runtime_context: Any = getattr(otel_context, "_RUNTIME_CONTEXT", None)

# The most runs a framework integration tracks at once. Far above what a process has in flight; reached only
# if a framework loses the end of runs, and then the oldest are closed (marked abandoned) to make room.
MAX_OPEN_RUNS = 10_000


class RunTable:
    """Run id -> state, bounded by ``limit``; ``on_evict(state)`` closes a run pushed out (oldest first)."""

    __slots__ = ("_lock", "limit", "on_evict", "runs")

    def __init__(self, on_evict: Callable[[Any], None], limit: int = MAX_OPEN_RUNS) -> None:
        self.runs: dict[Any, Any] = {}
        self.limit = limit
        self.on_evict = on_evict
        self._lock = threading.Lock()

    def put(self, run_id: Any, state: Any) -> None:
        runs = self.runs
        runs[run_id] = state
        if len(runs) > self.limit:
            self._evict()

    def get(self, run_id: Any) -> Any:
        return self.runs.get(run_id) if run_id is not None else None

    def pop(self, run_id: Any) -> Any:
        return self.runs.pop(run_id, None)

    def __len__(self) -> int:
        return len(self.runs)

    def _evict(self) -> None:
        with self._lock:
            while len(self.runs) > self.limit:
                try:
                    key = next(iter(self.runs))
                    state = self.runs.pop(key, None)
                except (StopIteration, RuntimeError):  # emptied, or changed by another thread: look again
                    continue
                if state is not None:
                    try:
                        self.on_evict(state)
                    except Exception as exc:
                        report("framework.evict", exc)

    def clear(self) -> list[Any]:
        states = list(self.runs.values())
        self.runs.clear()
        return states


def attach(span: Any) -> Any:
    """Make ``span`` current; returns the token for ``detach``."""
    return otel_context.attach(trace.set_span_in_context(span))


def detach(token: Any) -> None:
    """Undo ``attach``; a token from another context (the run ended elsewhere) is dropped silently."""
    if token is None:
        return
    try:
        if _runtime_context is not None:
            _runtime_context.detach(token)
        else:  # pragma: no cover - an API without the runtime context object
            otel_context.detach(token)
    except Exception:
        pass


def enter_model(owner: Any) -> tuple[ModelScope, Any]:
    """Open the scope of a model run. A run started while a sibling's scope (same ``owner``: the parent run)
    is still open joins it: a framework that starts several prompts' runs before running any of them (one
    ``generate`` over a batch) gets one shared count. Returns (scope, token or None)."""
    _recorder.scopes_used = True
    current = _model_scope.get()
    if current is not None and current.members > 0 and owner is not None and current.owner == owner:
        current.members += 1
        return current, None
    scope = ModelScope(owner)
    scope.members = 1
    return scope, _model_scope.set(scope)


def exit_model(scope: ModelScope, token: Any) -> bool:
    """Close one run of ``scope``; True if an LLM call recorded during it claimed it (and uses that claim)."""
    scope.members -= 1
    if token is not None:
        try:
            _model_scope.reset(token)
        except Exception:  # ended in another context than it started in
            pass
    if scope.claimed > 0:
        scope.claimed -= 1
        return True
    return False


_CURRENT: Any = object()


def record_model_run(call: LLMCall, scope: ModelScope, parent: Any, start_ns: int, t0: float,
                     error: BaseException | None = None, claims: ModelScope | None = _CURRENT) -> None:
    """Record a framework's model run as its LLM span, back-dated to when the run started, ending now.

    Call after ``exit_model``. The span claims the enclosing model run (a custom model that wraps another
    model is then recorded once, by the inner one), never its own scope: ``claims`` is that enclosing run,
    by default the scope current here; a framework that knows which it is (or that none is) passes it."""
    if claims is _CURRENT:
        current = _model_scope.get()
        claims = current if current is not scope else None
    span = _recorder.start(call, parent, start_ns=start_ns, t0=t0, claim=False)
    if span is None:
        return
    if claims is not None:
        claims.claimed += 1
    if error is not None:
        _recorder.fail(call, error)
    else:
        _recorder.finish(call)


# Framework provider labels (LangChain's ``ls_provider``, LlamaIndex class names) -> gen_ai.provider.name.
_PROVIDERS = {
    "openai": "openai",
    "azure": "azure.ai.openai",
    "azure_openai": "azure.ai.openai",
    "azureopenai": "azure.ai.openai",
    "anthropic": "anthropic",
    "google_genai": "gcp.gemini",
    "google": "gcp.gemini",
    "gemini": "gcp.gemini",
    "googlegenai": "gcp.gemini",
    "google_vertexai": "gcp.vertex_ai",
    "vertexai": "gcp.vertex_ai",
    "vertex": "gcp.vertex_ai",
    "google_anthropic_vertex": "gcp.vertex_ai",
    "amazon_bedrock": "aws.bedrock",
    "bedrock": "aws.bedrock",
    "bedrock_converse": "aws.bedrock",
    "mistralai": "mistral_ai",
    "mistral": "mistral_ai",
    "cohere": "cohere",
    "groq": "groq",
    "deepseek": "deepseek",
    "xai": "x_ai",
    "perplexity": "perplexity",
    "ollama": "ollama",
    "huggingface": "huggingface",
    "fireworks": "fireworks",
    "together": "together",
    "ibm": "ibm.watsonx.ai",
    "watsonx": "ibm.watsonx.ai",
}


def known_provider(label: Any) -> str | None:
    """The semconv provider name of a label llmobs knows, else None."""
    if not isinstance(label, str) or not label:
        return None
    key = label.lower()
    return _PROVIDERS.get(key) or _PROVIDERS.get(key.replace("-", "_"))


def provider_name(label: Any, default: str = "unknown") -> str:
    if not isinstance(label, str) or not label:
        return default
    key = label.lower()
    return _PROVIDERS.get(key) or _PROVIDERS.get(key.replace("-", "_")) or key


def usage_of(u: Any) -> Usage | None:
    """Usage a framework passes on from the provider (an SDK object or a dict), read by the provider
    integration whose shape it has, with that integration's rules (cached tokens, reasoning, variants)."""
    if u is None:
        return None
    if isinstance(u, dict):
        u = _namespace(u)
    if getattr(u, "prompt_tokens", None) is not None or getattr(u, "completion_tokens", None) is not None:
        return _openai._chat_usage(u)  # Chat Completions shape
    if (getattr(u, "cache_read_input_tokens", None) is not None
            or getattr(u, "cache_creation_input_tokens", None) is not None):
        return _anthropic._message_usage(u)  # Anthropic: input_tokens excludes the cache
    return _openai._responses_usage(u)  # input_tokens / output_tokens (OpenAI Responses and alike)


def _namespace(data: dict[str, Any]) -> Any:
    return SimpleNamespace(**{k: _namespace(v) if isinstance(v, dict) else v for k, v in data.items()})
