"""``opentelemetry-instrument`` support: one ``BaseInstrumentor`` per built-in integration.

llmobs declares these in the ``opentelemetry_instrumentor`` entry-point group as ``llmobs_openai``,
``llmobs_anthropic``, ``llmobs_google_genai``, ``llmobs_langchain`` and ``llmobs_llama_index``: prefixed, because
plain ``openai`` (and the like) already name other distributions' instrumentors, and
``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`` selects by entry-point name.

All of them share one llmobs runtime: the first one to run calls ``llmobs.instrument(integrations=[])`` (with
the global providers ``opentelemetry-instrument`` configured from ``OTEL_*``, or, with no configurator, llmobs's
own from the same variables), and each turns on its own integration. ``_uninstrument`` turns off only its own.

This module needs the ``opentelemetry-instrumentation`` package (``pip install llmobs[otel-instrument]``);
``import llmobs`` never imports it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

logger = logging.getLogger("llmobs")


def _selected(name: str) -> bool:
    """``LLMOBS_INTEGRATIONS``, when set, limits the integrations here too."""
    from .._config import ENV_INTEGRATIONS, _split

    raw = os.environ.get(ENV_INTEGRATIONS, "").strip()
    return not raw or name in _split(raw)


class _LLMObsInstrumentor(BaseInstrumentor):
    integration = ""
    requirement = ""

    def instrumentation_dependencies(self) -> Collection[str]:
        return (self.requirement,)

    def _instrument(self, **kwargs: Any) -> None:
        from .. import _setup
        from .._errors import ConfigError

        if not _selected(self.integration):
            return
        try:
            _setup.enable_integration(
                self.integration, tracer_provider=kwargs.get("tracer_provider"),
                meter_provider=kwargs.get("meter_provider"),
            )
        except ConfigError as exc:  # the other instrumentors, and the app, carry on
            logger.error("llmobs: %s (%s is not instrumented)", exc, self.integration)

    def _uninstrument(self, **kwargs: Any) -> None:
        from .. import _setup

        _setup.disable_integration(self.integration)


class OpenAIInstrumentor(_LLMObsInstrumentor):
    integration = "openai"
    requirement = "openai >= 2.0"


class AnthropicInstrumentor(_LLMObsInstrumentor):
    integration = "anthropic"
    requirement = "anthropic >= 1.0"


class GoogleGenAIInstrumentor(_LLMObsInstrumentor):
    integration = "google_genai"
    requirement = "google-genai >= 1.75"


class LangChainInstrumentor(_LLMObsInstrumentor):
    integration = "langchain"
    requirement = "langchain-core >= 1.0"


class LlamaIndexInstrumentor(_LLMObsInstrumentor):
    integration = "llama_index"
    requirement = "llama-index-core >= 0.14.5"
