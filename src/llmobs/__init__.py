"""llmobs: OpenTelemetry instrumentation for LLM applications.

    import llmobs
    llmobs.instrument()

Importing llmobs imports no provider library, exporter or price table; those load when first needed.
"""

from __future__ import annotations

from ._context import context
from ._errors import ConfigError
from ._manual import LLMCallHandle, SpanHandle, agent, llm_call, score, span, task, tool, workflow
from ._model import LLMCall, Usage
from ._setup import flush, instrument, instrumented_integrations, is_instrumented, shutdown, uninstrument
from .version import __version__

__all__ = [
    "ConfigError",
    "LLMCall",
    "LLMCallHandle",
    "SpanHandle",
    "Usage",
    "__version__",
    "agent",
    "context",
    "flush",
    "instrument",
    "instrumented_integrations",
    "is_instrumented",
    "llm_call",
    "score",
    "shutdown",
    "span",
    "task",
    "tool",
    "uninstrument",
    "workflow",
]
