"""Testing an LLM app with llmobs: the ``llmobs_capture`` fixture holds every span, metric and cost the code
under test produced, and vcrpy cassettes (through pytest-recording) replay the provider's answers offline.

    pip install 'llmobs[openai,cassettes]'
    pytest examples/testing                          # replays cassettes/..., no key, no network
    OPENAI_API_KEY=sk-... pytest examples/testing --record-mode=rewrite   # records them again

The committed cassettes were recorded from llmobs's offline fake LLM server (``python
examples/testing/record_cassettes.py``); recorded against OpenAI they look the same, with real text.
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.vcr  # every test here replays its cassette: cassettes/test_support_bot/<test>.yaml

QUESTION = "My order A-1042 has not arrived, where is it?"


def test_classification_uses_the_small_model_and_stays_cheap(llmobs_capture, bot):
    bot.answer(QUESTION)

    # exactly one call on the small model, with the request parameters the app meant to send
    call = llmobs_capture.assert_llm_call(model="gpt-4o-mini", provider="openai")
    assert call.attributes["gen_ai.request.max_tokens"] == 5
    assert call.attributes["gen_ai.request.temperature"] == 0
    assert 0 < call.input_tokens < 100
    assert llmobs_capture.total_cost() < 0.001  # the whole request, in USD
    assert llmobs_capture.one(kind="workflow").name == "invoke_workflow support-bot"


def test_the_reply_is_streamed_with_usage(llmobs_capture, bot):
    text = bot.answer(QUESTION)

    call = llmobs_capture.assert_llm_call(model="gpt-4.1-mini", stream=True, finish_reasons=("stop",))
    assert text and call.output_tokens and call.output_tokens > 0
    assert call.time_to_first_chunk is not None and call.cost_status == "priced"
    # both model calls sit under the workflow's two tasks
    workflow = llmobs_capture.one(kind="workflow")
    tasks = llmobs_capture.find(kind="task")
    assert sorted(t.name for t in tasks) == ["classify", "reply"]
    assert all(t.parent.span_id == workflow.context.span_id for t in tasks)
    # metrics count the calls too (here: the token usage histogram, per token type)
    points = llmobs_capture.metric_points("gen_ai.client.token.usage", **{"gen_ai.token.type": "output"})
    assert sum(p.sum for p in points) == sum(c.output_tokens or 0 for c in llmobs_capture.llm_calls())


@pytest.mark.llmobs(capture_content=True)  # this test records prompts and replies too
def test_the_prompt_carries_the_question(llmobs_capture, bot):
    bot.answer(QUESTION)

    messages = json.loads(llmobs_capture.one(name="chat gpt-4.1-mini").attributes["gen_ai.input.messages"])
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "bicycle shop" in messages[0]["parts"][0]["content"]
    assert messages[1]["parts"] == [{"type": "text", "content": QUESTION}]
