"""The offline fake LLM server: the real openai, anthropic and google-genai SDKs accept what it serves."""

from __future__ import annotations

import base64
import json
import os
import re
import struct
import subprocess
import sys
import time

import httpx
import openai
import pytest

from llmobs.fake_llm import FakeLLMServer, count_tokens
from tests.support.subproc import ROOT

WEATHER_SCHEMA = {
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "City name"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["location"],
}
OPENAI_TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Current weather",
                                                  "parameters": WEATHER_SCHEMA}}]
LONG_PROMPT = " ".join(f"word{i}" for i in range(900))  # 1170 fake tokens: over the 1024 caching minimum
CLAUDE = "claude-haiku-4-5"


@pytest.fixture(scope="module")
def server():
    with FakeLLMServer(port=0, latency=0.0, chunk_delay=0.0) as srv:
        yield srv


@pytest.fixture(scope="module")
def http():
    with httpx.Client(timeout=5) as client:
        yield client


@pytest.fixture(scope="module")
def oai(server):
    with openai.OpenAI(base_url=f"{server.url}/v1", api_key="test", max_retries=0) as client:
        yield client


@pytest.fixture(scope="module")
def claude(server):
    anthropic = pytest.importorskip("anthropic")
    with anthropic.Anthropic(base_url=server.url, api_key="test", max_retries=0) as client:
        yield client


@pytest.fixture(scope="module")
def gemini(server):
    genai = pytest.importorskip("google.genai")
    from google.genai import types

    client = genai.Client(api_key="test", http_options=types.HttpOptions(base_url=server.url))
    yield client
    client.close()


# ---------------------------------------------------------------------------------------------------------
# the server itself
# ---------------------------------------------------------------------------------------------------------


def test_start_stop_url_and_context_manager(http):
    srv = FakeLLMServer(port=0).start()
    try:
        port = srv.port
        assert srv.url == f"http://127.0.0.1:{port}" and port > 0
        assert http.get(f"{srv.url}/health").json() == {"status": "ok"}
    finally:
        srv.stop()
    srv.stop()  # idempotent
    with pytest.raises(httpx.TransportError):
        http.get(f"http://127.0.0.1:{port}/health")


def test_unknown_path_is_a_json_404_in_the_provider_shape(server, http):
    r = http.post(f"{server.url}/v1/nope", json={})
    assert r.status_code == 404 and r.json()["error"]["type"] == "invalid_request_error"
    r = http.post(f"{server.url}/v1beta/models/gemini-2.0-flash:nope", json={})
    assert r.status_code == 404 and r.json()["error"]["status"] == "NOT_FOUND"
    r = http.post(f"{server.url}/v1/messages/nope", json={})
    assert r.status_code == 404 and r.json()["type"] == "error"
    r = http.get(f"{server.url}/somewhere")
    assert r.status_code == 404 and "error" in r.json()


def test_requests_are_recorded_and_bounded(http):
    with FakeLLMServer(port=0, latency=0, chunk_delay=0, max_recorded=2) as srv:
        for i in range(3):
            http.post(f"{srv.url}/v1/embeddings?x={i}", json={"model": "text-embedding-3-small", "input": str(i)},
                       headers={"Authorization": "Bearer sk-test"})
        recorded = srv.requests
        assert [r.body["input"] for r in recorded] == ["1", "2"]
        assert recorded[-1].method == "POST" and recorded[-1].path == "/v1/embeddings"
        assert recorded[-1].query == {"x": "2"} and recorded[-1].headers["authorization"] == "Bearer sk-test"
        srv.clear_requests()
        assert srv.requests == []


def test_quiet_by_default(capfd, http):
    with FakeLLMServer(port=0, latency=0, chunk_delay=0) as srv:
        http.get(f"{srv.url}/health")
        http.post(f"{srv.url}/v1/nope", json={})
    assert capfd.readouterr().err == ""


def test_latency_and_chunk_delay():
    with FakeLLMServer(port=0, latency=0.15, chunk_delay=0.01) as srv, \
            openai.OpenAI(base_url=f"{srv.url}/v1", api_key="test", max_retries=0) as client:
        start = time.perf_counter()
        stream = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                                                stream=True)
        first = None
        n = 0
        for _ in stream:
            first = first or time.perf_counter() - start
            n += 1
        total = time.perf_counter() - start
    assert first is not None and first >= 0.14
    assert n > 10 and total >= 0.14 + (n - 1) * 0.01 * 0.9


