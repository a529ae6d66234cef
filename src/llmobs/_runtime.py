"""The process-wide state behind the recorder: which tracer, meter, price book and content settings to use.

Before ``instrument()`` runs, a default runtime uses the global OpenTelemetry providers (proxies that resolve
once the app configures OTel), captures no content and prices calls with the bundled table.
"""

from __future__ import annotations

import contextvars
import threading
from typing import Any

from . import semconv as sc
from ._config import DEFAULT_MAX_CONTENT_LENGTH
from ._cost import PriceBook
from ._metrics import Metrics
from .version import __version__

# ``llmobs.capture_content(mode)``: a capture mode that replaces the runtime's own in this context (None: none).
capture_override: contextvars.ContextVar[str | None] = contextvars.ContextVar("llmobs_capture_content", default=None)
_override_get = capture_override.get
# Set once ``capture_content()`` is first entered: until then no context can hold an override, and the capture
# checks on every call read the runtime's mode without a context-variable lookup.
override_used = False
_NO_CONTENT = sc.CAPTURE_NO_CONTENT
_ON_SPAN = (sc.CAPTURE_SPAN_ONLY, sc.CAPTURE_SPAN_AND_EVENT)
_IN_EVENT = (sc.CAPTURE_EVENT_ONLY, sc.CAPTURE_SPAN_AND_EVENT)


def mode_of(on_span: bool, in_event: bool) -> str:
    if on_span:
        return sc.CAPTURE_SPAN_AND_EVENT if in_event else sc.CAPTURE_SPAN_ONLY
    return sc.CAPTURE_EVENT_ONLY if in_event else sc.CAPTURE_NO_CONTENT


class Runtime:
    def __init__(
        self,
        tracer: Any,
        meter: Any,
        prices: PriceBook,
        *,
        capture_on_span: bool = False,
        capture_in_event: bool = False,
        max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH,
        metrics_layout: str = "v1.41",
        event_logger: Any = None,
        redactor: Any = None,
    ) -> None:
        self.tracer = tracer
        self._sampler_sees_attributes: bool | None = None
        self.metrics = Metrics(meter, metrics_layout)
        self.prices = prices
        self.set_capture_mode(mode_of(capture_on_span, capture_in_event))
        self.max_content_length = max_content_length
        self.event_logger = event_logger
        self.redactor = redactor  # redact(text, field) -> str, or None (see docs/privacy.md)

    # --- content capture: the runtime's mode, unless ``llmobs.capture_content()`` overrides it here --------
    def set_capture_mode(self, mode: str) -> None:
        self._mode = mode
        self._capture = mode != _NO_CONTENT

    @property
    def capture_mode(self) -> str:
        if not override_used:
            return self._mode
        override = _override_get()
        return self._mode if override is None else override

    @property
    def capture(self) -> bool:
        if not override_used:
            return self._capture
        override = _override_get()
        return self._capture if override is None else override != _NO_CONTENT

    @property
    def capture_on_span(self) -> bool:
        return self.capture_mode in _ON_SPAN

    @property
    def capture_in_event(self) -> bool:
        return self.capture_mode in _IN_EVENT

    @property
    def sampler_sees_attributes(self) -> bool:
        """Decided on first use (the global tracer of the default runtime may be a proxy until the app
        configures OpenTelemetry; a proxy means True, re-checked until it resolves)."""
        known = self._sampler_sees_attributes
        if known is None:
            from ._recorder import sampler_sees_attributes

            delegate = getattr(self.tracer, "_real_tracer", None) or self.tracer
            known = sampler_sees_attributes(delegate)
            if getattr(delegate, "sampler", None) is not None:
                self._sampler_sees_attributes = known
        return known


_lock = threading.Lock()
_current: Runtime | None = None


def get() -> Runtime:
    runtime = _current
    if runtime is None:
        runtime = _default()
    return runtime


def _default() -> Runtime:
    global _current
    with _lock:
        if _current is None:
            from opentelemetry import metrics, trace

            _current = Runtime(
                trace.get_tracer(sc.SCOPE_NAME, __version__, schema_url=sc.SCHEMA_URL),
                metrics.get_meter(sc.SCOPE_NAME, __version__, schema_url=sc.SCHEMA_URL),
                PriceBook(),
            )
        return _current


def set_current(runtime: Runtime | None) -> Runtime | None:
    global _current
    with _lock:
        old, _current = _current, runtime
    return old


def peek() -> Runtime | None:
    return _current
