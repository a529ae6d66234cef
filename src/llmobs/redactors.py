"""Built-in redactors for captured content, opt-in: ``llmobs.instrument(redact=llmobs.redactors.emails)``,
``redact=llmobs.redactors.chain(llmobs.redactors.emails, llmobs.redactors.api_keys)`` or
``LLMOBS_REDACT=emails,api_keys,card_numbers``.

Each one is a redaction hook: ``redactor(text, field) -> str``, called on every string in every captured
field. The patterns are deliberately narrow (no false positives on ordinary prose); what they miss is listed
in docs/privacy.md. They are a safety net, not a guarantee: write your own hook for what your data holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["BUILTINS", "api_keys", "card_numbers", "chain", "emails", "from_names"]

Redactor = Callable[[str, str], str]



class _Lazy:
    """A pattern compiled on first use: ``import llmobs`` does not pay for patterns nobody uses."""

    __slots__ = ("_compiled", "_source")

    def __init__(self, source: str) -> None:
        self._source = source
        self._compiled: re.Pattern[str] | None = None

    def sub(self, repl: Any, text: str) -> str:
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(self._source)
        return compiled.sub(repl, text)


EMAIL_MARKER = "[email]"
API_KEY_MARKER = "[api_key]"
CARD_MARKER = "[card]"

_EMAIL = _Lazy(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,24}(?![A-Za-z0-9-])"
)

# Provider key shapes: a fixed prefix and a long random tail. Prefixes are case-sensitive on purpose.
_KEY_SHAPES = _Lazy(
    r"(?<![A-Za-z0-9_-])(?:"
    r"sk-[A-Za-z0-9_-]{20,}"                    # OpenAI (sk-, sk-proj-, sk-svcacct-), Anthropic (sk-ant-), DeepSeek
    r"|AIza[0-9A-Za-z_-]{35}"                   # Google API keys
    r"|gh[pousr]_[A-Za-z0-9]{36,}"              # GitHub tokens
    r"|github_pat_[A-Za-z0-9_]{22,}"            # GitHub fine-grained tokens
    r"|xai-[A-Za-z0-9]{20,}"                    # xAI
    r"|(?:AKIA|ASIA)[0-9A-Z]{16}"               # AWS access key ids
    r"|xox[abposr]-[A-Za-z0-9-]{10,}"           # Slack
    r"|hf_[A-Za-z0-9]{30,}"                     # Hugging Face
    r"|gsk_[A-Za-z0-9]{40,}"                    # Groq
    r")(?![A-Za-z0-9_-])"
)
# "Authorization: Bearer <token>": the token goes, the scheme stays.
_BEARER = _Lazy(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/-]{16,}=*")
# A secret-looking value after a secret-looking name: key=..., "api_key": "...", token: ...; the value must be
# 20+ characters of hex/base64/url-safe alphabet and contain a digit (so "token=not-a-secret-just-words" stays).
_ASSIGNED = _Lazy(
    r"(?i)((?:\b|_)(?:api[_-]?key|apikey|access[_-]?key|secret[_-]?key|private[_-]?key|key|"
    r"access[_-]?token|auth[_-]?token|refresh[_-]?token|token|client[_-]?secret|secret|password)"
    r"[\"']?\s*[=:]\s*[\"']?)"
    r"(?=[A-Za-z0-9+/_.-]*[0-9])[A-Za-z0-9+/_.-]{20,}={0,2}"
)
_CARD = _Lazy(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")


def emails(text: str, field: str = "") -> str:
    """Replace email addresses (``name@host.tld``) with ``[email]``."""
    if "@" not in text:
        return text
    return _EMAIL.sub(EMAIL_MARKER, text)


def api_keys(text: str, field: str = "") -> str:
    """Replace API keys and tokens with ``[api_key]``: provider key shapes (``sk-…``, ``sk-ant-…``,
    ``AIza…``, ``ghp_…``, ``github_pat_…``, ``xai-…``, ``AKIA…``, ``xox…-``, ``hf_…``, ``gsk_…``), bearer
    tokens, and long hex/base64 values after ``key=``, ``token=``, ``secret=``, ``password=`` and similar."""
    text = _KEY_SHAPES.sub(API_KEY_MARKER, text)
    text = _BEARER.sub(lambda m: m.group(1) + API_KEY_MARKER, text)
    return _ASSIGNED.sub(lambda m: m.group(1) + API_KEY_MARKER, text)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    raw = match.group(0)
    digits = raw.replace(" ", "").replace("-", "")
    return CARD_MARKER if 13 <= len(digits) <= 19 and _luhn(digits) else raw


def card_numbers(text: str, field: str = "") -> str:
    """Replace payment card numbers with ``[card]``: 13 to 19 digits, optionally grouped by spaces or dashes,
    that pass the Luhn check (a 16-digit number that fails it is left alone)."""
    return _CARD.sub(_card, text)


def chain(*redactors: Redactor) -> Redactor:
    """One redactor that applies ``redactors`` in order."""
    fns = tuple(redactors)
    for fn in fns:
        if not callable(fn):
            raise TypeError(f"llmobs.redactors.chain: {fn!r} is not callable")

    def chained(text: str, field: str = "") -> str:
        for fn in fns:
            text = fn(text, field)
        return text

    return chained


BUILTINS: dict[str, Redactor] = {"emails": emails, "api_keys": api_keys, "card_numbers": card_numbers}


def from_names(names: Iterable[str]) -> Redactor | None:
    """The chain of the built-ins named (``LLMOBS_REDACT``), in the order given; None for no names."""
    fns = [BUILTINS[name] for name in names]
    if not fns:
        return None
    return fns[0] if len(fns) == 1 else chain(*fns)
