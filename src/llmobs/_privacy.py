"""Content capture at run time: ``set_capture_content``, ``capture_content`` (one context) and ``set_redactor``.

See docs/privacy.md. The capture mode and the redaction hook live on the running runtime (``instrument()``
sets both from its arguments and the environment); a ``capture_content()`` block overrides the mode in its
context only, through one context variable that ``Runtime.capture`` reads.
"""

from __future__ import annotations

from typing import Any

from . import _runtime
from . import semconv as sc
from ._config import parse_capture_mode, parse_redact
from ._errors import ConfigError
from ._safety import report


def redactor_of(value: Any) -> Any:
    """The hook for a parsed ``redact`` setting: a callable as is, built-in names as their chain, or None."""
    if value is None or callable(value):
        return value
    from .redactors import from_names

    return from_names(value)


def set_capture_content(mode: bool | str) -> None:
    """Change the running runtime's content capture mode: ``NO_CONTENT``, ``SPAN_ONLY``, ``EVENT_ONLY``,
    ``SPAN_AND_EVENT`` (any case), ``True`` (= ``SPAN_ONLY``) or ``False``. Raises ``llmobs.ConfigError``
    for anything else. ``instrument()`` sets the mode again from its own settings when it next runs."""
    if mode is None:
        raise ConfigError("capture_content", mode, (*_CAPTURE_MODES, "true", "false"))
    parsed = parse_capture_mode("capture_content", mode)
    rt = _runtime.get()
    rt.set_capture_mode(parsed)
    if parsed in (sc.CAPTURE_EVENT_ONLY, sc.CAPTURE_SPAN_AND_EVENT) and rt.event_logger is None:
        _add_event_logger(rt)


_CAPTURE_MODES = (sc.CAPTURE_NO_CONTENT, sc.CAPTURE_SPAN_ONLY, sc.CAPTURE_EVENT_ONLY, sc.CAPTURE_SPAN_AND_EVENT)


def _add_event_logger(rt: _runtime.Runtime) -> None:
    """Content events need a logs pipeline; ``instrument()`` sets one up only when its mode has events."""
    from . import _setup
    from .version import __version__

    try:
        with _setup._lock:
            state = _setup._state
            if state is None or state.runtime is not rt or _setup._test_providers is not None:
                return
            lp = state.logger_provider
            if lp is None:
                lp = _setup._global_logger_provider() or _setup._owned.get("logs")
                if lp is None:
                    lp = _setup._new_logger_provider(state.config)
                state.logger_provider = lp
            rt.event_logger = lp.get_logger(sc.SCOPE_NAME, __version__, schema_url=sc.SCHEMA_URL)
    except Exception as exc:
        report("set_capture_content", exc)


class capture_content:  # lower case: used like a function, ``with llmobs.capture_content(False): ...``
    """Override the content capture mode in the current context (this thread or task and what it starts):
    ``with llmobs.capture_content(False): ...`` records no content for the calls inside, whatever the
    process-wide mode; ``capture_content("SPAN_ONLY")`` records it on spans for them. The override replaces
    the process-wide mode inside the block (``None`` restores it); blocks nest. Raises ``llmobs.ConfigError``
    for a mode it does not know. Also usable as ``async with``."""

    __slots__ = ("_mode", "_tokens")

    def __init__(self, mode: bool | str | None) -> None:
        self._mode = None if mode is None else parse_capture_mode("capture_content", mode)
        self._tokens: list[Any] = []

    @property
    def mode(self) -> str | None:
        return self._mode

    def __enter__(self) -> capture_content:
        _runtime.override_used = True
        self._tokens.append(_runtime.capture_override.set(self._mode))
        return self

    def __exit__(self, *exc: Any) -> None:
        _runtime.capture_override.reset(self._tokens.pop())

    async def __aenter__(self) -> capture_content:
        return self.__enter__()

    async def __aexit__(self, *exc: Any) -> None:
        self.__exit__(*exc)


def set_redactor(redact: Any) -> None:
    """Set the running runtime's redaction hook: a callable ``redact(text, field) -> str``, built-in names
    (``"emails,api_keys"`` or a list), or None to stop redacting. Raises ``llmobs.ConfigError`` otherwise."""
    _runtime.get().redactor = redactor_of(parse_redact("redact", redact))
