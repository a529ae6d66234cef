"""vcrpy cassettes with the openai SDK: a committed cassette (recorded from the offline fake server by
tests/cassettes/record_openai.py) replays offline through the SDK's own HTTP library, and llmobs records the
same spans as against a live server: usage from the body and the usage chunk, cost, stream timing."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest
import vcr

import llmobs
from llmobs.testing import vcr_config
from tests.cassettes.record_openai import flows

CASSETTE = Path(__file__).parent / "cassettes" / "openai_flows.yaml"


@pytest.fixture
def cap(llmobs_capture):
    llmobs.instrument(integrations=["openai"])
    yield llmobs_capture
    llmobs.uninstrument()


def test_cassette_holds_no_secret():
    text = CASSETTE.read_text()
    assert "sk-live" not in text and "Bearer" not in text
    assert text.count("REDACTED") >= 3


def test_replayed_flows_are_recorded(cap):
    # Replay matches method and path only, so the client can name the real API host with a dummy key;
    # record_mode "none" makes any request the cassette does not hold fail instead of reaching the network.
    player = vcr.VCR(**vcr_config(record_mode="none", match_on=["method", "path"]))
    client = openai.OpenAI(api_key="sk-test", max_retries=0)
    with player.use_cassette(str(CASSETTE)) as cassette:
        flows(client)
        assert cassette.play_count == 3
    chat, stream, embeddings = cap.llm_calls()
    assert chat.provider == "openai" and chat.input_tokens and chat.output_tokens and chat.cost_status == "priced"
    assert chat.response_model and chat.response_model.startswith("gpt-4o-mini")
    assert stream.stream and stream.input_tokens and stream.time_to_first_chunk is not None
    assert not stream.incomplete and stream.finish_reasons == ("stop",)
    assert embeddings.operation == "embeddings" and embeddings.input_tokens
