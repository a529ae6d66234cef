"""llmobs: OpenTelemetry instrumentation for LLM applications.

    import llmobs
    llmobs.instrument()

Importing llmobs imports no provider library, exporter or price table; those load when first needed.
"""

from __future__ import annotations

from . import redactors  # the opt-in built-in redactors: llmobs.redactors.emails, ...
from ._context import context
from ._errors import ConfigError
from ._manual import LLMCallHandle, SpanHandle, agent, llm_call, score, span, task, tool, workflow
from ._model import LLMCall, Usage
from ._privacy import capture_content, set_capture_content, set_redactor
from ._setup import flush, instrument, instrumented_integrations, is_instrumented, shutdown, uninstrument
from ._tail_sampling import TailSamplingProcessor
from .version import __version__

__all__ = [
    "ConfigError",
    "LLMCall",
    "LLMCallHandle",
    "SpanHandle",
    "TailSamplingProcessor",
    "Usage",
    "__version__",
    "agent",
    "capture_content",
    "context",
    "flush",
    "instrument",
    "instrumented_integrations",
    "is_instrumented",
    "llm_call",
    "redactors",
    "score",
    "set_capture_content",
    "set_redactor",
    "shutdown",
    "span",
    "task",
    "tool",
    "uninstrument",
    "workflow",
]