def test_fake_tokenizer():
    assert count_tokens("") == 0
    assert count_tokens("one") == 1
    assert count_tokens("one two three four five six seven eight nine ten") == 13


# ---------------------------------------------------------------------------------------------------------
# OpenAI
# ---------------------------------------------------------------------------------------------------------


def test_openai_chat_non_stream(server, oai):
    server.clear_requests()
    r = oai.chat.completions.create(model="gpt-4o-mini", messages=[
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Tell me a joke about cats"}])
    choice = r.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    assert choice.message.content.startswith('You said: "Tell me a joke about cats".')
    assert r.model == "gpt-4o-mini-2024-07-18" and r.id.startswith("chatcmpl-") and r.object == "chat.completion"
    u = r.usage
    assert u.completion_tokens == count_tokens(choice.message.content)
    assert u.prompt_tokens == count_tokens("You are terse.") + count_tokens("Tell me a joke about cats") + 2 * 3 + 3
    assert u.total_tokens == u.prompt_tokens + u.completion_tokens
    assert u.prompt_tokens_details.cached_tokens == 0 and u.completion_tokens_details.reasoning_tokens == 0
    assert server.requests[-1].body["messages"][1]["content"] == "Tell me a joke about cats"
    again = oai.chat.completions.create(model="gpt-4o-mini", messages=[
        {"role": "system", "content": "You are terse."}, {"role": "user", "content": "Tell me a joke about cats"}])
    assert again.choices[0].message.content == choice.message.content  # deterministic


def test_openai_chat_stream_with_usage(oai):
    messages = [{"role": "user", "content": "Stream me something nice"}]
    whole = oai.chat.completions.create(model="gpt-4o", messages=messages)
    chunks = list(oai.chat.completions.create(model="gpt-4o", messages=messages, stream=True,
                                              stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks[:-1]][-1] == "stop"
    assert all(c.usage is None for c in chunks[:-1])
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == whole.usage.total_tokens
    assert len({c.id for c in chunks}) == 1
    no_usage = list(oai.chat.completions.create(model="gpt-4o", messages=messages, stream=True))
    assert all(c.usage is None and c.choices for c in no_usage)


def test_openai_chat_n_choices(oai):
    r = oai.chat.completions.create(model="gpt-4o-mini", n=3, messages=[{"role": "user", "content": "Pick one"}])
    assert [c.index for c in r.choices] == [0, 1, 2]
    assert len({c.message.content for c in r.choices}) == 3
    assert r.usage.completion_tokens == sum(count_tokens(c.message.content) for c in r.choices)
    chunks = list(oai.chat.completions.create(model="gpt-4o-mini", n=2, messages=[{"role": "user", "content": "Pick"}],
                                              stream=True, stream_options={"include_usage": True}))
    texts = ["", ""]
    for c in chunks:
        for ch in c.choices:
            texts[ch.index] += ch.delta.content or ""
    assert texts[0] != texts[1] and all(texts)


def test_openai_tool_call_and_tool_result(oai):
    messages = [{"role": "user", "content": "What's the weather in San Francisco?"}]
    r = oai.chat.completions.create(model="gpt-4o", messages=messages, tools=OPENAI_TOOLS)
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    call = choice.message.tool_calls[0]
    assert call.id.startswith("call_") and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"location": "San Francisco"}
    # no tool mentioned: text; tool_choice="none": text
    plain = oai.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hello"}],
                                        tools=OPENAI_TOOLS)
    assert plain.choices[0].finish_reason == "stop"
    none = oai.chat.completions.create(model="gpt-4o", messages=messages, tools=OPENAI_TOOLS, tool_choice="none")
    assert none.choices[0].message.tool_calls is None
    # the tool's answer goes back: the model answers in text, echoing it
    follow = oai.chat.completions.create(model="gpt-4o", tools=OPENAI_TOOLS, messages=[
        *messages, choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "Sunny and 21 degrees"}])
    assert follow.choices[0].finish_reason == "stop"
    assert "Sunny and 21 degrees" in follow.choices[0].message.content


