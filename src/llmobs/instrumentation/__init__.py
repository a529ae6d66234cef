"""The integration registry and the patching helper every integration uses.

An integration maps one library's API onto the recorder. It is registered by name with the import name of
the library it instruments; ``llmobs.instrument()`` asks wrapt to apply it when that library is imported
(at once if it already is), so instrumenting never imports a library the app does not use.

Third-party packages can add integrations through the ``llmobs.integrations`` entry-point group (the entry
point loads an ``Integration`` subclass) or by calling ``register()`` before ``instrument()``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from .._safety import report
from . import _coexist

_MISSING = object()


class Patcher:
    """Applies wrapt function wrappers and restores the exact original attributes afterwards.

    A method another instrumentation already wrapped is left to it (see ``_coexist``): ``foreign`` maps its
    path to that instrumentation's module."""

    def __init__(self, library: str = "") -> None:
        self._applied: list[tuple[Any, str, Any]] = []
        self.library = library
        self.foreign: dict[str, str] = {}

    def wrap(self, owner: Any, path: str, wrapper: Callable[..., Any]) -> bool:
        """Wrap ``owner.<path>`` (``path`` may be dotted: ``"Completions.create"``). Returns False, and
        changes nothing, when the attribute does not exist in this version of the library."""
        try:
            parent = owner
            *parents, attr = path.split(".")
            for name in parents:
                parent = getattr(parent, name)
            if not hasattr(parent, attr):
                return False
            original = vars(parent).get(attr, _MISSING) if hasattr(parent, "__dict__") else _MISSING
            owner = _coexist.foreign_wrapper(getattr(parent, attr) if original is _MISSING else original)
            if owner is not None:
                self.foreign[path] = owner
                _coexist.warn_once(self.library or path, path, owner)
                return False
            import wrapt

            wrapt.wrap_function_wrapper(parent, attr, wrapper)
            self._applied.append((parent, attr, original))
            return True
        except Exception as exc:
            report(f"patch {path}", exc)
            return False

    def restore(self) -> None:
        while self._applied:
            parent, attr, original = self._applied.pop()
            try:
                if original is _MISSING:
                    delattr(parent, attr)
                else:
                    setattr(parent, attr, original)
            except Exception as exc:
                report(f"unpatch {attr}", exc)

    def __len__(self) -> int:
        return len(self._applied)


class Integration:
    """Base class: set ``name`` and ``library``; implement ``patch(module)`` with ``self.patcher``."""

    name: str = ""
    library: str = ""

    def __init__(self) -> None:
        self.patcher = Patcher(self.name)

    def patch(self, module: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def competitor_hooks(self, module: Any) -> list[tuple[Any, str]]:
        """(owner, attribute) points where another instrumentation of this library hooks in below the methods
        llmobs wraps (OpenInference wraps the openai client's ``request``). If one is wrapped when llmobs
        instruments, llmobs leaves the library alone; if one gets wrapped later, calls pass through."""
        return []

    def unpatch(self) -> None:
        self.patcher.restore()


# name -> (library import name, "module:Class" or Integration subclass)
_REGISTRY: dict[str, tuple[str, str | type[Integration]]] = {}
_entry_points_loaded = False


def register(integration: type[Integration] | str, *, name: str | None = None, library: str | None = None) -> None:
    """Register an integration class (or a lazy ``"module:Class"`` reference with ``name`` and ``library``)."""
    if isinstance(integration, str):
        if not name or not library:
            raise ValueError("a lazy integration reference needs name= and library=")
        _REGISTRY[name] = (library, integration)
    else:
        _REGISTRY[name or integration.name] = (library or integration.library, integration)


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def names() -> list[str]:
    _load_entry_points()
    return sorted(_REGISTRY)


def library_of(name: str) -> str:
    return _REGISTRY[name][0]


def load(name: str) -> Integration:
    _library, target = _REGISTRY[name]
    if isinstance(target, str):
        module_name, _, cls_name = target.partition(":")
        target = getattr(importlib.import_module(module_name), cls_name)
    assert not isinstance(target, str)
    return target()


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    try:
        from importlib.metadata import entry_points

        for ep in entry_points(group="llmobs.integrations"):
            if ep.name in _REGISTRY:
                continue
            try:
                cls = ep.load()
                register(cls, name=ep.name)
            except Exception as exc:
                report(f"entry point {ep.name}", exc)
    except Exception as exc:
        report("entry points", exc)


# The built-in integrations, registered lazily (nothing here imports a provider library).
register("llmobs.instrumentation.openai:OpenAIIntegration", name="openai", library="openai")
register("llmobs.instrumentation.anthropic:AnthropicIntegration", name="anthropic", library="anthropic")
register("llmobs.instrumentation.google_genai:GoogleGenAIIntegration", name="google_genai", library="google.genai")
register("llmobs.instrumentation.langchain:LangChainIntegration", name="langchain", library="langchain_core")
register("llmobs.instrumentation.llama_index:LlamaIndexIntegration", name="llama_index", library="llama_index.core")
