"""Captured content: compact JSON, bounded in size. Only ever called when the user opted in."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

TRUNCATION_MARKER = "…[llmobs: truncated {n} chars]"


def _default(obj: Any) -> Any:
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(obj)).decode("ascii")
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    dump = getattr(obj, "model_dump", None)  # pydantic v2 (provider SDK objects)
    if callable(dump):
        try:
            return dump(mode="json", exclude_none=True)
        except Exception:
            pass
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    return repr(obj)


def to_json(value: Any) -> str:
    """Compact JSON (the separators util-genai uses); strings are kept as they are."""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=_default, ensure_ascii=False, separators=(",", ":"))


def bounded(text: str, max_len: int) -> str:
    if len(text) <= max_len:
        return text
    cut = len(text) - max_len
    return text[:max_len] + TRUNCATION_MARKER.format(n=cut)


def capture(value: Any, max_len: int) -> str | None:
    """Serialise one captured field; never raises (an unserialisable value becomes its repr)."""
    try:
        return bounded(to_json(value), max_len)
    except Exception:
        try:
            return bounded(repr(value), max_len)
        except Exception:
            return None