def test_openai_tool_call_streamed_through_the_helper(oai):
    with oai.chat.completions.stream(model="gpt-4o", tools=OPENAI_TOOLS,
                                     messages=[{"role": "user", "content": "Call get_weather for Oslo"}]) as stream:
        final = stream.get_final_completion()
    call = final.choices[0].message.tool_calls[0]
    assert final.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"location": "Oslo"}


def test_openai_reasoning_and_cached_tokens(oai):
    r = oai.chat.completions.create(model="o4-mini", reasoning_effort="high",
                                    messages=[{"role": "user", "content": "Think hard"}])
    details = r.usage.completion_tokens_details
    assert details.reasoning_tokens == 448
    assert r.usage.completion_tokens == 448 + count_tokens(r.choices[0].message.content)
    messages = [{"role": "system", "content": LONG_PROMPT}, {"role": "user", "content": "cache me"}]
    first = oai.chat.completions.create(model="gpt-4.1", messages=messages)
    second = oai.chat.completions.create(model="gpt-4.1", messages=[*messages[:1], {"role": "user", "content": "hi"}])
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    cached = second.usage.prompt_tokens_details.cached_tokens
    assert cached == 1152 and cached % 128 == 0 and cached <= second.usage.prompt_tokens


def test_openai_max_tokens_cuts_the_reply(oai):
    r = oai.chat.completions.create(model="gpt-4o-mini", max_completion_tokens=5,
                                    messages=[{"role": "user", "content": "Tell me a long story"}])
    assert r.choices[0].finish_reason == "length" and r.usage.completion_tokens <= 5
    assert r.choices[0].message.content and r.usage.completion_tokens == count_tokens(r.choices[0].message.content)


async def test_openai_async_chat_and_stream(server):
    async with openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="test", max_retries=0) as client:
        r = await client.chat.completions.create(model="gpt-4o-mini",
                                                 messages=[{"role": "user", "content": "async hello"}])
        assert r.choices[0].message.content.startswith('You said: "async hello"')
        stream = await client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                                      stream_options={"include_usage": True},
                                                      messages=[{"role": "user", "content": "async hello"}])
        chunks = [c async for c in stream]
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == r.choices[0].message.content
        assert chunks[-1].usage.completion_tokens == r.usage.completion_tokens
        async with client.responses.stream(model="gpt-4.1-mini", input="async responses") as rs:
            final = await rs.get_final_response()
        assert final.output_text.startswith('You said: "async responses"')


def test_openai_responses(oai):
    r = oai.responses.create(model="gpt-4.1", instructions="Be brief.", input="Hello Responses API")
    assert r.status == "completed" and r.object == "response" and r.id.startswith("resp_")
    assert r.output_text.startswith('You said: "Hello Responses API"')
    assert r.usage.output_tokens == count_tokens(r.output_text)
    assert r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens
    assert r.instructions == "Be brief." and r.model == "gpt-4.1-2025-04-14"

    with oai.responses.stream(model="gpt-4.1", instructions="Be brief.", input="Hello Responses API") as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed"
    assert "response.output_text.delta" in kinds and "response.output_text.done" in kinds
    assert final.output_text == r.output_text and final.usage.total_tokens == r.usage.total_tokens

    reasoning = oai.responses.create(model="o3", input=[{"role": "user", "content": "Why?"}])
    assert [item.type for item in reasoning.output] == ["reasoning", "message"]
    assert reasoning.usage.output_tokens_details.reasoning_tokens == 192


