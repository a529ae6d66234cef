"""The process-wide state behind the recorder: which tracer, meter, price book and content settings to use.

Before ``instrument()`` runs, a default runtime uses the global OpenTelemetry providers (proxies that resolve
once the app configures OTel), captures no content and prices calls with the bundled table.
"""

from __future__ import annotations

import threading
from typing import Any

from . import semconv as sc
from ._config import DEFAULT_MAX_CONTENT_LENGTH
from ._cost import PriceBook
from ._metrics import Metrics
from .version import __version__


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
    ) -> None:
        self.tracer = tracer
        self._sampler_sees_attributes: bool | None = None
        self.metrics = Metrics(meter, metrics_layout)
        self.prices = prices
        self.capture_on_span = capture_on_span
        self.capture_in_event = capture_in_event
        self.capture = capture_on_span or capture_in_event
        self.max_content_length = max_content_length
        self.event_logger = event_logger


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
