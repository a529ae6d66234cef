"""Fixtures for examples/testing: the cassette configuration llmobs provides, and the app under test."""

from __future__ import annotations

import os

import openai
import pytest
from support_bot import SupportBot

import llmobs
import llmobs.testing


@pytest.fixture(scope="module")
def vcr_config():
    # pytest-recording reads this: secrets are scrubbed from what is recorded, and requests are matched
    # without their headers, so replays need no key.
    return llmobs.testing.vcr_config()


@pytest.fixture(scope="session", autouse=True)
def instrumented():
    # What the app does once at startup. Tests export nothing: each test's llmobs_capture fixture receives
    # what llmobs records during that test (with the options of its @pytest.mark.llmobs marker).
    llmobs.instrument(service_name="support-bot", exporter="none", metrics_exporter="none")
    yield
    llmobs.uninstrument()


@pytest.fixture
def bot() -> SupportBot:
    # Replays (the default, --record-mode=none) send nothing: any key will do. To record new cassettes
    # against OpenAI: OPENAI_API_KEY=sk-... pytest examples/testing --record-mode=rewrite
    return SupportBot(openai.OpenAI(api_key=os.environ.get("OPENAI_API_KEY") or "sk-replay", max_retries=0))