def test_openai_responses_function_call(oai):
    tools = [{"type": "function", "name": "get_weather", "parameters": WEATHER_SCHEMA, "strict": False}]
    with oai.responses.stream(model="gpt-4.1", input="What is the weather in Rome?", tools=tools) as stream:
        final = stream.get_final_response()
    call = final.output[0]
    assert call.type == "function_call" and call.name == "get_weather" and call.call_id.startswith("call_")
    assert json.loads(call.arguments) == {"location": "Rome"}
    answer = oai.responses.create(model="gpt-4.1", tools=tools, input=[
        {"role": "user", "content": "What is the weather in Rome?"},
        {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": "Rainy and 12 degrees"}])
    assert "Rainy and 12 degrees" in answer.output_text


def test_openai_embeddings(oai):
    floats = oai.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta"], encoding_format="float")
    assert [d.index for d in floats.data] == [0, 1] and len(floats.data[0].embedding) == 1536
    assert abs(sum(v * v for v in floats.data[0].embedding) - 1.0) < 1e-4  # unit vectors, as the API's
    assert floats.usage.prompt_tokens == 2 == floats.usage.total_tokens
    decoded = oai.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta"])  # SDK asks base64
    assert decoded.data[1].embedding == pytest.approx(floats.data[1].embedding, abs=1e-7)
    raw = oai.embeddings.create(model="text-embedding-3-small", input="alpha", encoding_format="base64",
                                dimensions=8)
    blob = base64.b64decode(raw.data[0].embedding)
    assert len(blob) == 8 * 4
    small = oai.embeddings.create(model="text-embedding-3-small", input="alpha", dimensions=8, encoding_format="float")
    assert list(struct.unpack("<8f", blob)) == small.data[0].embedding
    large = oai.embeddings.create(model="text-embedding-3-large", input="alpha", encoding_format="float")
    assert len(large.data[0].embedding) == 3072


def test_openai_legacy_completions(oai):
    r = oai.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say this is a test", max_tokens=100)
    text = r.choices[0].text
    assert r.object == "text_completion" and r.choices[0].finish_reason == "stop"
    assert 'You said: "Say this is a test"' in text and r.usage.completion_tokens == count_tokens(text)
    cut = oai.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say this is a test")  # 16 by default
    assert cut.choices[0].finish_reason == "length" and cut.usage.completion_tokens <= 16
    chunks = list(oai.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say this is a test", max_tokens=100,
                                         stream=True, stream_options={"include_usage": True}))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == text
    assert chunks[-1].usage.total_tokens == r.usage.total_tokens


def test_openai_errors_on_demand(server, oai):
    with pytest.raises(openai.RateLimitError) as rate:
        oai.chat.completions.create(model="gpt-4o-error-429", messages=[{"role": "user", "content": "x"}])
    assert rate.value.response.headers["retry-after"] == "1"
    assert rate.value.body["code"] == "rate_limit_exceeded"
    with pytest.raises(openai.InternalServerError):
        oai.embeddings.create(model="text-embedding-error-500", input="x")
    with pytest.raises(openai.APITimeoutError):
        oai.chat.completions.create(model="gpt-4o-slow", messages=[{"role": "user", "content": "x"}], timeout=0.2)
    with pytest.raises(openai.BadRequestError):
        oai.chat.completions.create(model="gpt-4o", messages=[])


# ---------------------------------------------------------------------------------------------------------
# Anthropic
# ---------------------------------------------------------------------------------------------------------


ANTHROPIC_TOOLS = [{"name": "get_weather", "description": "Current weather", "input_schema": WEATHER_SCHEMA}]


def test_anthropic_messages_create(claude):
    m = claude.messages.create(model=CLAUDE, max_tokens=256, system="Be nice.",
                               messages=[{"role": "user", "content": "Hi there, how are you?"}])
    assert m.type == "message" and m.role == "assistant" and m.id.startswith("msg_") and m.model == CLAUDE
    assert m.stop_reason == "end_turn" and m.content[0].type == "text"
    assert m.content[0].text.startswith('You said: "Hi there how are you".')
    u = m.usage
    assert u.output_tokens == count_tokens(m.content[0].text)
    assert u.cache_read_input_tokens == 0 and u.cache_creation_input_tokens == 0
    count = claude.messages.count_tokens(model=CLAUDE, system="Be nice.",
                                         messages=[{"role": "user", "content": "Hi there, how are you?"}])
    assert count.input_tokens == u.input_tokens


def test_anthropic_stream_helper_and_raw_events(claude):
    kwargs = {"model": CLAUDE, "max_tokens": 256, "messages": [{"role": "user", "content": "Stream to me"}]}
    whole = claude.messages.create(**kwargs)
    with claude.messages.stream(**kwargs) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == final.content[0].text == whole.content[0].text
    assert final.usage.output_tokens == whole.usage.output_tokens and final.stop_reason == "end_turn"
    events = list(claude.messages.create(**kwargs, stream=True))
    kinds = [e.type for e in events]
    assert kinds[:2] == ["message_start", "content_block_start"] and kinds[-2:] == ["message_delta", "message_stop"]
    assert kinds.count("content_block_stop") == 1 and "content_block_delta" in kinds
    assert events[0].message.usage.input_tokens == whole.usage.input_tokens
    assert events[-2].usage.output_tokens == whole.usage.output_tokens  # cumulative


def test_anthropic_tool_use(claude):
    messages = [{"role": "user", "content": "What's the weather in Paris?"}]
    m = claude.messages.create(model=CLAUDE, max_tokens=256, tools=ANTHROPIC_TOOLS, messages=messages)
    assert m.stop_reason == "tool_use" and [b.type for b in m.content] == ["text", "tool_use"]
    use = m.content[1]
    assert use.id.startswith("toolu_") and use.name == "get_weather" and use.input == {"location": "Paris"}
    with claude.messages.stream(model=CLAUDE, max_tokens=256, tools=ANTHROPIC_TOOLS, messages=messages,
                                tool_choice={"type": "tool", "name": "get_weather"}) as stream:
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["tool_use"] and final.content[0].input == {"location": "Paris"}
    answer = claude.messages.create(model=CLAUDE, max_tokens=256, tools=ANTHROPIC_TOOLS, messages=[
        *messages, {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in m.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "Cloudy, 15 C"}]}])
    assert answer.stop_reason == "end_turn" and "Cloudy 15 C" in answer.content[0].text


