"""Coexistence with other instrumentations of the same libraries: one LLM span per call, never two.

Other OpenTelemetry instrumentations of the provider SDKs (the official OTel GenAI ones, OpenLLMetry,
OpenInference, OpenLIT, ...) may be active in the same process, typically through
``opentelemetry-instrument``. llmobs **steps aside** wherever another one already records a call:

* **At patch time**: a method llmobs would wrap that another instrumentation has already wrapped (a wrapt
  proxy whose wrapper lives in a known instrumentation package) is left alone; a library whose
  ``competitor_hooks`` (points other instrumentations hook, such as OpenInference's ``OpenAI.request``) are
  wrapped is not patched at all. A warning names the other instrumentation once.
* **At call time**, only once one of those packages has been imported (until then this costs one global
  read per call): a call made while another instrumentation's LLM span is current (it wrapped the method
  after llmobs did, so its wrapper runs first), or while one of the library's hook points is wrapped, passes
  through llmobs unrecorded. It still claims a framework model run in progress, so LangChain or LlamaIndex
  do not record it a second time either.

llmobs never replaces or removes another instrumentation's patches, and never touches the global providers
an app configured. To get llmobs's spans (cost, TTFT) instead, disable the other instrumentation (for
``opentelemetry-instrument``: ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=openai``).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from opentelemetry.trace import get_current_span

from .. import semconv as sc
from .._safety import report

logger = logging.getLogger("llmobs")

# Packages whose wrappers are other instrumentations (not an app's own wrapt decorators).
FOREIGN_PREFIXES = (
    "opentelemetry.instrumentation.", "openinference.instrumentation.", "openlit.", "traceloop.",
    "langfuse.", "logfire.", "ddtrace.", "agentops.", "langtrace_python_sdk.",
)
# Modules whose import means another LLM instrumentation may be active in this process.
COMPETITOR_MODULES = (
    "opentelemetry.instrumentation.openai", "opentelemetry.instrumentation.openai_v2",
    "opentelemetry.instrumentation.anthropic", "opentelemetry.instrumentation.google_genai",
    "opentelemetry.instrumentation.vertexai", "opentelemetry.instrumentation.langchain",
    "opentelemetry.instrumentation.llamaindex",
    "openinference.instrumentation.openai", "openinference.instrumentation.anthropic",
    "openinference.instrumentation.google_genai", "openinference.instrumentation.langchain",
    "openinference.instrumentation.llama_index",
    "openlit", "langfuse.openai", "logfire",
)
_LLM_OPERATIONS = frozenset(sc.LLM_OPERATIONS)
_OWN_SCOPE = sc.SCOPE_NAME

# Set once a competitor module is imported: from then on, invoke() asks defer() on each call.
active = False
# (owner, attribute) points that, when wrapped by another instrumentation, mean it records the call inside.
_inner_hooks: list[tuple[Any, str]] = []
_warned: set[str] = set()
_hooks_registered = False


def foreign_wrapper(obj: Any) -> str | None:
    """The module of another instrumentation's wrapper around ``obj`` (a wrapt proxy chain), else None."""
    for _ in range(8):  # a chain of proxies: look through a few
        wrapper = getattr(obj, "_self_wrapper", None)
        if wrapper is None:
            return None
        module = getattr(wrapper, "__module__", None) or type(wrapper).__module__ or ""
        if module.startswith(FOREIGN_PREFIXES):
            return module
        obj = getattr(obj, "__wrapped__", None)
        if obj is None:
            return None
    return None


def warn_once(library: str, what: str, owner: str) -> None:
    key = f"{library}:{owner}"
    if key in _warned:
        return
    _warned.add(key)
    logger.warning(
        "llmobs: %s (%s) is already instrumented by %s; llmobs leaves those calls to it, so each call has one "
        "LLM span. Disable that instrumentation to get llmobs's spans instead.", library, what, owner,
    )


def add_inner_hooks(hooks: list[tuple[Any, str]]) -> None:
    for hook in hooks:
        if hook not in _inner_hooks:
            _inner_hooks.append(hook)


def hooked(hooks: list[tuple[Any, str]]) -> str | None:
    """The instrumentation wrapping one of ``hooks``, if any."""
    for owner, attr in hooks:
        try:
            found = foreign_wrapper(vars(owner).get(attr))
        except Exception:
            found = None
        if found:
            return found
    return None


def _mark_active(*_: Any) -> None:
    global active
    active = True


def watch() -> None:
    """Turn the call-time check on now if a competitor is already imported, else when one is."""
    global _hooks_registered
    if any(name in sys.modules for name in COMPETITOR_MODULES):
        _mark_active()
    if _hooks_registered:
        return
    _hooks_registered = True
    try:
        import wrapt

        for name in COMPETITOR_MODULES:
            wrapt.register_post_import_hook(_mark_active, name)
    except Exception as exc:
        report("coexist.watch", exc)


def defer() -> bool:
    """True when another instrumentation records the call about to be made (called only when ``active``)."""
    try:
        if _inner_hooks and hooked(_inner_hooks):
            return True
        span = get_current_span()
        if not span.is_recording():
            return False
        scope = getattr(span, "instrumentation_scope", None)
        if scope is not None and getattr(scope, "name", None) == _OWN_SCOPE:
            return False
        attrs = getattr(span, "attributes", None) or {}
        if attrs.get("gen_ai.operation.name") in _LLM_OPERATIONS:  # official GenAI instrumentations
            return True
        if "llm.request.type" in attrs:  # OpenLLMetry
            return True
        return attrs.get("openinference.span.kind") in ("LLM", "EMBEDDING")  # OpenInference
    except Exception as exc:
        report("coexist.defer", exc)
        return False
