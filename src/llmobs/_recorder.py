"""The recorder: turns an ``LLMCall`` into one span, the GenAI metrics and its cost, in one place.

Integrations and ``llmobs.llm_call`` only fill ``LLMCall`` objects; they call ``start`` before the request
and ``finish`` (or ``fail``) after it, or hand a stream to ``_streams`` which finishes it when the stream
ends. ``finish`` runs at most once per call whatever the exit path. No function here raises into user code.
"""

from __future__ import annotations

import contextvars
import sys
import time
from collections.abc import Callable
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from . import _runtime
from . import semconv as sc
from ._content import capture
from ._context import _attrs as _context_attrs
from ._model import LLMCall
from ._safety import report
from .instrumentation import _coexist

_perf = time.perf_counter
_time_ns = time.time_ns
_CLIENT = SpanKind.CLIENT
_set_span_in_context = trace.set_span_in_context
_attach = otel_context.attach
_detach = otel_context.detach
# The LLM call whose API request is in flight in this context. A patched API entered while one is in flight
# (an SDK method that calls another patched method, or an instrumented client inside ``llmobs.llm_call``)
# is passed through unrecorded: one API call, one LLM span. It is reset when the request returns, so it
# never outlives the call that set it (a stream's iteration happens outside it).
_in_flight: contextvars.ContextVar[LLMCall | None] = contextvars.ContextVar("llmobs_llm_in_flight", default=None)


class ModelScope:
    """A framework's model run in progress (a LangChain chat model, a LlamaIndex LLM call).

    A framework integration makes it current while the model runs; every LLM call recorded meanwhile (by a
    provider integration or ``llmobs.llm_call``) counts itself in ``claimed``. When the model run ends, the
    framework records its own LLM span only if nothing claimed the run: one token-bearing span per model call,
    and it is the provider's whenever the provider's library is instrumented."""

    __slots__ = ("claimed", "members", "owner")

    def __init__(self, owner: Any = None) -> None:
        self.claimed = 0
        self.members = 0
        self.owner = owner


_model_scope: contextvars.ContextVar[ModelScope | None] = contextvars.ContextVar("llmobs_model_scope", default=None)
# Set by the first framework model run (``_frameworks.enter_model``): until then no scope can be current, and
# calls skip the context-variable lookup of ``_claim``.
scopes_used = False


def _claim() -> None:
    """Count the LLM call being recorded (or passed through) against the framework model run in progress."""
    scope = _model_scope.get()
    if scope is not None:
        scope.claimed += 1
_KIND_BY_OP = {sc.OP_EMBEDDINGS: sc.KIND_EMBEDDING, sc.OP_RETRIEVAL: sc.KIND_RETRIEVAL}
_PRIMITIVES = frozenset({str, int, float, bool})

_BoundedAttributes: Any
try:  # the SDK's attribute container, for the fast path below
    from opentelemetry.attributes import BoundedAttributes as _BoundedAttributes
except Exception:  # pragma: no cover
    _BoundedAttributes = None


def set_attributes(span: Any, attrs: dict[str, Any]) -> None:
    """Set attributes on a span, skipping the SDK's per-value validation for values that are plainly valid.

    The OpenTelemetry SDK re-validates every attribute value (about 1-2 µs each here). Values llmobs
    computes itself are str/int/float/bool or tuples of str, so when the span is an SDK span with no value
    length limit, those go straight into its attribute dict under the span's lock; anything else (and any
    other span type) takes the regular ``set_attributes`` path.
    """
    bounded: Any = getattr(span, "_attributes", None)
    if (
        type(bounded) is _BoundedAttributes
        and bounded.max_value_len is None
        and not bounded._immutable
        and (bounded.maxlen is None or len(bounded._dict) + len(attrs) <= bounded.maxlen)
    ):
        slow: dict[str, Any] | None = None
        fast: dict[str, Any] = attrs
        for value in attrs.values():
            kind = type(value)
            if kind not in _PRIMITIVES and not (kind is tuple and all(type(v) is str for v in value)):
                fast, slow = {}, {}  # rare: split into what can go straight in and what the SDK must check
                for key, value in attrs.items():
                    kind = type(value)
                    if kind in _PRIMITIVES or (kind is tuple and all(type(v) is str for v in value)):
                        fast[key] = value
                    else:
                        slow[key] = value
                break
        lock = getattr(span, "_lock", None)
        if lock is not None:
            with lock:
                if getattr(span, "_end_time", 1) is None:
                    bounded._dict.update(fast)
                    fast = {}
            if fast:  # the span had ended: let the SDK warn as usual
                span.set_attributes(fast)
            if slow:
                span.set_attributes(slow)
            return
    span.set_attributes(attrs)


