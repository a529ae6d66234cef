"""Captured content: compact JSON, bounded in size. Only ever called when the user opted in."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

TRUNCATION_MARKER = "…[llmobs: truncated {n} chars]"
# What a field becomes when the redaction hook raised or returned a non-str for a str (see docs/privacy.md).
REDACTION_FAILED = "[llmobs: redaction failed]"
Redactor = Callable[[str, str], str]


def _default(obj: Any) -> Any:
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return blob_descriptor(None, None, obj)  # bytes are never exported, only their size and hash
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


def capture(value: Any, max_len: int, field: str = "", redact: Redactor | None = None) -> str | None:
    """Serialise one captured field; never raises (an unserialisable value becomes its repr).

    With a ``redact`` hook, every string leaf goes through ``redact(text, field)`` first; if the hook fails
    the whole field becomes ``REDACTION_FAILED``. Media (``blob`` parts with content, bytes) always become
    descriptors: size and sha256, never the bytes."""
    if redact is not None:
        return _capture_redacted(value, max_len, field, redact)
    try:
        text = to_json(value)
        if _BLOB_MARK in text and _CONTENT_MARK in text:  # a blob part with its bytes (e.g. built by hand)
            text = to_json(_walk(value, None, field, 0))
        return bounded(text, max_len)
    except Exception:
        try:
            return bounded(repr(value), max_len)
        except Exception:
            return None


# --- redaction and media descriptors (only ever run with capture on) -----------------------------------------

_BLOB_MARK = '"type":"blob"'
_CONTENT_MARK = '"content":'
_MAX_DEPTH = 64


class RedactionError(Exception):
    """The redaction hook raised, or returned something other than a str for a str."""


def _redact_one(redact: Redactor, text: str, field: str) -> str:
    try:
        out = redact(text, field)
    except Exception as exc:
        raise RedactionError(f"the redaction hook raised {type(exc).__name__}") from exc
    if type(out) is not str:
        raise RedactionError(f"the redaction hook returned {type(out).__name__} for a str")
    return out


def _decode(data: Any) -> bytes | None:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if not isinstance(data, str):
        return None
    text = "".join(data.split())
    text += "=" * (-len(text) % 4)
    try:
        if "-" in text or "_" in text:
            return base64.urlsafe_b64decode(text)
        return base64.b64decode(text)
    except (binascii.Error, ValueError):
        return None


def blob_descriptor(modality: str | None, mime_type: Any, data: Any) -> dict[str, Any]:
    """A semconv ``blob`` part describing media without its bytes: ``size`` (decoded bytes) and ``sha256``
    (hex of the decoded bytes) replace ``content``. ``data`` is bytes or base64 text; text that is not
    base64 is described as its UTF-8 bytes."""
    part: dict[str, Any] = {"type": "blob"}
    if modality:
        part["modality"] = modality
    if isinstance(mime_type, str) and mime_type:
        part["mime_type"] = mime_type
    raw = _decode(data)
    if raw is None and isinstance(data, str):
        raw = data.encode("utf-8", "replace")
    if raw is not None:
        part["size"] = len(raw)
        part["sha256"] = hashlib.sha256(raw).hexdigest()
    return part


def url_part(url: str, modality: str) -> dict[str, Any]:
    """A ``uri`` part for an http(s) URL; a ``data:`` URL becomes a blob descriptor (never its bytes)."""
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        mime = header[5:].split(";")[0] or None
        if ";base64" not in header:
            from urllib.parse import unquote_to_bytes

            return blob_descriptor(modality, mime, unquote_to_bytes(data))
        return blob_descriptor(modality, mime, data)
    return {"type": "uri", "modality": modality, "uri": url}


def _as_descriptor(part: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in part.items() if k != "content"}
    out.update(blob_descriptor(part.get("modality"), part.get("mime_type"), part.get("content")))
    return out


def _walk(value: Any, redact: Redactor | None, field: str, depth: int) -> Any:
    """A JSON-native copy of ``value``: string leaves redacted, blob parts turned into descriptors."""
    if isinstance(value, str):
        if redact is None:
            return value
        return _redact_one(redact, str(value), field)
    if value is None or isinstance(value, (int, float)):  # bool is an int
        return value
    if depth > _MAX_DEPTH:
        raise ValueError("captured value nested too deeply")
    depth += 1
    if isinstance(value, Mapping):
        if value.get("type") == "blob" and "content" in value:
            value = _as_descriptor(value)
        return {(k if isinstance(k, str) else str(k)): _walk(v, redact, field, depth) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_walk(v, redact, field, depth) for v in value]
    return _walk(_default(value), redact, field, depth)


def _capture_redacted(value: Any, max_len: int, field: str, redact: Redactor) -> str:
    """Redact, then serialise, then bound: the hook sees whole strings, never a truncated secret."""
    try:
        try:
            clean = _walk(value, redact, field, 0)
        except RedactionError:
            raise
        except (ValueError, RecursionError):  # too deep or cyclic: what the unredacted path would do
            clean = _redact_one(redact, repr(value), field)
        return bounded(to_json(clean), max_len)
    except Exception as exc:
        from ._safety import report

        report(f"redact {field}", exc)
        return REDACTION_FAILED
