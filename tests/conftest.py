from __future__ import annotations

import pytest

from llmobs import instrumentation
from tests.support.fake_integration import FakeIntegration


@pytest.fixture
def fake_integration():
    """Registers the fakellm integration for one test (the registry is global)."""
    instrumentation.register(FakeIntegration)
    try:
        yield FakeIntegration
    finally:
        instrumentation.unregister(FakeIntegration.name)


@pytest.fixture
def instrumented(llmobs_capture, fake_integration):
    """llmobs.instrument() with the fake integration, recording into llmobs_capture."""
    import llmobs

    llmobs.instrument(integrations=["fakellm"])
    yield llmobs_capture
    llmobs.uninstrument()


@pytest.fixture
def client():
    from tests.support import fakellm

    return fakellm.Client()