_BLIND_SAMPLERS: tuple[type, ...] | None = None


def _attribute_blind(sampler: Any) -> bool:
    """True for the SDK's built-in samplers, which decide on the trace id and parent only."""
    global _BLIND_SAMPLERS
    if _BLIND_SAMPLERS is None:
        try:
            from opentelemetry.sdk.trace import sampling

            _BLIND_SAMPLERS = (sampling.StaticSampler, sampling.TraceIdRatioBased)
        except Exception:  # pragma: no cover
            _BLIND_SAMPLERS = ()
    kind = type(sampler)
    if kind in _BLIND_SAMPLERS:
        return True
    if kind.__name__ == "ParentBased" and kind.__module__ == "opentelemetry.sdk.trace.sampling":
        return all(
            _attribute_blind(getattr(sampler, name, None))
            for name in ("_root", "_remote_parent_sampled", "_remote_parent_not_sampled",
                         "_local_parent_sampled", "_local_parent_not_sampled")
        )
    return False


def sampler_sees_attributes(tracer: Any) -> bool:
    """Whether ``tracer``'s sampler may look at span attributes (a custom or unknown sampler)."""
    sampler = getattr(tracer, "sampler", None)
    if sampler is None:
        return True  # a proxy or non-SDK tracer: give it everything at start
    try:
        return not _attribute_blind(sampler)
    except Exception:
        return True


_error_types: dict[type, str] = {}


def error_type(exc: BaseException) -> str:
    """A low-cardinality error identifier: the fully-qualified exception class (builtins unqualified), by the
    public name its package exports it under (``openai.RateLimitError``, not ``openai._exceptions...``)."""
    cls = type(exc)
    known = _error_types.get(cls)
    if known is not None:
        return known
    module = cls.__module__
    if module in ("builtins", "__main__"):
        name = cls.__qualname__
    else:
        name = f"{module}.{cls.__qualname__}"
        if "._" in module:
            top = sys.modules.get(module.partition(".")[0])
            if top is not None and getattr(top, cls.__name__, None) is cls:
                name = f"{top.__name__}.{cls.__name__}"
    if len(_error_types) < 1024:
        _error_types[cls] = name
    return name


def start(call: LLMCall, context: Any = None, start_ns: int | None = None, t0: float | None = None,
          claim: bool = True) -> Any:
    """Start the call's span (not yet current) and its clock. Returns the span, or None if that failed.

    ``context`` is the parent (default: the current context); ``start_ns``/``t0`` back-date the start (a
    framework records a model run after it ended); ``claim=False`` keeps the call from claiming the current
    framework model run (``ModelScope``): only the framework's own span for that run passes it.

    The sampling-relevant attributes go to ``start_span`` only when the sampler may read them. The SDK's
    built-in samplers do not (they decide on trace id and parent alone): then those attributes are written
    with all the others in ``finish``, in one fast pass that skips the SDK's per-value validation."""
    try:
        rt = _runtime._current or _runtime.get()
        model = call.model
        if claim and scopes_used:
            _claim()
        call._ctx_attrs = _context_attrs.get()
        call._start_ns = _time_ns() if start_ns is None else start_ns
        call._t0 = _perf() if t0 is None else t0
        if rt.sampler_sees_attributes:
            span = rt.tracer.start_span(
                f"{call.operation} {model}" if model else call.operation, context, kind=_CLIENT,
                attributes=_sampling_attributes(call), start_time=call._start_ns,
            )
        else:
            span = rt.tracer.start_span(
                f"{call.operation} {model}" if model else call.operation, context, kind=_CLIENT,
                start_time=call._start_ns,
            )
            call._late_attrs = True
        call._span = span
        return span
    except Exception as exc:
        report("recorder.start", exc)
        call._done = True  # nothing to finish
        return None


