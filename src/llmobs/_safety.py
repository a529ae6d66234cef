"""Instrumentation must never break the app: helpers that contain and report our own failures."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

logger = logging.getLogger("llmobs")

_seen: set[str] = set()
_SEEN_MAX = 1024

F = TypeVar("F", bound=Callable[..., Any])


def report(where: str, exc: BaseException) -> None:
    """Log an instrumentation failure once per place and exception type, at debug level."""
    try:
        key = f"{where}:{type(exc).__qualname__}"
        if key in _seen:
            return
        if len(_seen) >= _SEEN_MAX:
            _seen.clear()
        _seen.add(key)
        logger.debug("llmobs: instrumentation error in %s (the call proceeds unchanged)", where, exc_info=exc)
    except Exception:  # pragma: no cover - logging itself failed
        pass


def guarded(where: str, default: Any = None) -> Callable[[F], F]:
    """Decorate an instrumentation helper so an exception inside it is reported and ``default`` returned."""

    def deco(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                report(where, exc)
                return default

        return wrapper  # type: ignore[return-value]

    return deco
