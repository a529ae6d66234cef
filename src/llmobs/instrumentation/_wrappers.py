"""The wrapt wrappers every integration puts on its library's API methods.

``method_wrappers(name, build, on_result)`` gives a sync and an async wrapper: each builds the call from the
method's arguments (``build(instance, kwargs)``) and runs the method through the recorder
(``_recorder.invoke`` / ``ainvoke``), which starts the span, makes it current, finishes or fails it, and hands
the result to ``on_result``. A method reached from inside a call already in flight (an SDK helper calling its
own ``create``, an instrumented client inside ``llmobs.llm_call``) runs untouched: one API call, one span. If
building the call fails, the method runs as if uninstrumented and the fault is reported once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _recorder
from .._model import LLMCall
from .._safety import report

Build = Callable[[Any, dict[str, Any]], LLMCall]


def method_wrappers(name: str, build: Build, on_result: _recorder.OnResult) -> tuple[Any, Any]:
    in_flight = _recorder._in_flight
    invoke = _recorder.invoke
    ainvoke = _recorder.ainvoke
    where = f"{name}.call"

    def sync_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if in_flight.get() is not None:
            return wrapped(*args, **kwargs)
        try:
            call = build(instance, kwargs)
        except Exception as exc:
            report(where, exc)
            return wrapped(*args, **kwargs)
        return invoke(call, wrapped, args, kwargs, on_result)

    async def async_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if in_flight.get() is not None:
            return await wrapped(*args, **kwargs)
        try:
            call = build(instance, kwargs)
        except Exception as exc:
            report(where, exc)
            return await wrapped(*args, **kwargs)
        return await ainvoke(call, wrapped, args, kwargs, on_result)

    return sync_wrapper, async_wrapper


ClientInfo = tuple[str, str | None, int | None]  # (gen_ai.provider.name, server.address, server.port)


class ClientInfoCache:
    """What a client says about its provider and server, worked out once per client and base URL: the lookup
    runs on every call, the detection only when a client is new or its base URL object changed. Clients are
    held weakly, so a dropped client leaves nothing behind."""

    def __init__(self, detect: Callable[[Any, Any], ClientInfo]) -> None:
        import weakref

        self._detect = detect
        self._cache: weakref.WeakKeyDictionary[Any, tuple[Any, ClientInfo]] = weakref.WeakKeyDictionary()

    def get(self, client: Any, url: Any) -> ClientInfo:
        try:
            cached = self._cache.get(client)
        except TypeError:  # not weak-referenceable
            return self._detect(client, url)
        if cached is not None and cached[0] is url:
            return cached[1]
        info = self._detect(client, url)
        try:
            self._cache[client] = (url, info)
        except TypeError:
            pass
        return info