def _sampling_attributes(call: LLMCall) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        sc.GEN_AI_OPERATION_NAME: call.operation,
        sc.GEN_AI_PROVIDER_NAME: call.provider,
    }
    if call.model:
        attrs[sc.GEN_AI_REQUEST_MODEL] = call.model
    if call.server_address:
        attrs[sc.SERVER_ADDRESS] = call.server_address
        if call.server_port:
            attrs[sc.SERVER_PORT] = call.server_port
    return attrs


def finish(call: LLMCall, end_t: float | None = None) -> None:
    """End the call's span and record its metrics and cost. Idempotent: only the first call counts."""
    if call._done:
        return
    call._done = True
    try:
        _finish(call, end_t)
    except Exception as exc:
        report("recorder.finish", exc)
        span = call._span
        if span is not None:
            try:
                span.end()
            except Exception:
                pass


def fail(call: LLMCall, exc: BaseException, end_t: float | None = None) -> None:
    """Finish the call as failed with the user's exception (which the caller re-raises unchanged)."""
    if call._done:
        return
    call.error = exc
    finish(call, end_t)


def _finish(call: LLMCall, end_t: float | None) -> None:
    rt = _runtime._current or _runtime.get()
    span = call._span
    now = _perf() if end_t is None else end_t
    duration = now - call._t0
    end_ns = call._start_ns + int(duration * 1e9)
    recording = span is not None and span.is_recording()
    attrs = _sampling_attributes(call) if call._late_attrs else {}
    attrs[sc.LLMOBS_SPAN_KIND] = _KIND_BY_OP.get(call.operation, sc.KIND_LLM)
    if call.stream:
        attrs[sc.GEN_AI_REQUEST_STREAM] = True
    if call.params:
        attrs.update(call.params)
    if call.conversation_id:
        attrs[sc.GEN_AI_CONVERSATION_ID] = call.conversation_id
    if call.integration:
        attrs[sc.LLMOBS_INTEGRATION] = call.integration
    if call._ctx_attrs:
        attrs.update(call._ctx_attrs)
    if call.response_id:
        attrs[sc.GEN_AI_RESPONSE_ID] = call.response_id
    if call.response_model:
        attrs[sc.GEN_AI_RESPONSE_MODEL] = call.response_model
    exc = call.error
    is_inference = call.operation in sc.INFERENCE_OPERATIONS
    reasons = call.finish_reasons
    if is_inference and (exc is not None or call.incomplete) and not reasons:
        reasons = [sc.FINISH_ERROR]
    if reasons:
        attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] = tuple(reasons)
    usage = call.usage
    if usage is not None:
        if usage.input_tokens is not None:
            attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] = usage.input_tokens
        if usage.output_tokens is not None:
            attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] = usage.output_tokens
        if usage.cache_read_input_tokens is not None:
            attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = usage.cache_read_input_tokens
        if usage.cache_write_input_tokens is not None:
            attrs[sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] = usage.cache_write_input_tokens
        if usage.reasoning_output_tokens is not None:
            attrs[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = usage.reasoning_output_tokens
    ttfc: float | None = None
    if call.stream:
        if call.first_chunk_t is not None:
            ttfc = call.first_chunk_t - call._t0
            attrs[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = ttfc
        attrs[sc.LLMOBS_STREAM_CHUNKS] = call.chunks
        if call.incomplete:
            attrs[sc.LLMOBS_STREAM_INCOMPLETE] = True
    mode = rt.capture_mode if recording else sc.CAPTURE_NO_CONTENT  # read here: `later` runs in another context
    if usage is not None and not usage.is_empty() and not _prices_ready(rt):
        # The price table is still loading (the first calls after start-up): end the span from the loader
        # thread once it has loaded, with the end time measured now. The caller never waits.
        def later() -> None:
            try:
                _complete(rt, call, span, attrs, recording, duration, end_ns, ttfc, mode)
            except Exception as exc:
                report("recorder.finish", exc)
                if span is not None:
                    span.end(end_time=end_ns)

        if rt.prices.defer(later):
            return
    _complete(rt, call, span, attrs, recording, duration, end_ns, ttfc, mode)


def _prices_ready(rt: _runtime.Runtime) -> bool:
    try:
        return bool(rt.prices.ready())
    except Exception as err:
        report("prices.ready", err)
        return True  # price now; a failure there is contained too


def _complete(rt: _runtime.Runtime, call: LLMCall, span: Any, attrs: dict[str, Any], recording: bool,
              duration: float, end_ns: int, ttfc: float | None, mode: str = sc.CAPTURE_NO_CONTENT) -> None:
    usage = call.usage
    exc = call.error
    cost_total: float | None = None
    reported = call.reported_cost
    if reported is not None:
        cost_total = reported[0]
        attrs[sc.LLMOBS_COST_TOTAL] = cost_total
        if reported[1] is not None:
            attrs[sc.LLMOBS_COST_INPUT] = reported[1]
        if reported[2] is not None:
            attrs[sc.LLMOBS_COST_OUTPUT] = reported[2]
        attrs[sc.LLMOBS_COST_STATUS] = sc.COST_PRICED
        attrs[sc.LLMOBS_COST_SOURCE] = sc.COST_SOURCE_PROVIDER
    elif usage is not None and not usage.is_empty():
        priced = True
        try:
            cost = rt.prices.cost(call.provider, call.model, usage, call.response_model)
        except Exception as err:  # no cost attributes, everything else stays
            report("prices.cost", err)
            priced, cost = False, None
        if not priced:
            pass
        elif cost is None:
            attrs[sc.LLMOBS_COST_STATUS] = sc.COST_UNPRICED
        else:
            cost_total = cost.total
            attrs[sc.LLMOBS_COST_TOTAL] = cost.total
            attrs[sc.LLMOBS_COST_INPUT] = cost.input
            attrs[sc.LLMOBS_COST_OUTPUT] = cost.output
            attrs[sc.LLMOBS_COST_STATUS] = sc.COST_PRICED
            attrs[sc.LLMOBS_COST_SOURCE] = cost.source
    if call.extra_attributes:
        attrs.update(call.extra_attributes)
    err_type: str | None = None
    if exc is not None:
        err_type = error_type(exc)
        attrs[sc.ERROR_TYPE] = err_type
    if mode != sc.CAPTURE_NO_CONTENT and recording:
        _capture_content(rt, call, attrs, span, mode)
    if span is not None:
        if recording:
            set_attributes(span, attrs)
            if exc is not None:
                span.record_exception(exc, escaped=True, timestamp=end_ns)
                span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        span.end(end_time=end_ns)
    rt.metrics.enqueue_llm(call, duration, ttfc, cost_total, err_type)


def _capture_content(rt: _runtime.Runtime, call: LLMCall, attrs: dict[str, Any], span: Any,
                     mode: str = sc.CAPTURE_SPAN_ONLY) -> None:
    limit = rt.max_content_length
    redact = rt.redactor
    content: dict[str, Any] = {}
    for key, value in (
        (sc.GEN_AI_INPUT_MESSAGES, call.input_messages),
        (sc.GEN_AI_OUTPUT_MESSAGES, call.output_messages),
        (sc.GEN_AI_SYSTEM_INSTRUCTIONS, call.system_instructions),
        (sc.GEN_AI_TOOL_DEFINITIONS, call.tool_definitions),
    ):
        if value is not None:
            content[key] = value
    if not content:
        return
    if mode in _runtime._ON_SPAN:
        for key, value in content.items():
            text = capture(value, limit, key, redact)
            if text is not None:
                attrs[key] = text
    if mode in _runtime._IN_EVENT and rt.event_logger is not None:
        try:
            event_attrs = {k: v for k, v in attrs.items() if not k.startswith("gen_ai.input")}
            event_attrs[sc.GEN_AI_OPERATION_NAME] = call.operation
            event_attrs[sc.GEN_AI_PROVIDER_NAME] = call.provider
            if call.model:
                event_attrs[sc.GEN_AI_REQUEST_MODEL] = call.model
            on_span = mode in _runtime._ON_SPAN  # then the span's redacted, bounded values are reused
            for key, value in content.items():
                text = attrs.get(key) if on_span else capture(value, limit, key, redact)
                if text is not None:
                    event_attrs[key] = text
            rt.event_logger.emit(
                event_name=sc.EVENT_INFERENCE_DETAILS,
                attributes=event_attrs,
                context=_set_span_in_context(span),
            )
        except Exception as exc:
            report("recorder.event", exc)


# --- the generic call flow every integration uses ------------------------------------------------------

OnResult = Callable[[LLMCall, Any], Any]


def _deferred_to_other() -> bool:
    """Another instrumentation records the call (``instrumentation._coexist``): llmobs passes it through, but
    it still claims a framework model run in progress, which that instrumentation's span stands for."""
    if not _coexist.defer():
        return False
    if scopes_used:
        _claim()
    return True


def invoke(call: LLMCall, wrapped: Callable[..., Any], args: Any, kwargs: Any, on_result: OnResult) -> Any:
    """Run a sync API call inside its span. ``on_result(call, result)`` fills the call from the result and
    returns what the user gets: the result itself (this function then finishes the call) or a stream proxy
    (which finishes it when the stream ends)."""
    if _in_flight.get() is not None or (_coexist.active and _deferred_to_other()):
        return wrapped(*args, **kwargs)
    span = start(call)
    if span is None:
        return wrapped(*args, **kwargs)
    token = _attach(_set_span_in_context(span))
    flight = _in_flight.set(call)
    try:
        result = wrapped(*args, **kwargs)
    except BaseException as exc:
        _in_flight.reset(flight)
        _detach(token)
        fail(call, exc)
        raise
    _in_flight.reset(flight)
    _detach(token)
    return _handle(call, result, on_result)


async def ainvoke(call: LLMCall, wrapped: Callable[..., Any], args: Any, kwargs: Any, on_result: OnResult) -> Any:
    """The async twin of ``invoke``: ``wrapped`` returns an awaitable."""
    if _in_flight.get() is not None or (_coexist.active and _deferred_to_other()):
        return await wrapped(*args, **kwargs)
    span = start(call)
    if span is None:
        return await wrapped(*args, **kwargs)
    token = _attach(_set_span_in_context(span))
    flight = _in_flight.set(call)
    try:
        result = await wrapped(*args, **kwargs)
    except BaseException as exc:
        _in_flight.reset(flight)
        _detach(token)
        fail(call, exc)
        raise
    _in_flight.reset(flight)
    _detach(token)
    return _handle(call, result, on_result)


def _handle(call: LLMCall, result: Any, on_result: OnResult) -> Any:
    try:
        out = on_result(call, result)
    except Exception as exc:
        report(f"{call.integration or 'integration'}.on_result", exc)
        finish(call)
        return result
    if out is result or not (call.stream or call._deferred):  # a stream the integration did not wrap ends here
        finish(call)
    return out
