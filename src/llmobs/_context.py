"""``llmobs.context(...)``: user, session, tags and metadata that reach every span started inside.

The values live in a ContextVar, so they follow ``await`` and are copied into child asyncio tasks (and into
threads wherever the app propagates context the standard way, e.g. ``contextvars.copy_context().run``).
Once the app uses it, a span processor stamps them onto spans other instrumentations start (HTTP clients);
llmobs's own spans read them directly.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from . import semconv as sc

_attrs: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("llmobs_context", default=None)


def current_attributes() -> dict[str, Any] | None:
    return _attrs.get()


# The processor costs ~2 µs on every span of the app, so it is added to a provider only once the app uses
# ``llmobs.context()`` (llmobs's own spans read the context themselves).
_lock = threading.Lock()
_used = False
_providers: list[Any] = []


def stamp_spans_of(provider: Any) -> None:
    """Make ``provider``'s spans carry the context's attributes (now if context() was used, else on first use)."""
    if not hasattr(provider, "add_span_processor"):
        return
    with _lock:
        if any(p is provider for p in _providers):
            return
        _providers.append(provider)
        if _used:
            _add_processor(provider)


def _add_processor(provider: Any) -> None:
    if getattr(provider, "_llmobs_context_processor", False):
        return
    provider.add_span_processor(ContextSpanProcessor())
    try:
        provider._llmobs_context_processor = True
    except Exception:
        pass


def _first_use() -> None:
    global _used
    with _lock:
        if _used:
            return
        _used = True
        for provider in _providers:
            try:
                _add_processor(provider)
            except Exception:
                pass


@contextmanager
def context(
    *,
    user_id: str | None = None,
    session_id: str | None = None,
    tags: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Iterator[None]:
    """Attach ``user.id``, ``session.id``, ``llmobs.tags`` and ``llmobs.metadata.<key>`` to every span inside.

    Nested contexts merge: inner values win, tags accumulate.
    """
    if not _used:
        _first_use()
    parent = _attrs.get()
    merged: dict[str, Any] = dict(parent) if parent else {}
    if user_id is not None:
        merged[sc.USER_ID] = str(user_id)
    if session_id is not None:
        merged[sc.SESSION_ID] = str(session_id)
    if tags:
        old = list(merged.get(sc.LLMOBS_TAGS, ()))
        merged[sc.LLMOBS_TAGS] = tuple(dict.fromkeys([*old, *(str(t) for t in tags)]))
    if metadata:
        for key, value in metadata.items():
            if not isinstance(value, (str, bool, int, float)):
                value = str(value)
            merged[sc.LLMOBS_METADATA_PREFIX + str(key)] = value
    token = _attrs.set(merged or None)
    try:
        yield
    finally:
        _attrs.reset(token)


class ContextSpanProcessor:
    """Stamps the current ``llmobs.context`` attributes on spans started by other instrumentations.

    Spans llmobs starts itself already carry them (the recorder adds them at start), so they are skipped.
    """

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        attrs = _attrs.get()
        if attrs is None:
            return
        scope = getattr(span, "instrumentation_scope", None)
        if scope is not None and scope.name == sc.SCOPE_NAME:
            return
        try:
            span.set_attributes(attrs)
        except Exception:
            pass

    def _on_ending(self, span: Any) -> None:
        return None

    def on_end(self, span: Any) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
