"""Stream proxies: the span lives as long as the stream, and ends exactly once on every exit path.

A proxy wraps the provider's stream object with ``wrapt.ObjectProxy``, so ``isinstance`` checks, attributes
and helper methods of the original keep working. Per chunk it does the least it can: one clock read, a
counter, and the integration's accumulator (which reassembles text, tool calls and usage). The span ends:
- when the stream is exhausted (complete);
- when the stream raises (ERROR, with what arrived so far);
- on ``close()`` / ``aclose()`` / leaving a ``with`` block early (incomplete);
- when the proxy is garbage-collected unfinished, e.g. after ``break`` (incomplete, ended at the last chunk).
"""

from __future__ import annotations

import inspect
import time
from typing import Any

import wrapt

from . import _recorder
from ._model import LLMCall
from ._safety import report

_perf = time.perf_counter


class StreamAccumulator:
    """Per-provider stream state. ``add`` sees every chunk and returns True when the chunk carried content
    (the first such chunk sets time-to-first-chunk); ``finish`` writes what was gathered into the call."""

    __slots__ = ()

    def add(self, chunk: Any) -> bool:
        return True

    def finish(self, call: LLMCall) -> None:
        return None


class ToolCallAssembler:
    """Reassembles streamed tool calls (scenario 5) for any provider's accumulator.

    Providers stream a tool call as fragments keyed by an index (OpenAI ``tool_calls[i].index``, Anthropic's
    content-block index with ``input_json_delta``): the id and name come with the first fragment, the JSON
    arguments arrive in pieces. ``parts()`` gives semconv ``tool_call`` parts in index order, with the
    arguments parsed (kept as the raw string when the stream ended before they were valid JSON).
    Only string concatenation happens per chunk; parsing happens once, in ``parts()``.
    """

    __slots__ = ("_calls",)

    def __init__(self) -> None:
        self._calls: dict[int, list[Any]] = {}  # index -> [id, name, [argument fragments]]

    def add(self, index: int, id: str | None = None, name: str | None = None, arguments: str | None = None) -> None:
        entry = self._calls.get(index)
        if entry is None:
            entry = self._calls[index] = [None, None, []]
        if id and entry[0] is None:
            entry[0] = id
        if name and entry[1] is None:
            entry[1] = name
        if arguments:
            entry[2].append(arguments)

    def __bool__(self) -> bool:
        return bool(self._calls)

    def parts(self) -> list[dict[str, Any]]:
        by_index = self.by_index()
        return [by_index[i] for i in sorted(by_index)]

    def by_index(self) -> dict[int, dict[str, Any]]:
        """The tool-call parts keyed by their stream index (Anthropic: the content block's position)."""
        import json

        out = {}
        for index, (call_id, name, fragments) in self._calls.items():
            raw = "".join(fragments)
            arguments: Any
            try:
                arguments = json.loads(raw) if raw else {}
            except ValueError:
                arguments = raw
            part: dict[str, Any] = {"type": "tool_call", "name": name, "arguments": arguments}
            if call_id:
                part["id"] = call_id
            out[index] = part
        return out


def _end(proxy: Any, exc: BaseException | None, complete: bool, end_t: float | None = None) -> None:
    call: LLMCall = proxy._self_call
    if call._done:
        return
    try:
        proxy._self_acc.finish(call)
    except Exception as err:
        report(f"{call.integration or 'stream'}.accumulator.finish", err)
    if not complete:
        call.incomplete = True
    if exc is not None:
        _recorder.fail(call, exc, end_t)
    else:
        _recorder.finish(call, end_t)


def end_stream(proxy: Any) -> None:
    """End a stream proxy's call now, as incomplete unless it already ended (a helper closed the response
    underneath the proxy, say). Harmless when it has ended."""
    try:
        _end(proxy, None, False, proxy._self_call.last_chunk_t)
    except Exception as exc:
        report("stream.end", exc)


class _ChunkState:
    """What the per-chunk path reads, in one plain object: an attribute of a wrapt proxy costs ~200 ns to
    read (its getattr looks at the wrapped object's names first), one of this costs ~20 ns."""

    __slots__ = ("add", "call", "it")

    def __init__(self, it: Any, call: LLMCall, add: Any) -> None:
        self.it = it
        self.call = call
        self.add = add


class _StreamProxy(wrapt.ObjectProxy):
    """What the sync and async proxies share: state, and ending an abandoned stream when collected."""

    def __init__(self, wrapped: Any, call: LLMCall, accumulator: StreamAccumulator, next_method: str) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_acc = accumulator
        # Iterate the stream itself when it is an iterator (one generator layer less per chunk).
        it = wrapped if hasattr(type(wrapped), next_method) else None
        self._self_state = _ChunkState(it, call, accumulator.add)

    def __del__(self) -> None:
        try:
            call = self._self_call
        except Exception:
            return
        if not call._done:
            _end(self, None, False, call.last_chunk_t)


