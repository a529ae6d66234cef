"""``instrument()``, ``uninstrument()``, ``flush()`` and ``shutdown()``.

Providers: an explicit ``tracer_provider=`` / ``meter_provider=`` wins; else a global provider the app already
set is used as it is (no exporter added, nothing replaced); else llmobs creates SDK providers with the
configured exporters and sets them as the globals, so other instrumentations (HTTP clients) export too.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
from typing import Any

from opentelemetry import metrics, trace

from . import _privacy, _runtime
from . import instrumentation as registry
from . import semconv as sc
from ._config import Config, SignalExport, load_config
from ._context import stamp_spans_of
from ._cost import PriceBook
from ._runtime import Runtime
from ._safety import report
from .instrumentation import _coexist
from .version import __version__

logger = logging.getLogger("llmobs")

_lock = threading.RLock()


class _State:
    def __init__(self, config: Config, runtime: Runtime, tracer_provider: Any, meter_provider: Any,
                 logger_provider: Any) -> None:
        self.config = config
        self.runtime = runtime
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self.logger_provider = logger_provider
        self.integrations: dict[str, registry.Integration] = {}
        self.removed: set[str] = set()  # turned off by disable_integration(): not patched on a later import
        self.active = True


_state: _State | None = None
# Providers llmobs created and made global (kept across uninstrument/instrument: globals cannot be unset).
_owned: dict[str, Any] = {}
_shut_down: set[int] = set()
# Set by the pytest plugin: providers every instrument() call must use while a test runs.
_test_providers: tuple[Any, Any] | None = None
# Set with them (empty otherwise): the test's own content settings (capture_on_span, capture_in_event,
# max_content_length), which win over what the code under test passes to instrument().
_test_overrides: dict[str, Any] = {}
# At interpreter exit, the providers llmobs created get this long to flush (the SDK's own exit hook is
# turned off for them: with a collector that accepts connections and never answers it can block for 30 s+).
EXIT_TIMEOUT_S = 3.0
_atexit_registered = False


def _register_atexit() -> None:
    global _atexit_registered
    if not _atexit_registered:
        _atexit_registered = True
        atexit.register(lambda: shutdown(timeout=EXIT_TIMEOUT_S))
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_after_fork_in_child)


def _after_fork_in_child() -> None:
    # A multiprocessing child (fork start method) ends with os._exit(): atexit hooks never run there, its
    # finalizers do. multiprocessing clears them and then runs its after-fork hooks, so register from one.
    util = sys.modules.get("multiprocessing.util")
    if util is not None:
        util.register_after_fork(shutdown, lambda _: util.Finalize(
            None, shutdown, kwargs={"timeout": EXIT_TIMEOUT_S}, exitpriority=0))


def is_instrumented() -> bool:
    return _state is not None


def instrument(
    *,
    service_name: str | None = None,
    endpoint: str | None = None,
    protocol: str | None = None,
    headers: Any = None,
    exporter: Any = None,
    metrics_exporter: Any = None,
    capture_content: bool | str | None = None,
    integrations: Any = None,
    disabled_integrations: Any = None,
    tracer_provider: Any = None,
    meter_provider: Any = None,
    prices: Any = None,
    prices_file: str | None = None,
    metrics_layout: str | None = None,
    max_content_length: int | None = None,
    tail_sampling: bool | None = None,
    tail_sampling_ratio: float | None = None,
    tail_sampling_latency_s: float | None = None,
    tail_sampling_cost_usd: float | None = None,
    tail_sampling_max_spans: int | None = None,
    tail_sampling_max_age_s: float | None = None,
    redact: Any = None,
) -> None:
    """Set up export and instrument every supported library that is installed.

    Each argument falls back to its environment variable (see docs/configuration.md). Idempotent: while
    llmobs is instrumented, further calls change nothing (call ``uninstrument()`` first to reconfigure).
    Raises ``llmobs.ConfigError`` for a setting it cannot use; it never raises for anything else.
    """
    global _state
    with _lock:
        if _state is not None:
            logger.debug("llmobs.instrument(): already instrumented; call uninstrument() to reconfigure")
            return
        config = load_config(
            service_name=service_name, endpoint=endpoint, protocol=protocol, headers=headers,
            exporter=exporter, metrics_exporter=metrics_exporter, capture_content=capture_content,
            integrations=integrations, disabled_integrations=disabled_integrations,
            known_integrations=registry.names(), tracer_provider=tracer_provider,
            meter_provider=meter_provider, prices=prices, prices_file=prices_file,
            metrics_layout=metrics_layout, max_content_length=max_content_length,
            tail_sampling=tail_sampling, tail_sampling_ratio=tail_sampling_ratio,
            tail_sampling_latency_s=tail_sampling_latency_s, tail_sampling_cost_usd=tail_sampling_cost_usd,
            tail_sampling_max_spans=tail_sampling_max_spans, tail_sampling_max_age_s=tail_sampling_max_age_s,
            redact=redact,
        )
        if config.sdk_disabled:
            logger.debug("llmobs.instrument(): OTEL_SDK_DISABLED is true; doing nothing")
            return
        price_book = PriceBook(config.prices, config.prices_file, file_setting=config.prices_file_setting)
        try:
            tp, mp, lp = _providers(config)
            content: dict[str, Any] = {"capture_on_span": config.capture_on_span,
                                       "capture_in_event": config.capture_in_event,
                                       "max_content_length": config.max_content_length,
                                       **_test_overrides}  # empty unless a test capture is active
            runtime = Runtime(
                tp.get_tracer(sc.SCOPE_NAME, __version__, schema_url=sc.SCHEMA_URL),
                mp.get_meter(sc.SCOPE_NAME, __version__, schema_url=sc.SCHEMA_URL),
                price_book,
                **content,
                metrics_layout=config.metrics_layout,
                event_logger=lp.get_logger(sc.SCOPE_NAME, __version__, schema_url=sc.SCHEMA_URL)
                if lp is not None else None,
                redactor=_privacy.redactor_of(config.redact),
            )
        except Exception as exc:  # an SDK we do not understand: leave the app untouched
            report("instrument", exc)
            return
        state = _State(config, runtime, tp, mp, lp)
        old = _runtime.set_current(runtime)
        if old is not None:
            old.metrics.stop()
        _state = state
        for name in registry.names():
            if config.enabled_integrations is not None and name not in config.enabled_integrations:
                continue
            if name in config.disabled_integrations:
                continue
            _install(state, name)
        price_book.warm()  # last: its background import competes with ours for the GIL


def _install(state: _State, name: str) -> None:
    library = registry.library_of(name)

    def on_import(module: Any) -> None:
        with _lock:
            if not state.active or name in state.integrations or name in state.removed or _state is not state:
                return
            integration = None
            try:
                integration = registry.load(name)
                hooks = integration.competitor_hooks(module)
                owner = _coexist.hooked(hooks)
                if owner is not None:  # another instrumentation records this library's calls: step aside
                    _coexist.warn_once(name, "the whole library", owner)
                    return
                integration.patch(module)
                _coexist.add_inner_hooks(hooks)
                state.integrations[name] = integration
            except Exception as exc:
                report(f"instrument {name}", exc)
                if integration is not None:  # roll back what was patched before the failure
                    try:
                        integration.unpatch()
                    except Exception as err:
                        report(f"instrument {name} rollback", err)

    import wrapt  # imported here: wrapt pulls in asyncio, ~60 ms that `import llmobs` should not pay

    _coexist.watch()
    wrapt.register_post_import_hook(on_import, library)


def instrumented_integrations() -> list[str]:
    state = _state
    return sorted(state.integrations) if state is not None else []


def enable_integration(name: str, **instrument_kwargs: Any) -> None:
    """Turn one integration on; if llmobs is not running, ``instrument(integrations=[])`` first. What each
    ``opentelemetry-instrument`` entry point does (instrumentation/otel.py), so that they share one runtime."""
    with _lock:
        if _state is None:
            instrument(integrations=[], **instrument_kwargs)
        state = _state
        if state is None or name in state.integrations:
            return
        state.removed.discard(name)
        _install(state, name)


def disable_integration(name: str) -> None:
    """Turn one integration off (its patches are removed); the rest of llmobs keeps running."""
    with _lock:
        state = _state
        if state is None:
            return
        state.removed.add(name)
        integration = state.integrations.pop(name, None)
        if integration is not None:
            try:
                integration.unpatch()
            except Exception as exc:
                report(f"uninstrument {name}", exc)


def uninstrument() -> None:
    """Remove every patch (the originals are restored exactly) and stop recording through llmobs's runtime.

    Safe to call twice or without ``instrument()``. Providers llmobs created stay global (OpenTelemetry
    globals cannot be unset) and are reused by a later ``instrument()``; ``shutdown()`` ends them.
    """
    global _state
    with _lock:
        state, _state = _state, None
        if state is None:
            return
        state.active = False
        for name, integration in list(state.integrations.items()):
            try:
                integration.unpatch()
            except Exception as exc:
                report(f"uninstrument {name}", exc)
        state.integrations.clear()
        if _runtime.peek() is state.runtime:
            _runtime.set_current(None)
        state.runtime.metrics.stop()


def flush(timeout: float = 5.0) -> bool:
    """Export what is buffered now. Returns within about ``timeout`` seconds, True if everything went out."""
    from . import _cost

    deadline = time.monotonic() + max(timeout, 0.0)
    # Calls that ended while the price table was loading are finished by the loader: let them end first.
    ready = _cost.wait_ready(deadline - time.monotonic())
    runtime = _runtime.peek()
    if runtime is not None:
        runtime.metrics.drain()
    state = _state
    providers = []
    if state is not None:
        providers = [state.tracer_provider, state.meter_provider, state.logger_provider]
    else:
        providers = [trace.get_tracer_provider(), metrics.get_meter_provider(), _owned.get("logs")]
    ok = True
    for provider in providers:
        remaining = deadline - time.monotonic()
        if provider is not None and id(provider) in _shut_down:
            continue
        if provider is None or remaining <= 0:
            ok = ok and provider is None
            continue
        force_flush = getattr(provider, "force_flush", None)
        if force_flush is None:
            continue
        ok = _bounded(lambda f=force_flush, r=remaining: f(int(r * 1000)), remaining) and ok
    return ok and ready


def shutdown(timeout: float = 5.0) -> None:
    """Uninstrument, flush, and shut down the providers llmobs created; bounded by ``timeout`` seconds."""
    # A margin for the bookkeeping around the waits, so that shutdown returns within ``timeout``.
    deadline = time.monotonic() + max(timeout - 0.1, 0.0)
    flush(timeout * 0.8)  # the rest of the budget: the providers' own shutdown, even with a dead endpoint
    uninstrument()
    for key in ("traces", "metrics", "logs"):
        provider = _owned.get(key)
        remaining = deadline - time.monotonic()
        if provider is None:
            continue
        if id(provider) in _shut_down:
            continue
        _shut_down.add(id(provider))
        # Started even when flush() used the whole budget (a dead collector): it stops the exporters' retries
        # and leaves nothing for the exit hook, which would otherwise wait EXIT_TIMEOUT_S more.
        _bounded(provider.shutdown, max(remaining, 0.0))


def _bounded(fn: Any, timeout: float) -> bool:
    """Run ``fn`` on a daemon thread and wait at most ``timeout`` seconds: a dead collector cannot hang us."""
    result: list[Any] = []

    def run() -> None:
        try:
            result.append(fn())
        except Exception as exc:
            report("flush", exc)
            result.append(False)

    thread = threading.Thread(target=run, name="llmobs-flush", daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0] is not False)


# --- providers ----------------------------------------------------------------------------------------------

def _providers(config: Config) -> tuple[Any, Any, Any]:
    if _test_providers is not None:
        tp, mp = _test_providers
        return tp, mp, None
    tp = config.tracer_provider or _global_tracer_provider() or _owned.get("traces") or _new_tracer_provider(config)
    stamp_spans_of(tp)
    mp = config.meter_provider or _global_meter_provider() or _owned.get("metrics") or _new_meter_provider(config)
    lp = None
    if config.capture_in_event:
        lp = _global_logger_provider() or _owned.get("logs") or _new_logger_provider(config)
    return tp, mp, lp


def _global_tracer_provider() -> Any:
    provider = trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider):
        return None
    return provider


def _global_meter_provider() -> Any:
    provider = metrics.get_meter_provider()
    if type(provider).__name__ in ("_ProxyMeterProvider", "ProxyMeterProvider"):
        return None
    return provider


def _global_logger_provider() -> Any:
    from opentelemetry import _logs

    provider = _logs.get_logger_provider()
    if type(provider).__name__ in ("ProxyLoggerProvider", "_ProxyLoggerProvider"):
        return None
    return provider


def _resource(config: Config) -> Any:
    from opentelemetry.sdk.resources import Resource

    attrs = {"service.name": config.service_name} if config.service_name else {}
    return Resource.create(attrs)


def _new_tracer_provider(config: Config) -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # No sampler passed: the SDK applies OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (head sampling).
    provider = TracerProvider(resource=_resource(config), shutdown_on_exit=False)
    _register_atexit()
    processors: list[Any] = [BatchSpanProcessor(_exporter("traces", n, config.traces)) for n in config.traces.exporters]
    if config.tail_sampling is not None and processors:  # one buffer and one decision for every exporter
        from ._tail_sampling import from_config

        processors = [from_config(config.tail_sampling, processors)]
    for processor in processors:
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    _owned["traces"] = provider
    return provider


def _new_meter_provider(config: Config) -> Any:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    readers = [PeriodicExportingMetricReader(_exporter("metrics", n, config.metrics)) for n in config.metrics.exporters]
    provider = MeterProvider(resource=_resource(config), metric_readers=readers, shutdown_on_exit=False)
    _register_atexit()
    metrics.set_meter_provider(provider)
    _owned["metrics"] = provider
    return provider


def _new_logger_provider(config: Config) -> Any:
    from opentelemetry import _logs
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

    provider = LoggerProvider(resource=_resource(config), shutdown_on_exit=False)
    _register_atexit()
    for name in config.logs.exporters:
        provider.add_log_record_processor(BatchLogRecordProcessor(_exporter("logs", name, config.logs)))
    _logs.set_logger_provider(provider)
    _owned["logs"] = provider
    return provider


# signal -> (console exporter, OTLP/gRPC exporter, OTLP/HTTP exporter), as "module:Class"; imported on use.
_EXPORTERS = {
    "traces": (
        "opentelemetry.sdk.trace.export:ConsoleSpanExporter",
        "opentelemetry.exporter.otlp.proto.grpc.trace_exporter:OTLPSpanExporter",
        "opentelemetry.exporter.otlp.proto.http.trace_exporter:OTLPSpanExporter",
    ),
    "metrics": (
        "opentelemetry.sdk.metrics.export:ConsoleMetricExporter",
        "opentelemetry.exporter.otlp.proto.grpc.metric_exporter:OTLPMetricExporter",
        "opentelemetry.exporter.otlp.proto.http.metric_exporter:OTLPMetricExporter",
    ),
    "logs": (
        "opentelemetry.sdk._logs.export:ConsoleLogRecordExporter",
        "opentelemetry.exporter.otlp.proto.grpc._log_exporter:OTLPLogExporter",
        "opentelemetry.exporter.otlp.proto.http._log_exporter:OTLPLogExporter",
    ),
}


def _exporter(signal_name: str, name: str, signal: SignalExport) -> Any:
    import importlib

    console, grpc, http = _EXPORTERS[signal_name]
    target = console if name == "console" else grpc if signal.protocol == "grpc" else http
    module, _, cls_name = target.partition(":")
    cls = getattr(importlib.import_module(module), cls_name)
    if name == "console":
        return cls()
    kwargs: dict[str, Any] = {"headers": signal.headers or None, "timeout": signal.timeout_s}
    if signal.protocol == "grpc":
        kwargs["insecure"] = signal.endpoint.startswith("http://")
    return cls(endpoint=signal.endpoint, **kwargs)
