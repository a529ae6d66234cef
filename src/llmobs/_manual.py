"""Manual instrumentation: decorators, ``span()``, ``llm_call()`` and ``score()``.

Decorated functions of every shape (sync, async, generator, async generator; functions, methods, class and
static methods) get one span that covers their whole run; the span is current while the body runs and is
attached and detached around every step of a generator, so no context leaks across ``yield``.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, overload

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from . import _recorder, _runtime
from . import semconv as sc
from ._content import capture
from ._context import current_attributes
from ._model import LLMCall, Usage
from ._safety import report

F = TypeVar("F", bound=Callable[..., Any])
_perf = time.perf_counter
_MAX_GEN_ITEMS = 1000

_OPS = {
    sc.KIND_WORKFLOW: (sc.OP_INVOKE_WORKFLOW, sc.GEN_AI_WORKFLOW_NAME),
    sc.KIND_AGENT: (sc.OP_INVOKE_AGENT, sc.GEN_AI_AGENT_NAME),
    sc.KIND_TOOL: (sc.OP_EXECUTE_TOOL, sc.GEN_AI_TOOL_NAME),
    sc.KIND_RETRIEVAL: (sc.OP_RETRIEVAL, sc.GEN_AI_DATA_SOURCE_ID),
}
SPAN_KINDS = (sc.KIND_WORKFLOW, sc.KIND_TASK, sc.KIND_AGENT, sc.KIND_TOOL, sc.KIND_RETRIEVAL)


def _kind_attributes(name: str, kind: str) -> tuple[str, dict[str, Any]]:
    """The span name and the attributes that say what a span of ``kind`` named ``name`` is."""
    attrs: dict[str, Any] = {sc.LLMOBS_SPAN_KIND: kind}
    op = _OPS.get(kind)
    if op is None:
        return name, attrs
    attrs[sc.GEN_AI_OPERATION_NAME] = op[0]
    attrs[op[1]] = name
    if kind == sc.KIND_TOOL:
        attrs[sc.GEN_AI_TOOL_TYPE] = "function"
    return f"{op[0]} {name}", attrs


class SpanHandle:
    """A span started by ``llmobs.span`` or a decorator. ``set_input``/``set_output`` record content only
    when content capture is on."""

    __slots__ = ("_done", "_kind", "_t0", "_token", "name", "span")

    def __init__(self, name: str, kind: str, attributes: Mapping[str, Any] | None = None,
                 context: Any = None) -> None:
        self.name = name
        self._kind = kind
        self._token: Any = None
        self._done = False
        span_name, attrs = _kind_attributes(name, kind)
        ctx_attrs = current_attributes()
        if ctx_attrs:
            attrs.update(ctx_attrs)
        if attributes:
            attrs.update(attributes)
        self._t0 = _perf()
        rt = _runtime._current or _runtime.get()
        if rt.sampler_sees_attributes:
            self.span = rt.tracer.start_span(span_name, context, kind=SpanKind.INTERNAL, attributes=attrs)
        else:  # the SDK's built-in samplers ignore attributes: set them without its per-value validation
            self.span = rt.tracer.start_span(span_name, context, kind=SpanKind.INTERNAL)
            _recorder.set_attributes(self.span, attrs)

    def set_kind(self, kind: str) -> None:
        """Re-classify a span still open (a framework learns that a chain it traced was an agent)."""
        if kind == self._kind or self._done:
            return
        self._kind = kind
        span_name, attrs = _kind_attributes(self.name, kind)
        self.span.update_name(span_name)
        self.span.set_attributes(attrs)

    # --- content ---------------------------------------------------------------------------------------
    def set_input(self, value: Any) -> None:
        self.set_content(sc.GEN_AI_TOOL_CALL_ARGUMENTS if self._kind == sc.KIND_TOOL else sc.LLMOBS_INPUT, value)

    def set_output(self, value: Any) -> None:
        self.set_content(sc.GEN_AI_TOOL_CALL_RESULT if self._kind == sc.KIND_TOOL else sc.LLMOBS_OUTPUT, value)

    def set_content(self, key: str, value: Any) -> None:
        """Record ``value`` as the content attribute ``key`` (e.g. ``gen_ai.retrieval.query.text``) when
        capture is on: redacted by the redaction hook, media as descriptors, bounded. Every captured field of
        a non-LLM span goes through here."""
        rt = _runtime.get()
        if rt.capture and self.span.is_recording():
            text = capture(value, rt.max_content_length, key, rt.redactor)
            if text is not None:
                self.span.set_attribute(key, text)

    def set_attribute(self, key: str, value: Any) -> None:
        self.span.set_attribute(key, value)

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        self.span.set_attributes(attributes)

    # --- lifecycle -------------------------------------------------------------------------------------
    def _attach(self) -> Any:
        return otel_context.attach(trace.set_span_in_context(self.span))

    def end(self, exc: BaseException | None = None) -> None:
        if self._done:
            return
        self._done = True
        span = self.span
        err_type = None
        if exc is not None:
            err_type = _recorder.error_type(exc)
            span.set_attribute(sc.ERROR_TYPE, err_type)
            span.record_exception(exc, escaped=True)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        span.end()
        if self._kind in (sc.KIND_AGENT, sc.KIND_WORKFLOW, sc.KIND_TOOL):
            op = _OPS[self._kind]
            attrs: dict[str, Any] = {op[1]: self.name}
            if err_type:
                attrs[sc.ERROR_TYPE] = err_type
            _runtime.get().metrics.enqueue_op(self._kind, attrs, _perf() - self._t0)

    def __enter__(self) -> SpanHandle:
        self._token = self._attach()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        token, self._token = self._token, None
        if token is not None:
            otel_context.detach(token)
        self.end(exc)

    async def __aenter__(self) -> SpanHandle:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)


def span(name: str, kind: str = sc.KIND_TASK, *, attributes: Mapping[str, Any] | None = None) -> SpanHandle:
    """A span around a block: ``with llmobs.span("rerank", kind="task") as s: ...``.

    ``kind`` is one of workflow, task, agent, tool, retrieval.
    """
    if kind not in SPAN_KINDS:
        report("span", ValueError(f"unknown span kind {kind!r}"))
        kind = sc.KIND_TASK
    return SpanHandle(name, kind, attributes)


# --- decorators --------------------------------------------------------------------------------------------

def _bind_inputs(sig: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if sig is None:
        return {"args": list(args), "kwargs": kwargs}
    try:
        bound = sig.bind_partial(*args, **kwargs)
    except TypeError:
        return {"args": list(args), "kwargs": kwargs}
    data = dict(bound.arguments)
    for skip in ("self", "cls"):
        data.pop(skip, None)
    return data


def _make_decorator(kind: str) -> Any:
    @overload
    def decorator(fn: F) -> F: ...

    @overload
    def decorator(
        fn: None = None, *, name: str | None = None, attributes: Mapping[str, Any] | None = None
    ) -> Callable[[F], F]: ...

    def decorator(fn: Any = None, *, name: str | None = None, attributes: Mapping[str, Any] | None = None) -> Any:
        if fn is None:
            return lambda f: _decorate(f, kind, name, attributes)
        return _decorate(fn, kind, name, attributes)

    decorator.__name__ = kind
    decorator.__qualname__ = kind
    decorator.__doc__ = (
        f"Trace each call of the decorated function as a {kind} span. Use bare (``@llmobs.{kind}``) or with "
        f"``name=`` and ``attributes=``. Inputs and outputs are recorded only when content capture is on."
    )
    return decorator


def _decorate(fn: Any, kind: str, name: str | None, attributes: Mapping[str, Any] | None) -> Any:
    if isinstance(fn, (classmethod, staticmethod)):
        return type(fn)(_decorate(fn.__func__, kind, name, attributes))
    span_name = name or getattr(fn, "__name__", None) or "function"
    try:
        sig: inspect.Signature | None = inspect.signature(fn)
    except (TypeError, ValueError):
        sig = None
    attrs = dict(attributes) if attributes else {}
    if kind == sc.KIND_TOOL and fn.__doc__ and sc.GEN_AI_TOOL_DESCRIPTION not in attrs:
        attrs[sc.GEN_AI_TOOL_DESCRIPTION] = inspect.cleandoc(fn.__doc__).split("\n", 1)[0]

    def open_span(args: tuple[Any, ...], kwargs: dict[str, Any]) -> SpanHandle | None:
        try:
            handle = SpanHandle(span_name, kind, attrs)
            if _runtime.get().capture:
                handle.set_input(_bind_inputs(sig, args, kwargs))
            return handle
        except Exception as exc:
            report("decorator.start", exc)
            return None

    def close(handle: SpanHandle, exc: BaseException | None, output: Any = None, has_output: bool = False) -> None:
        try:
            if has_output and exc is None:
                handle.set_output(output)
            handle.end(exc)
        except Exception as err:
            report("decorator.end", err)

    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def agen_wrapper(*args: Any, **kwargs: Any) -> Any:
            handle = open_span(args, kwargs)
            agen = fn(*args, **kwargs)
            if handle is None:
                async for item in agen:
                    yield item
                return
            items: list[Any] = []
            to_send: Any = None
            to_throw: BaseException | None = None
            while True:
                token = handle._attach()
                try:
                    if to_throw is not None:
                        exc, to_throw = to_throw, None
                        item = await agen.athrow(exc)
                    else:
                        item = await agen.asend(to_send)
                except StopAsyncIteration:
                    otel_context.detach(token)
                    close(handle, None, items, True)
                    return
                except BaseException as exc:
                    otel_context.detach(token)
                    close(handle, exc)
                    raise
                otel_context.detach(token)
                if len(items) < _MAX_GEN_ITEMS:
                    items.append(item)
                try:
                    to_send = yield item
                except GeneratorExit:
                    try:
                        await agen.aclose()
                    finally:
                        close(handle, None, items, True)
                    raise
                except BaseException as exc:
                    to_throw = exc

        return agen_wrapper

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            handle = open_span(args, kwargs)
            gen = fn(*args, **kwargs)
            if handle is None:
                return (yield from gen)
            items: list[Any] = []
            to_send: Any = None
            to_throw: BaseException | None = None
            while True:
                token = handle._attach()
                try:
                    if to_throw is not None:
                        exc, to_throw = to_throw, None
                        item = gen.throw(exc)
                    else:
                        item = gen.send(to_send)
                except StopIteration as stop:
                    otel_context.detach(token)
                    close(handle, None, items, True)
                    return stop.value
                except BaseException as exc:
                    otel_context.detach(token)
                    close(handle, exc)
                    raise
                otel_context.detach(token)
                if len(items) < _MAX_GEN_ITEMS:
                    items.append(item)
                try:
                    to_send = yield item
                except GeneratorExit:
                    try:
                        gen.close()
                    finally:
                        close(handle, None, items, True)
                    raise
                except BaseException as exc:
                    to_throw = exc

        return gen_wrapper

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            handle = open_span(args, kwargs)
            if handle is None:
                return await fn(*args, **kwargs)
            token = handle._attach()
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                otel_context.detach(token)
                close(handle, exc)
                raise
            otel_context.detach(token)
            close(handle, None, result, True)
            return result

        return async_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        handle = open_span(args, kwargs)
        if handle is None:
            return fn(*args, **kwargs)
        token = handle._attach()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            otel_context.detach(token)
            close(handle, exc)
            raise
        otel_context.detach(token)
        close(handle, None, result, True)
        return result

    return wrapper


workflow = _make_decorator(sc.KIND_WORKFLOW)
task = _make_decorator(sc.KIND_TASK)
agent = _make_decorator(sc.KIND_AGENT)
tool = _make_decorator(sc.KIND_TOOL)


# --- manual LLM calls --------------------------------------------------------------------------------------

_PARAM_NAMES = {
    "temperature": sc.GEN_AI_REQUEST_TEMPERATURE,
    "max_tokens": sc.GEN_AI_REQUEST_MAX_TOKENS,
    "top_p": sc.GEN_AI_REQUEST_TOP_P,
    "top_k": sc.GEN_AI_REQUEST_TOP_K,
    "seed": sc.GEN_AI_REQUEST_SEED,
    "stop_sequences": sc.GEN_AI_REQUEST_STOP_SEQUENCES,
    "frequency_penalty": sc.GEN_AI_REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": sc.GEN_AI_REQUEST_PRESENCE_PENALTY,
    "choice_count": sc.GEN_AI_REQUEST_CHOICE_COUNT,
    "reasoning_level": sc.GEN_AI_REQUEST_REASONING_LEVEL,
    "output_type": sc.GEN_AI_OUTPUT_TYPE,
}


def to_semconv_messages(messages: Any) -> Any:
    """Accept ``[{"role": "user", "content": "hi"}]`` (the common chat shape) and return semconv messages
    (``[{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]``); semconv-shaped input passes as is."""
    if not isinstance(messages, Sequence) or isinstance(messages, (str, bytes)):
        if isinstance(messages, str):
            return [{"role": "user", "parts": [{"type": "text", "content": messages}]}]
        return messages
    out = []
    for message in messages:
        if isinstance(message, Mapping) and "parts" not in message and "content" in message:
            content = message.get("content")
            parts = (
                [{"type": "text", "content": content}] if isinstance(content, str)
                else [{"type": "generic", "content": content}]
            )
            converted: dict[str, Any] = {"role": message.get("role", "user"), "parts": parts}
            if message.get("name"):
                converted["name"] = message["name"]
            out.append(converted)
        else:
            out.append(message)
    return out


class LLMCallHandle:
    """``with llmobs.llm_call(provider="ollama", model="llama3.2") as call: ...``

    One LLM span with the same attributes, metrics and cost an integration produces. Record what you learn
    from the response with ``record_usage``, ``set_response``, ``record_output``; call ``record_chunk`` for
    each streamed chunk to get time to first chunk. An exception leaving the block marks the span ERROR and
    propagates unchanged.
    """

    __slots__ = ("_flight", "_token", "call")

    def __init__(
        self,
        provider: str,
        model: str | None = None,
        operation: str = sc.OP_CHAT,
        *,
        server_address: str | None = None,
        server_port: int | None = None,
        stream: bool = False,
        input_messages: Any = None,
        system_instructions: Any = None,
        conversation_id: str | None = None,
        attributes: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> None:
        request: dict[str, Any] = {}
        for key, value in params.items():
            if value is None:
                continue
            attr = _PARAM_NAMES.get(key)
            if attr is None:
                report("llm_call", TypeError(f"unknown request parameter {key!r}"))
                continue
            if key == "stop_sequences" and isinstance(value, str):
                value = [value]
            request[attr] = value
        if attributes:
            request.update(attributes)
        self.call = LLMCall(
            operation, provider, model, server_address=server_address, server_port=server_port,
            stream=stream, params=request, integration="manual",
        )
        self.call.conversation_id = conversation_id
        if input_messages is not None:
            self.call.input_messages = to_semconv_messages(input_messages)
        if system_instructions is not None:
            self.call.system_instructions = (
                [{"type": "text", "content": system_instructions}]
                if isinstance(system_instructions, str) else system_instructions
            )
        self._token: Any = None
        self._flight: Any = None

    @property
    def span(self) -> Any:
        return self.call._span

    def record_usage(
        self,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        *,
        cache_read_input_tokens: int | None = None,
        cache_write_input_tokens: int | None = None,
        reasoning_output_tokens: int | None = None,
    ) -> None:
        self.call.usage = Usage(
            input_tokens, output_tokens, cache_read_input_tokens, cache_write_input_tokens,
            reasoning_output_tokens,
        )

    def set_response(
        self, *, id: str | None = None, model: str | None = None, finish_reasons: Sequence[str] | None = None
    ) -> None:
        if id is not None:
            self.call.response_id = id
        if model is not None:
            self.call.response_model = model
        if finish_reasons is not None:
            self.call.finish_reasons = list(finish_reasons)

    def record_input(self, messages: Any) -> None:
        self.call.input_messages = to_semconv_messages(messages)

    def record_output(self, messages: Any) -> None:
        if isinstance(messages, str):
            messages = [{"role": "assistant", "parts": [{"type": "text", "content": messages}]}]
        else:
            messages = to_semconv_messages(messages)
        self.call.output_messages = messages

    def record_chunk(self, has_content: bool = True) -> None:
        call = self.call
        t = _perf()
        call.chunks += 1
        call.last_chunk_t = t
        if has_content and call.first_chunk_t is None:
            call.first_chunk_t = t

    def set_attribute(self, key: str, value: Any) -> None:
        extra = self.call.extra_attributes
        if extra is None:
            extra = self.call.extra_attributes = {}
        extra[key] = value

    def __enter__(self) -> LLMCallHandle:
        span = _recorder.start(self.call)
        if span is not None:
            self._token = otel_context.attach(trace.set_span_in_context(span))
            self._flight = _recorder._in_flight.set(self.call)
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        flight, self._flight = self._flight, None
        if flight is not None:
            _recorder._in_flight.reset(flight)
        token, self._token = self._token, None
        if token is not None:
            otel_context.detach(token)
        if exc is not None:
            _recorder.fail(self.call, exc)
        else:
            _recorder.finish(self.call)

    async def __aenter__(self) -> LLMCallHandle:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)


llm_call = LLMCallHandle


# --- scores ------------------------------------------------------------------------------------------------

def _as_int(value: int | str, bits: int) -> int:
    if isinstance(value, int):
        return value
    return int(value, 16) & ((1 << bits) - 1)


def score(
    name: str,
    value: float | int | bool | None = None,
    *,
    label: str | None = None,
    comment: str | None = None,
    span: Any = None,
    trace_id: int | str | None = None,
    span_id: int | str | None = None,
) -> bool:
    """Attach feedback or an evaluation to a span: a numeric ``value`` and/or a ``label``, with a ``comment``.

    The target is ``span`` (an OTel span or an llmobs handle), else ``trace_id``/``span_id`` (ints or hex
    strings, e.g. from a feedback form long after the request), else the current span. The score is exported
    as a zero-length child span of the target named ``score <name>`` with ``gen_ai.evaluation.*`` attributes,
    so it lands in the target's trace in any backend. Returns False (and records nothing) without a target.
    """
    try:
        target = getattr(span, "span", span) if span is not None else None
        if target is not None:
            ctx = target.get_span_context()
        elif trace_id is not None and span_id is not None:
            ctx = SpanContext(
                trace_id=_as_int(trace_id, 128), span_id=_as_int(span_id, 64), is_remote=True,
                trace_flags=TraceFlags(TraceFlags.SAMPLED),
            )
        else:
            ctx = trace.get_current_span().get_span_context()
        if not ctx.is_valid:
            return False
        attrs: dict[str, Any] = {
            sc.LLMOBS_SPAN_KIND: sc.KIND_SCORE,
            sc.GEN_AI_EVALUATION_NAME: name,
            sc.LLMOBS_SCORE_TARGET_TRACE_ID: format(ctx.trace_id, "032x"),
            sc.LLMOBS_SCORE_TARGET_SPAN_ID: format(ctx.span_id, "016x"),
        }
        if value is not None:
            attrs[sc.GEN_AI_EVALUATION_SCORE_VALUE] = float(value)
        if label is not None:
            attrs[sc.GEN_AI_EVALUATION_SCORE_LABEL] = label
        if comment is not None:
            attrs[sc.GEN_AI_EVALUATION_EXPLANATION] = comment
        parent = trace.set_span_in_context(NonRecordingSpan(ctx))
        tracer = _runtime.get().tracer
        tracer.start_span(f"score {name}", context=parent, kind=SpanKind.INTERNAL, attributes=attrs).end()
        return True
    except Exception as exc:
        report("score", exc)
        return False
