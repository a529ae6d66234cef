"""What the integration test modules share: capture fixtures for one integration, and small helpers.

    cap, cap_content = capture_fixtures("anthropic")   # at module level: pytest finds them by name
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import llmobs


def capture_fixtures(integration: str) -> tuple[Any, Any]:
    """``cap`` (the integration alone, content capture off) and ``cap_content`` (capture on, span only)."""

    @pytest.fixture
    def cap(llmobs_capture: Any) -> Any:
        llmobs.instrument(integrations=[integration])
        yield llmobs_capture
        llmobs.uninstrument()

    @pytest.fixture
    def cap_content(llmobs_capture: Any) -> Any:
        llmobs.instrument(integrations=[integration], capture_content="SPAN_ONLY")
        yield llmobs_capture
        llmobs.uninstrument()

    return cap, cap_content


def one_call(cap: Any) -> Any:
    """The only LLM call recorded (fails listing the span names otherwise)."""
    calls = cap.llm_calls()
    assert len(calls) == 1, [c.span.name for c in calls]
    return calls[0]


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def sdk_version(module: Any) -> tuple[int, ...]:
    """The installed release of an SDK module as a tuple of ints (``(2, 17, 0)``); pre-release tails ignored."""
    parts = []
    for part in str(module.__version__).split("."):
        digits = "".join(c for c in part if c.isdigit()) if part[:1].isdigit() else ""
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def dropped_connection_error(sdk: Any, http: Any, wraps: bool) -> tuple[type[BaseException], str]:
    """What the user gets when the server drops a stream's connection mid-way, and the ``error.type`` the span
    must then record: the name of that same exception. SDK releases that wrap transport errors (``wraps``:
    openai 3.x, anthropic 2.17 and later) raise their ``APIConnectionError`` from the HTTP library's
    ``RemoteProtocolError``; the others let the transport error through."""
    if wraps:
        return sdk.APIConnectionError, f"{sdk.__name__}.APIConnectionError"
    return http.RemoteProtocolError, f"{http.__name__}.RemoteProtocolError"
