"""What the integrations of Stainless-generated SDKs (``openai``, ``anthropic``) share: their raw-response
wrappers (``with_raw_response`` / ``with_streaming_response``) return an ``APIResponse`` whose body the user
parses later, so the span of such a call must outlive the call.

:class:`RawResponses` finds an SDK's response classes once, when the SDK is patched, and makes the
``on_result`` handlers the integrations give the recorder: a parsed result fills the call; a stream is wrapped
so its span ends with it; a raw response is wrapped so its span ends when the user parses it (a stream: when
that stream ends), closes it, leaves its ``with`` block, or drops it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import wrapt

from .. import _recorder, _runtime
from .._model import LLMCall
from .._safety import report
from .._streams import StreamAccumulator, end_stream, wrap_stream

Fill = Callable[[LLMCall, Any], None]
MakeAccumulator = Callable[[bool], StreamAccumulator]


def capturing() -> bool:
    """Whether content capture is on (read per call: it can be toggled at runtime)."""
    rt = _runtime._current or _runtime.get()
    return rt.capture


def optional_import(name: str) -> Any:
    """The module, or None when it cannot be imported (an older or newer SDK layout)."""
    try:
        return importlib.import_module(name)
    except Exception:
        return None


def _end_raw(proxy: Any) -> None:
    stream = proxy._self_stream
    if stream is not None:
        end_stream(stream)
    else:
        _recorder.finish(proxy._self_call)


class _RawProxy(wrapt.ObjectProxy):
    """A raw response whose body the user reads later."""

    def __init__(self, wrapped: Any, call: LLMCall, fill: Fill, accumulator: MakeAccumulator) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_fill = fill
        self._self_acc = accumulator
        self._self_stream: Any = None
        self._self_raw_stream: Any = None

    def _self_after_parse(self, parsed: Any) -> Any:
        call = self._self_call
        if self._self_stream is not None:
            return self._self_stream if parsed is self._self_raw_stream else parsed
        if call._done:
            return parsed
        try:
            if call.stream and (hasattr(parsed, "__next__") or hasattr(parsed, "__anext__")):
                self._self_raw_stream = parsed
                self._self_stream = wrap_stream(parsed, call, self._self_acc(capturing()))
                return self._self_stream
            self._self_fill(call, parsed)
        except Exception as exc:
            report(f"{call.integration}.raw_response", exc)
        _recorder.finish(call)
        return parsed

    def __del__(self) -> None:
        try:
            if self._self_stream is None and not self._self_call._done:
                _recorder.finish(self._self_call)
        except Exception:
            pass


class SyncRawProxy(_RawProxy):
    def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_after_parse(self.__wrapped__.parse(*args, **kwargs))

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            _end_raw(self)


class AsyncRawProxy(_RawProxy):
    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_after_parse(await self.__wrapped__.parse(*args, **kwargs))

    async def close(self) -> Any:
        try:
            return await self.__wrapped__.close()
        finally:
            _end_raw(self)


class LegacyRawProxy(_RawProxy):
    """``with_raw_response`` of a streamed request: ``parse()`` (sync, also on async clients) gives the stream."""

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_after_parse(self.__wrapped__.parse(*args, **kwargs))


class RawResponses:
    """One SDK's raw response classes, and the result handlers built on them."""

    def __init__(self) -> None:
        self.types: tuple[type, ...] = ()
        self.async_types: tuple[type, ...] = ()

    def find(self, package: str) -> None:
        """Read the SDK's response classes (``<package>._response``, ``<package>._legacy_response``)."""
        raw: list[type] = []
        async_raw: list[type] = []
        legacy = optional_import(f"{package}._legacy_response")
        if legacy is not None and isinstance(getattr(legacy, "LegacyAPIResponse", None), type):
            raw.append(legacy.LegacyAPIResponse)
        response = optional_import(f"{package}._response")
        if response is not None:
            for name in ("APIResponse", "AsyncAPIResponse"):
                cls = getattr(response, name, None)
                if isinstance(cls, type):
                    raw.append(cls)
                    if name.startswith("Async"):
                        async_raw.append(cls)
        self.types, self.async_types = tuple(raw), tuple(async_raw)

    def _on_raw(self, call: LLMCall, result: Any, fill: Fill, accumulator: MakeAccumulator) -> Any:
        if isinstance(result, self.async_types):
            call._deferred = True
            return AsyncRawProxy(result, call, fill, accumulator)
        if type(result).__name__ == "LegacyAPIResponse":
            if not call.stream:  # body already read: parse now (the SDK caches it, so the user's parse() is free)
                try:
                    fill(call, result.parse())
                except Exception as exc:
                    report(f"{call.integration}.raw_response", exc)
                return result
            call._deferred = True
            return LegacyRawProxy(result, call, fill, accumulator)
        call._deferred = True
        return SyncRawProxy(result, call, fill, accumulator)

    def handler(self, fill: Fill, accumulator: MakeAccumulator,
                on_stream: Callable[[Any], None] | None = None) -> Callable[[LLMCall, Any], Any]:
        """``on_result`` for the recorder: fill the call from a parsed result, wrap a stream (then
        ``on_stream(proxy)``), or wrap a raw response."""

        def on_result(call: LLMCall, result: Any) -> Any:
            if isinstance(result, self.types):
                return self._on_raw(call, result, fill, accumulator)
            if call.stream:
                if hasattr(result, "__next__") or hasattr(result, "__anext__"):
                    proxy = wrap_stream(result, call, accumulator(capturing()))
                    if on_stream is not None:
                        on_stream(proxy)
                    return proxy
                return result
            fill(call, result)
            return result

        return on_result