def test_anthropic_thinking_and_max_tokens(claude):
    with claude.messages.stream(model=CLAUDE, max_tokens=512, thinking={"type": "enabled", "budget_tokens": 256},
                                messages=[{"role": "user", "content": "Think first"}]) as stream:
        final = stream.get_final_message()
    thinking, text = final.content
    assert thinking.type == "thinking" and thinking.thinking and thinking.signature
    assert final.usage.output_tokens == count_tokens(thinking.thinking) + count_tokens(text.text)
    cut = claude.messages.create(model=CLAUDE, max_tokens=4, messages=[{"role": "user", "content": "Long one"}])
    assert cut.stop_reason == "max_tokens" and cut.usage.output_tokens <= 4


def test_anthropic_prompt_caching(claude):
    system = [{"type": "text", "text": LONG_PROMPT + " anthropic", "cache_control": {"type": "ephemeral"}}]
    first = claude.messages.create(model=CLAUDE, max_tokens=64, system=system,
                                   messages=[{"role": "user", "content": "first"}])
    second = claude.messages.create(model=CLAUDE, max_tokens=64, system=system,
                                    messages=[{"role": "user", "content": "second"}])
    prefix = count_tokens(system[0]["text"])
    assert (first.usage.cache_creation_input_tokens, first.usage.cache_read_input_tokens) == (prefix, 0)
    assert first.usage.cache_creation.ephemeral_5m_input_tokens == prefix
    assert (second.usage.cache_creation_input_tokens, second.usage.cache_read_input_tokens) == (0, prefix)
    assert second.usage.input_tokens == first.usage.input_tokens < 20  # the uncached tail only


async def test_anthropic_async(server):
    anthropic = pytest.importorskip("anthropic")
    async with anthropic.AsyncAnthropic(base_url=server.url, api_key="test", max_retries=0) as client:
        async with client.messages.stream(model=CLAUDE, max_tokens=64,
                                          messages=[{"role": "user", "content": "async claude"}]) as stream:
            final = await stream.get_final_message()
    assert final.content[0].text.startswith('You said: "async claude"')


