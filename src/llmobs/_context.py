"""``llmobs.context(...)``: user, session, tags and metadata that reach every span started inside.

The values live in a ContextVar, so they follow ``await`` and are copied into child asyncio tasks (and into
threads wherever the app propagates context the standard way, e.g. ``contextvars.copy_context().run``).
A span processor stamps them onto every span, including spans other instrumentations start (HTTP clients).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from . import semconv as sc

_attrs: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("llmobs_context", default=None)


def current_attributes() -> dict[str, Any] | None:
    return _attrs.get()


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