class SyncStreamProxy(_StreamProxy):
    def __init__(self, wrapped: Any, call: LLMCall, accumulator: StreamAccumulator) -> None:
        super().__init__(wrapped, call, accumulator, "__next__")

    def __iter__(self) -> Any:
        return self

    def __next__(self) -> Any:
        state = self._self_state
        it = state.it
        if it is None:
            it = state.it = iter(self.__wrapped__)
        try:
            chunk = next(it)
        except StopIteration:
            _end(self, None, True)
            raise
        except BaseException as exc:
            _end(self, exc, False)
            raise
        call = state.call  # runs once per chunk: kept inline
        t = _perf()
        call.chunks += 1
        call.last_chunk_t = t
        try:
            if state.add(chunk) and call.first_chunk_t is None:
                call.first_chunk_t = t
        except Exception as exc:
            report(f"{call.integration or 'stream'}.accumulator.add", exc)
        return chunk

    def __enter__(self) -> Any:
        entered = self.__wrapped__.__enter__()
        return self if entered is self.__wrapped__ else entered

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(exc_type, exc, tb)
        finally:
            _end(self, None, False)

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            _end(self, None, False)


class AsyncStreamProxy(_StreamProxy):
    def __init__(self, wrapped: Any, call: LLMCall, accumulator: StreamAccumulator) -> None:
        super().__init__(wrapped, call, accumulator, "__anext__")

    def __aiter__(self) -> Any:
        return self

    async def __anext__(self) -> Any:
        state = self._self_state
        it = state.it
        if it is None:
            it = state.it = self.__wrapped__.__aiter__()
        try:
            chunk = await it.__anext__()
        except StopAsyncIteration:
            _end(self, None, True)
            raise
        except BaseException as exc:
            _end(self, exc, False)
            raise
        call = state.call  # runs once per chunk: kept inline
        t = _perf()
        call.chunks += 1
        call.last_chunk_t = t
        try:
            if state.add(chunk) and call.first_chunk_t is None:
                call.first_chunk_t = t
        except Exception as exc:
            report(f"{call.integration or 'stream'}.accumulator.add", exc)
        return chunk

    async def __aenter__(self) -> Any:
        entered = await self.__wrapped__.__aenter__()
        return self if entered is self.__wrapped__ else entered

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(exc_type, exc, tb)
        finally:
            _end(self, None, False)

    def close(self) -> Any:
        """Mirror the wrapped ``close``: awaitable if it is, plain otherwise."""
        try:
            result = self.__wrapped__.close()
        except BaseException:
            _end(self, None, False)
            raise
        if inspect.isawaitable(result):
            return self._self_await_then_end(result)
        _end(self, None, False)
        return result

    def aclose(self) -> Any:
        closer = getattr(self.__wrapped__, "aclose", None)
        if closer is None:
            return self.close()
        return self._self_await_then_end(closer())

    async def _self_await_then_end(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        finally:
            _end(self, None, False)


class _FirstStepInSpan:
    """The first step of a stream that sends its request on its first ``next()`` (a generator not yet
    started): that step runs with the call's span current and the call in flight, as ``invoke`` runs a
    request, so HTTP-level spans and propagated headers belong to the LLM span. Then the proxy iterates the
    stream itself: nothing of this stays on the per-chunk path. A failure in that step is a refused request:
    the call fails, as a non-streaming one would, rather than ending as a cut stream."""

    __slots__ = ("gen", "state")

    def __init__(self, gen: Any, state: _ChunkState) -> None:
        self.gen = gen
        self.state = state

    def __iter__(self) -> Any:
        return self

    def __next__(self) -> Any:
        state = self.state
        gen = self.gen
        state.it = gen
        call = state.call
        try:
            token = _attach(_set_span_in_context(call._span))
            flight = _recorder._in_flight.set(call)
        except Exception as exc:  # the request runs outside the span; the stream is recorded as usual
            report(f"{call.integration or 'stream'}.first_step", exc)
            return next(gen)
        try:
            return next(gen)
        except StopIteration:
            raise
        except BaseException as exc:
            _recorder.fail(call, exc)
            raise
        finally:
            _recorder._in_flight.reset(flight)
            _detach(token)


_attach = _recorder._attach
_detach = _recorder._detach
_set_span_in_context = _recorder._set_span_in_context


def wrap_stream(stream: Any, call: LLMCall, accumulator: StreamAccumulator | None = None, *,
                lazy_request: bool = False) -> Any:
    """Wrap a provider stream (sync or async, chosen by its protocol) so the call ends with the stream.

    ``lazy_request``: the stream is a generator that sends its request on the first ``next()`` (google-genai's
    per-request stream); that first step then runs inside the call's span (see ``_FirstStepInSpan``)."""
    acc = accumulator if accumulator is not None else StreamAccumulator()
    if hasattr(stream, "__aiter__") and not hasattr(stream, "__iter__"):
        return AsyncStreamProxy(stream, call, acc)
    proxy = SyncStreamProxy(stream, call, acc)
    if lazy_request and inspect.isgenerator(stream) and inspect.getgeneratorstate(stream) == inspect.GEN_CREATED:
        state = proxy._self_state
        state.it = _FirstStepInSpan(stream, state)
    return proxy
