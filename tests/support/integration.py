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