def test_anthropic_errors_on_demand(claude):
    anthropic = pytest.importorskip("anthropic")
    with pytest.raises(anthropic.RateLimitError) as rate:
        claude.messages.create(model="claude-error-429", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    assert rate.value.body["error"]["type"] == "rate_limit_error"
    assert rate.value.response.headers["retry-after"] == "1" and rate.value.request_id.startswith("req_")
    with pytest.raises(anthropic.InternalServerError):
        claude.messages.create(model="claude-error-500", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    with pytest.raises(anthropic.APITimeoutError):
        claude.messages.create(model="claude-slow", max_tokens=8, messages=[{"role": "user", "content": "x"}],
                               timeout=0.2)


# ---------------------------------------------------------------------------------------------------------
# Gemini
# ---------------------------------------------------------------------------------------------------------


def test_gemini_generate_content(gemini):
    r = gemini.models.generate_content(model="gemini-2.0-flash", contents="Hello Gemini, how are you?")
    assert r.text.startswith('You said: "Hello Gemini how are you".')
    u = r.usage_metadata
    assert u.prompt_token_count == count_tokens("Hello Gemini, how are you?")
    assert u.candidates_token_count == count_tokens(r.text)
    assert u.total_token_count == u.prompt_token_count + u.candidates_token_count and u.thoughts_token_count is None
    assert r.candidates[0].finish_reason.name == "STOP" and r.model_version == "gemini-2.0-flash"


def test_gemini_stream_usage_on_every_chunk(gemini):
    whole = gemini.models.generate_content(model="gemini-2.5-flash", contents="Stream this please")
    chunks = list(gemini.models.generate_content_stream(model="gemini-2.5-flash", contents="Stream this please"))
    assert len(chunks) > 2 and "".join(c.text for c in chunks) == whole.text
    running = [c.usage_metadata.candidates_token_count for c in chunks]
    assert running == sorted(running) and running[-1] == whole.usage_metadata.candidates_token_count
    for c in chunks:
        u = c.usage_metadata
        assert u.prompt_token_count == whole.usage_metadata.prompt_token_count and u.thoughts_token_count == 192
        assert u.total_token_count == u.prompt_token_count + u.candidates_token_count + u.thoughts_token_count
    assert chunks[-1].candidates[0].finish_reason.name == "STOP" and chunks[0].candidates[0].finish_reason is None


def test_gemini_function_call_and_thinking_config(gemini):
    from google.genai import types

    tool = types.Tool(function_declarations=[types.FunctionDeclaration(
        name="get_weather", description="Current weather", parameters=types.Schema(
            type="OBJECT", properties={"location": types.Schema(type="STRING")}, required=["location"]))])
    config = types.GenerateContentConfig(tools=[tool], thinking_config=types.ThinkingConfig(thinking_budget=0))
    r = gemini.models.generate_content(model="gemini-2.5-flash", contents="Weather in Lisbon?", config=config)
    assert r.function_calls[0].name == "get_weather" and r.function_calls[0].args == {"location": "Lisbon"}
    assert r.usage_metadata.thoughts_token_count is None  # budget 0: no thinking
    answer = gemini.models.generate_content(model="gemini-2.5-flash", config=config, contents=[
        types.Content(role="user", parts=[types.Part(text="Weather in Lisbon?")]),
        r.candidates[0].content,
        types.Content(role="user", parts=[types.Part.from_function_response(
            name="get_weather", response={"result": "sunny"})])])
    assert answer.function_calls is None and "sunny" in answer.text


def test_gemini_embed_content(gemini):
    from google.genai import types

    r = gemini.models.embed_content(model="text-embedding-004", contents=["hello", "world"])
    assert len(r.embeddings) == 2 and len(r.embeddings[0].values) == 768
    small = gemini.models.embed_content(model="gemini-embedding-001", contents="hello",
                                        config=types.EmbedContentConfig(output_dimensionality=16))
    assert len(small.embeddings[0].values) == 16


async def test_gemini_async_stream(gemini):
    chunks = [c async for c in await gemini.aio.models.generate_content_stream(model="gemini-2.0-flash",
                                                                               contents="async gemini")]
    assert "".join(c.text for c in chunks).startswith('You said: "async gemini"')


def test_gemini_errors_on_demand(gemini):
    from google.genai import errors

    with pytest.raises(errors.ClientError) as rate:
        gemini.models.generate_content(model="gemini-error-429", contents="x")
    assert rate.value.code == 429 and rate.value.status == "RESOURCE_EXHAUSTED"
    with pytest.raises(errors.ServerError) as server_error:
        gemini.models.generate_content(model="gemini-error-500", contents="x")
    assert server_error.value.code == 500


# ---------------------------------------------------------------------------------------------------------
# the command line
# ---------------------------------------------------------------------------------------------------------


def test_cli_serves_until_terminated():
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    code = "import sys; from llmobs.fake_llm import main; sys.exit(main(['--port', '0', '--latency', '0']))"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=str(ROOT))
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert match, line + proc.stderr.read() if proc.stderr else line
        url = match.group(1)
        with openai.OpenAI(base_url=f"{url}/v1", api_key="test", max_retries=0) as client:
            r = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "cli"}])
        assert r.choices[0].message.content.startswith('You said: "cli"')
        proc.terminate()
        assert proc.wait(timeout=10) == 0
        assert proc.stderr is not None and proc.stderr.read() == ""  # no request lines unless --verbose
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
