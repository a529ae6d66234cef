"""The wire formats of tests/support/openai_wire.py, served to the real openai SDK (no instrumentation).

Each test queues payloads on a MockOpenAI server, drives a real ``openai`` client through ``MockTransport``
and checks that the SDK parses them into its own types, that streamed pieces add up, and that the
requests the SDK sent were recorded.
"""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import time

import pytest

openai = pytest.importorskip("openai")
pydantic = pytest.importorskip("pydantic")

from tests.support import openai_wire as w  # noqa: E402

MESSAGES = [{"role": "user", "content": "What's the weather in Paris?"}]
SDK_MAJOR = int(openai.__version__.split(".")[0])


class Weather(pydantic.BaseModel):
    city: str
    temperature_c: float


class GetWeather(pydantic.BaseModel):
    city: str


@pytest.fixture
def server():
    return w.MockOpenAI()


@pytest.fixture
def sync_client(server):
    return w.client(server)


@pytest.fixture
def async_client(server):
    return w.client(server, async_=True)


def _dropped(exc: BaseException) -> bool:
    """openai 3.x wraps transport errors raised mid-stream in APIConnectionError; 1.x/2.x let them through."""
    return isinstance(exc, w.HTTP.RemoteProtocolError) or (
        isinstance(exc, openai.APIConnectionError) and isinstance(exc.__cause__, w.HTTP.RemoteProtocolError)
    )


# -- plumbing ---------------------------------------------------------------------------------------------


def test_http_module_is_the_one_the_sdk_is_built_on(sync_client, async_client):
    import openai._base_client as base_client

    expected = "httpx2" if hasattr(base_client, "httpx2") else "httpx"
    assert w.HTTP.__name__ == expected
    assert expected == ("httpx2" if SDK_MAJOR >= 3 else "httpx")
    assert isinstance(sync_client._client, w.HTTP.Client)
    assert isinstance(async_client._client, w.HTTP.AsyncClient)
    assert sync_client.max_retries == 0
    assert sync_client.api_key == "sk-test"


def test_sse_encoding_is_byte_exact():
    chunks = [{"id": "a", "choices": []}, {"id": "b", "choices": []}]
    assert w.sse_chat_pieces(chunks) == [
        b'data: {"id":"a","choices":[]}\n\n',
        b'data: {"id":"b","choices":[]}\n\n',
        b"data: [DONE]\n\n",
    ]
    assert w.sse_chat(chunks) == b"".join(w.sse_chat_pieces(chunks))
    events = [{"type": "response.created", "sequence_number": 0}]
    assert w.sse_responses(events) == (
        b'event: response.created\ndata: {"type":"response.created","sequence_number":0}\n\n'
    )
    assert b"[DONE]" not in w.sse_responses(events)


def test_split_text_round_trips():
    for text in ("Hello!", "Hello, world. How are you?", "  lead and trail  ", "a\n\nb", ""):
        assert "".join(w.split_text(text)) == text
    assert len(w.split_text("Hello, world")) > 1


def test_requests_are_recorded_and_queue_is_fifo(server, sync_client):
    server.add_json(w.chat_completion(contents=["first"]))
    server.add_json(w.chat_completion(contents=["second"]))
    assert server.pending == 2
    first = sync_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, temperature=0.2)
    second = sync_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    third = sync_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # default reply
    assert [c.choices[0].message.content for c in (first, second, third)] == ["first", "second", "Hello!"]
    assert server.pending == 0
    assert len(server.requests) == 3
    req = server.requests[0]
    assert (req.method, req.path) == ("POST", "/v1/chat/completions")
    assert req.url == "https://api.openai.com/v1/chat/completions"
    assert req.headers["authorization"] == "Bearer sk-test"
    assert req.json == {"messages": MESSAGES, "model": "gpt-4o-mini", "temperature": 0.2}
    assert json.loads(req.content) == req.json


# -- chat completions -------------------------------------------------------------------------------------


def test_chat_completion_parses_with_usage_details(server, sync_client):
    usage = w.completion_usage(
        1200,
        300,
        cached_tokens=1024,
        reasoning_tokens=128,
        accepted_prediction_tokens=3,
        rejected_prediction_tokens=2,
    )
    body = w.chat_completion(contents=["Sunny, 21 C."], usage=usage)
    assert body["id"].startswith("chatcmpl-") and len(body["id"]) == len("chatcmpl-") + 29
    assert body["system_fingerprint"].startswith("fp_")
    server.add_json(body)

    result = sync_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    assert isinstance(result, openai.types.chat.ChatCompletion)
    assert result.id == body["id"]
    assert result.object == "chat.completion"
    assert result.model == "gpt-4o-mini-2024-07-18"
    assert result.created == w.CREATED
    assert result.service_tier == "default"
    assert result.system_fingerprint == body["system_fingerprint"]
    choice = result.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.content == "Sunny, 21 C."
    assert choice.message.refusal is None
    assert choice.message.annotations == []
    assert result.usage.prompt_tokens == 1200
    assert result.usage.completion_tokens == 300
    assert result.usage.total_tokens == 1500
    assert result.usage.prompt_tokens_details.cached_tokens == 1024
    assert result.usage.prompt_tokens_details.audio_tokens == 0
    details = result.usage.completion_tokens_details
    assert details.reasoning_tokens == 128
    assert details.audio_tokens == 0
    assert (details.accepted_prediction_tokens, details.rejected_prediction_tokens) == (3, 2)


def test_chat_completion_n_choices_tool_calls_refusal_and_no_usage(server, sync_client):
    call = w.tool_call("get_weather", {"city": "Paris"})
    body = w.chat_completion(
        contents=["Let me check.", None, None],
        tool_calls=[None, [call, {"name": "get_time", "arguments": '{"tz":"CET"}'}], None],
        refusals=[None, None, "I can't help with that."],
        usage=None,
    )
    assert "usage" not in body
    server.add_json(body)

    result = sync_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, n=3)

    assert server.last.json["n"] == 3
    assert result.usage is None
    first, second, third = result.choices
    assert [c.index for c in result.choices] == [0, 1, 2]
    assert (first.message.content, first.finish_reason, first.message.tool_calls) == (
        "Let me check.",
        "stop",
        None,
    )
    assert second.finish_reason == "tool_calls"
    assert second.message.content is None
    calls = second.message.tool_calls
    assert [tc.type for tc in calls] == ["function", "function"]
    assert calls[0].id == call["id"] and calls[0].id.startswith("call_")
    assert calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}
    assert calls[1].function.arguments == '{"tz":"CET"}'
    assert third.message.refusal == "I can't help with that."
    assert third.message.content is None


def test_provider_usage_variants_are_served_raw(server, sync_client):
    server.add_json(w.chat_completion("deepseek-chat", usage=w.deepseek_usage(100, 20, cache_hit_tokens=64)))
    server.add_json(w.chat_completion("grok-3-mini", usage=w.xai_usage(37, 530, 233, cached_tokens=8)))

    deepseek = sync_client.chat.completions.create(model="deepseek-chat", messages=MESSAGES).usage
    xai = sync_client.chat.completions.create(model="grok-3-mini", messages=MESSAGES).usage

    assert deepseek.prompt_cache_hit_tokens == 64
    assert deepseek.prompt_cache_miss_tokens == 36
    assert deepseek.prompt_tokens_details.cached_tokens == 64
    assert deepseek.completion_tokens_details is None
    assert xai.total_tokens == 37 + 530 + 233
    assert xai.completion_tokens_details.reasoning_tokens == 233
    assert xai.prompt_tokens_details.cached_tokens == 8


def test_chat_chunks_shape():
    chunks = w.chat_chunks(
        contents=["Hi there", None],
        tool_calls=[None, [w.tool_call("get_weather", {"city": "Paris"})]],
        include_usage=True,
        usage=w.completion_usage(10, 5),
    )
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert all("usage" in c for c in chunks)
    assert all(c["usage"] is None for c in chunks[:-1])
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 15
    assert all(len(c["choices"]) == 1 for c in chunks[:-1])
    assert [c["choices"][0]["index"] for c in chunks[:4]] == [0, 1, 0, 1]  # interleaved
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    tool_first = chunks[1]["choices"][0]["delta"]
    assert tool_first["content"] is None
    head = tool_first["tool_calls"][0]
    assert head["index"] == 0 and head["id"].startswith("call_") and head["type"] == "function"
    assert head["function"] == {"name": "get_weather", "arguments": ""}
    later = [
        c["choices"][0]["delta"]["tool_calls"][0]
        for c in chunks[2:-1]
        if c["choices"][0]["delta"].get("tool_calls")
    ]
    assert later and all(set(tc) == {"index", "function"} for tc in later)
    assert "".join(tc["function"]["arguments"] for tc in later) == '{"city":"Paris"}'
    finishes = [c["choices"][0] for c in chunks[:-1] if c["choices"][0]["finish_reason"]]
    assert sorted((f["index"], f["finish_reason"], f["delta"] == {}) for f in finishes) == [
        (0, "stop", True),
        (1, "tool_calls", True),
    ]
    without_usage = w.chat_chunks(obfuscation=False)
    assert all("usage" not in c and "obfuscation" not in c for c in without_usage)


def _rebuild(chunks):
    """Accumulate SDK chunks into per-choice text and per-choice tool-call arguments."""
    texts: dict[int, str] = {}
    calls: dict[tuple[int, int], dict[str, str]] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            texts.setdefault(choice.index, "")
            texts[choice.index] += choice.delta.content or ""
            for tc in choice.delta.tool_calls or []:
                slot = calls.setdefault((choice.index, tc.index), {"id": "", "name": "", "arguments": ""})
                slot["id"] = tc.id or slot["id"]
                slot["name"] = (tc.function.name if tc.function else None) or slot["name"]
                slot["arguments"] += (tc.function.arguments if tc.function else None) or ""
    return texts, calls


def _streamed_chat_chunks():
    return w.chat_chunks(
        contents=["The weather in Paris is sunny.", None],
        tool_calls=[None, [w.tool_call("get_weather", {"city": "Paris", "unit": "celsius"})]],
        include_usage=True,
        usage=w.completion_usage(42, 17, cached_tokens=32),
    )


def _check_streamed_chat(chunks):
    assert all(isinstance(c, openai.types.chat.ChatCompletionChunk) for c in chunks)
    texts, calls = _rebuild(chunks)
    assert texts == {0: "The weather in Paris is sunny.", 1: ""}
    ((key, call),) = calls.items()
    assert key == (1, 0)
    assert call["id"].startswith("call_") and call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"city": "Paris", "unit": "celsius"}
    assert [c.usage for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    last = chunks[-1]
    assert last.choices == []
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (42, 17, 59)
    assert last.usage.prompt_tokens_details.cached_tokens == 32
    finish = {
        c.choices[0].index: c.choices[0].finish_reason
        for c in chunks
        if c.choices and c.choices[0].finish_reason
    }
    assert finish == {0: "stop", 1: "tool_calls"}


def test_chat_stream_sync(server, sync_client):
    server.add_chat_stream(_streamed_chat_chunks())
    stream = sync_client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, n=2, stream=True, stream_options={"include_usage": True}
    )
    _check_streamed_chat(list(stream))
    assert server.last.json["stream"] is True
    assert server.last.json["stream_options"] == {"include_usage": True}


async def test_chat_stream_async(server, async_client):
    server.add_chat_stream(_streamed_chat_chunks())
    stream = await async_client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, n=2, stream=True, stream_options={"include_usage": True}
    )
    _check_streamed_chat([chunk async for chunk in stream])
    assert server.last.json["stream_options"] == {"include_usage": True}


def test_chat_default_stream_honours_include_usage(server, sync_client):
    with_usage = list(
        sync_client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )
    without = list(sync_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    assert with_usage[-1].choices == [] and with_usage[-1].usage.total_tokens == 20
    assert all(c.usage is None for c in without) and without[-1].choices[0].finish_reason == "stop"
    assert _rebuild(with_usage)[0] == _rebuild(without)[0] == {0: "Hello!"}
    assert with_usage[0].model == "gpt-4o-mini-2024-07-18"  # alias answered with the snapshot


def test_chat_stream_helper_final_completion(server, sync_client):
    server.add_chat_stream(_streamed_chat_chunks())
    with sync_client.chat.completions.stream(
        model="gpt-4o-mini", messages=MESSAGES, n=2, stream_options={"include_usage": True}
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_completion()
    assert "content.delta" in kinds and "content.done" in kinds
    assert "tool_calls.function.arguments.done" in kinds
    assert final.choices[0].message.content == "The weather in Paris is sunny."
    tool = final.choices[1].message.tool_calls[0]
    assert tool.function.name == "get_weather"
    assert json.loads(tool.function.arguments) == {"city": "Paris", "unit": "celsius"}
    assert final.usage.total_tokens == 59
    assert server.last.json["stream"] is True


async def test_chat_stream_helper_async(server, async_client):
    server.add_chat_stream(w.chat_chunks(contents=["Bonjour !"], include_usage=True))
    async with async_client.chat.completions.stream(
        model="gpt-4o-mini", messages=MESSAGES, stream_options={"include_usage": True}
    ) as stream:
        final = await stream.get_final_completion()
    assert final.choices[0].message.content == "Bonjour !"
    assert final.usage.completion_tokens == 8


def test_chat_parse_structured_output_and_strict_tool(server, sync_client):
    server.add_json(w.chat_completion(contents=['{"city":"Paris","temperature_c":21.5}']))
    result = sync_client.chat.completions.parse(
        model="gpt-4o-mini", messages=MESSAGES, response_format=Weather
    )
    assert result.choices[0].message.parsed == Weather(city="Paris", temperature_c=21.5)
    assert server.last.json["response_format"]["type"] == "json_schema"
    assert server.last.json["response_format"]["json_schema"]["name"] == "Weather"

    server.add_json(w.chat_completion(tool_calls=[w.tool_call("GetWeather", {"city": "Lyon"})]))
    result = sync_client.chat.completions.parse(
        model="gpt-4o-mini", messages=MESSAGES, tools=[openai.pydantic_function_tool(GetWeather)]
    )
    call = result.choices[0].message.tool_calls[0]
    assert call.function.parsed_arguments == GetWeather(city="Lyon")
    assert result.choices[0].finish_reason == "tool_calls"


# -- responses --------------------------------------------------------------------------------------------


def test_response_object_parses(server, sync_client):
    body = w.response_object(
        "o4-mini-2025-04-16",
        "It is sunny.",
        reasoning_summary=["**Checking weather**\n\nI should call the tool."],
        web_search="weather Paris",
        function_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}],
        usage=w.response_usage(100, 50, cached_tokens=40, reasoning_tokens=30),
        instructions="Be brief.",
        tools=[{"type": "function", "name": "get_weather", "parameters": {}, "strict": True}],
    )
    assert body["id"].startswith("resp_")
    server.add_json(body)

    result = sync_client.responses.create(
        model="o4-mini", input="Weather in Paris?", instructions="Be brief."
    )

    assert isinstance(result, openai.types.responses.Response)
    assert (result.object, result.status, result.model) == ("response", "completed", "o4-mini-2025-04-16")
    assert result.output_text == "It is sunny."
    assert [item.type for item in result.output] == [
        "reasoning",
        "web_search_call",
        "message",
        "function_call",
    ]
    reasoning, search, message, call = result.output
    assert reasoning.id.startswith("rs_") and reasoning.summary[0].type == "summary_text"
    assert search.id.startswith("ws_") and search.action.query == "weather Paris"
    assert message.id.startswith("msg_") and message.content[0].type == "output_text"
    assert message.content[0].annotations == []
    assert call.id.startswith("fc_") and call.call_id.startswith("call_") and call.status == "completed"
    assert json.loads(call.arguments) == {"city": "Paris"}
    usage = result.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (100, 50, 150)
    assert usage.input_tokens_details.cached_tokens == 40
    assert usage.output_tokens_details.reasoning_tokens == 30
    assert result.instructions == "Be brief."
    assert result.reasoning.effort == "medium"
    assert result.tools[0].name == "get_weather"
    assert (result.temperature, result.top_p, result.service_tier, result.store) == (
        1.0,
        1.0,
        "default",
        True,
    )
    assert result.incomplete_details is None and result.error is None
    assert server.last.path == "/v1/responses"
    assert server.last.json["input"] == "Weather in Paris?"


def test_response_incomplete_and_failed_objects(server, sync_client):
    server.add_json(w.response_object(status="incomplete", usage=w.response_usage(10, 16)))
    server.add_json(w.response_object(output_text=None, status="failed"))
    incomplete = sync_client.responses.create(model="gpt-4o-mini", input="hi", max_output_tokens=16)
    failed = sync_client.responses.create(model="gpt-4o-mini", input="hi")
    assert incomplete.status == "incomplete"
    assert incomplete.incomplete_details.reason == "max_output_tokens"
    assert incomplete.output[0].status == "incomplete"
    assert failed.status == "failed" and failed.error.code == "server_error" and failed.usage is None
    assert failed.output == []


def _event_stream():
    return w.response_events(
        model="o4-mini-2025-04-16",
        output_text="Sunny and mild.",
        reasoning_summary=["Looking it up."],
        function_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}],
        usage=w.response_usage(30, 20, reasoning_tokens=12),
    )


def test_response_events_order():
    events = _event_stream()
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    types = [e["type"] for e in events]
    assert types[:2] == ["response.created", "response.in_progress"]
    assert events[0]["response"]["status"] == "in_progress" and events[0]["response"]["output"] == []
    assert events[0]["response"]["usage"] is None
    message_part = types[types.index("response.content_part.added") :]
    assert message_part[:2] == ["response.content_part.added", "response.output_text.delta"]
    assert types.count("response.output_text.delta") > 1
    order = [
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    deduped = [t for i, t in enumerate(types[2:]) if i == 0 or t != types[2:][i - 1]]
    assert deduped == order
    assert types[-1] == "response.completed"
    final = events[-1]["response"]
    deltas = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert deltas == final["output"][1]["content"][0]["text"] == "Sunny and mild."
    args = "".join(e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta")
    assert args == final["output"][2]["arguments"]
    added = [e["item"] for e in events if e["type"] == "response.output_item.added"]
    assert [i["status"] for i in added if "status" in i] == ["in_progress", "in_progress"]
    assert added[2]["arguments"] == ""


def _check_raw_response_stream(events):
    types = [e.type for e in events]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    summary = "".join(e.delta for e in events if e.type == "response.reasoning_summary_text.delta")
    args = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    assert (text, summary, json.loads(args)) == ("Sunny and mild.", "Looking it up.", {"city": "Paris"})
    completed = events[-1]
    assert isinstance(completed, openai.types.responses.ResponseCompletedEvent)
    assert completed.response.output_text == "Sunny and mild."
    assert completed.response.usage.output_tokens_details.reasoning_tokens == 12


def test_response_stream_sync(server, sync_client):
    server.add_responses_stream(_event_stream())
    events = list(sync_client.responses.create(model="o4-mini", input="Weather?", stream=True))
    _check_raw_response_stream(events)
    assert server.last.json["stream"] is True


async def test_response_stream_async(server, async_client):
    server.add_responses_stream(_event_stream())
    stream = await async_client.responses.create(model="o4-mini", input="Weather?", stream=True)
    _check_raw_response_stream([event async for event in stream])


def test_response_stream_helper_final_response(server, sync_client):
    server.add_responses_stream(_event_stream())
    with sync_client.responses.stream(model="o4-mini", input="Weather?") as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert text == final.output_text == "Sunny and mild."
    assert final.output[2].name == "get_weather"
    assert final.usage.total_tokens == 50


async def test_response_stream_helper_async(server, async_client):
    server.add_responses_stream(_event_stream())
    async with async_client.responses.stream(model="o4-mini", input="Weather?") as stream:
        final = await stream.get_final_response()
    assert final.output_text == "Sunny and mild."


def test_response_stream_web_search_annotation_and_refusal(server, sync_client):
    citation = {
        "type": "url_citation",
        "start_index": 0,
        "end_index": 5,
        "url": "https://example.com/weather",
        "title": "Weather",
    }
    events = w.response_events(
        web_search="weather Paris", output_text="Sunny", annotations=[citation], refusal="No more."
    )
    types = [e["type"] for e in events]
    assert types.count("response.web_search_call.searching") == 1
    assert types.count("response.output_text.annotation.added") == 1
    assert types.index("response.output_text.annotation.added") < types.index("response.output_text.done")
    server.add_responses_stream(events)
    with sync_client.responses.stream(
        model="gpt-4o-mini", input="x", tools=[{"type": "web_search"}]
    ) as stream:
        final = stream.get_final_response()
    search, message = final.output
    assert search.type == "web_search_call" and search.action.query == "weather Paris"
    text, refusal = message.content
    assert text.annotations[0].url == "https://example.com/weather"
    assert refusal.type == "refusal" and refusal.refusal == "No more."


def test_responses_parse_text_format(server, sync_client):
    server.add_json(w.response_object(output_text='{"city":"Paris","temperature_c":19.0}'))
    result = sync_client.responses.parse(model="gpt-4o-mini", input="Weather?", text_format=Weather)
    assert result.output_parsed == Weather(city="Paris", temperature_c=19.0)
    assert server.last.json["text"]["format"]["type"] == "json_schema"


def test_response_stream_incomplete_and_failed(server, sync_client):
    server.add_responses_stream(w.response_events(status="incomplete", output_text="Once upon a"))
    server.add_responses_stream(w.response_events(status="failed", output_text=None))
    incomplete = list(sync_client.responses.create(model="gpt-4o-mini", input="story", stream=True))
    failed = list(sync_client.responses.create(model="gpt-4o-mini", input="story", stream=True))
    assert incomplete[-1].type == "response.incomplete"
    assert incomplete[-1].response.incomplete_details.reason == "max_output_tokens"
    assert incomplete[-1].response.output_text == "Once upon a"
    assert [e.type for e in failed] == ["response.created", "response.in_progress", "response.failed"]
    assert failed[-1].response.error.code == "server_error"


def test_response_default_reply_echoes_request(server, sync_client):
    result = sync_client.responses.create(
        model="gpt-4o-mini",
        input="hi",
        instructions="Be nice.",
        temperature=0.3,
        max_output_tokens=50,
        previous_response_id="resp_previous",
        metadata={"k": "v"},
    )
    assert result.model == "gpt-4o-mini-2024-07-18"
    assert (result.instructions, result.temperature, result.max_output_tokens) == ("Be nice.", 0.3, 50)
    assert result.previous_response_id == "resp_previous" and result.metadata == {"k": "v"}
    reasoning = sync_client.responses.create(model="o4-mini", input="hi", reasoning={"summary": "auto"})
    assert [i.type for i in reasoning.output] == ["reasoning", "message"]
    assert reasoning.usage.output_tokens_details.reasoning_tokens > 0


# -- legacy completions and embeddings --------------------------------------------------------------------


def test_legacy_completion(server, sync_client):
    server.add_json(w.completion(texts=["\n\nThis is indeed a test"], finish_reasons=["length"]))
    result = sync_client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say this is a test")
    assert isinstance(result, openai.types.Completion)
    assert result.object == "text_completion" and result.id.startswith("cmpl-")
    assert result.choices[0].text == "\n\nThis is indeed a test"
    assert result.choices[0].finish_reason == "length"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens, result.usage.total_tokens) == (
        5,
        7,
        12,
    )
    assert server.last.path == "/v1/completions"


def test_legacy_completion_stream(server, sync_client):
    server.add_chat_stream(w.completion_chunks(texts=["Once upon a time"], include_usage=True))
    chunks = list(
        sync_client.completions.create(
            model="gpt-3.5-turbo-instruct", prompt="Tell", stream=True, stream_options={"include_usage": True}
        )
    )
    assert all(isinstance(c, openai.types.Completion) for c in chunks)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "Once upon a time"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 12
    default = list(sync_client.completions.create(model="gpt-3.5-turbo-instruct", prompt="x", stream=True))
    assert "".join(c.choices[0].text for c in default) == "\n\nThis is a test."


def test_embeddings_base64_by_default(server, sync_client):
    result = sync_client.embeddings.create(model="text-embedding-3-small", input=["first text", "second"])
    assert server.last.json["encoding_format"] == "base64"  # the SDK asks for base64 ...
    assert [d.embedding for d in result.data] == [
        w.embedding_vector(0),
        w.embedding_vector(1),
    ]  # ... and decodes
    assert [d.index for d in result.data] == [0, 1]
    assert (result.object, result.model) == ("list", "text-embedding-3-small")
    assert result.usage.prompt_tokens == result.usage.total_tokens == 3


def test_embeddings_float_and_explicit_base64(server, sync_client):
    floats = sync_client.embeddings.create(
        model="text-embedding-3-small", input="hi", encoding_format="float", dimensions=4
    )
    assert floats.data[0].embedding == w.embedding_vector(0, 4)
    raw = sync_client.embeddings.create(model="text-embedding-3-small", input="hi", encoding_format="base64")
    encoded = raw.data[0].embedding
    assert isinstance(encoded, str)  # asked for base64 explicitly: the SDK leaves it alone
    assert list(struct.unpack("<8f", base64.b64decode(encoded))) == w.embedding_vector(0)


def test_embedding_response_builder_base64_is_little_endian_float32():
    vector = [0.5, -1.25, 3.0]
    body = w.embedding_response([vector], encoding_format="base64", prompt_tokens=2)
    item = body["data"][0]
    assert item == {
        "object": "embedding",
        "index": 0,
        "embedding": base64.b64encode(struct.pack("<3f", *vector)).decode(),
    }
    assert body["usage"] == {"prompt_tokens": 2, "total_tokens": 2}


async def test_embeddings_async(server, async_client):
    server.add_json(w.embedding_response([[0.25, -0.5]], encoding_format="base64"))
    result = await async_client.embeddings.create(model="text-embedding-3-small", input="hi")
    assert result.data[0].embedding == [0.25, -0.5]


# -- raw and streaming responses, errors, dropped connections, pacing -------------------------------------


def test_with_raw_response(server, sync_client):
    server.add_json(w.chat_completion(contents=["raw"]), headers={"x-request-id": "req_abc"})
    raw = sync_client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    assert raw.status_code == 200
    assert raw.headers["x-request-id"] == "req_abc"
    assert raw.headers["content-type"] == "application/json"
    parsed = raw.parse()
    assert parsed.choices[0].message.content == "raw"
    assert parsed._request_id == "req_abc"


def test_with_streaming_response(server, sync_client):
    server.add_json(w.chat_completion(contents=["streamed body"]))
    with sync_client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=MESSAGES
    ) as resp:
        assert resp.headers["x-request-id"].startswith("req_")
        assert resp.parse().choices[0].message.content == "streamed body"

    server.add_chat_stream(w.chat_chunks(contents=["in pieces"]))
    with sync_client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    ) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        assert _rebuild(list(resp.parse()))[0] == {0: "in pieces"}

    server.add_responses_stream(_event_stream())
    raw = sync_client.responses.with_raw_response.create(model="o4-mini", input="x", stream=True)
    assert raw.headers["content-type"].startswith("text/event-stream")
    _check_raw_response_stream(list(raw.parse()))


async def test_with_streaming_response_async(server, async_client):
    server.add_chat_stream(w.chat_chunks(contents=["async pieces"], include_usage=True))
    async with async_client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    ) as resp:
        stream = await resp.parse()
        chunks = [chunk async for chunk in stream]
    assert _rebuild(chunks)[0] == {0: "async pieces"}
    assert chunks[-1].usage.total_tokens == 20


@pytest.mark.parametrize(
    ("status", "exc_name", "code"),
    [
        (400, "BadRequestError", "context_length_exceeded"),
        (401, "AuthenticationError", "invalid_api_key"),
        (403, "PermissionDeniedError", "unsupported_country_region_territory"),
        (404, "NotFoundError", "model_not_found"),
        (409, "ConflictError", None),
        (422, "UnprocessableEntityError", None),
        (429, "RateLimitError", "rate_limit_exceeded"),
        (500, "InternalServerError", None),
        (503, "InternalServerError", None),
    ],
)
def test_error_statuses_raise_the_sdk_exception(server, sync_client, status, exc_name, code):
    server.add_error(status)
    with pytest.raises(getattr(openai, exc_name)) as excinfo:
        sync_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    err = excinfo.value
    assert err.status_code == status
    assert err.code == code
    assert err.body == w.error_body(status)["error"]
    assert err.type == err.body["type"]
    assert err.request_id.startswith("req_")


async def test_error_async_with_custom_body(server, async_client):
    server.add_error(429, "You exceeded your current quota.", "insufficient_quota", "insufficient_quota")
    with pytest.raises(openai.RateLimitError) as excinfo:
        await async_client.responses.create(model="gpt-4o-mini", input="hi")
    assert excinfo.value.code == "insufficient_quota"
    assert "You exceeded your current quota." in str(excinfo.value)


def test_unknown_path_is_404(server, sync_client):
    with pytest.raises(openai.NotFoundError):
        sync_client.models.list()
    assert (server.last.method, server.last.path) == ("GET", "/v1/models")


def test_dropped_chat_stream_sync(server, sync_client):
    server.add_chat_stream(w.chat_chunks(contents=["one two three four five"]), fail_after=3)
    received = []
    with pytest.raises(Exception) as excinfo:
        for chunk in sync_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True):
            received.append(chunk)
    assert _dropped(excinfo.value), repr(excinfo.value)
    assert len(received) == 3


async def test_dropped_responses_stream_async(server, async_client):
    server.add_responses_stream(_event_stream(), fail_after=5, exc=w.HTTP.ReadError)
    received = []
    with pytest.raises(Exception) as excinfo:
        async for event in await async_client.responses.create(model="o4-mini", input="x", stream=True):
            received.append(event)
    exc = excinfo.value
    assert isinstance(exc, w.HTTP.ReadError) or isinstance(exc.__cause__, w.HTTP.ReadError), repr(exc)
    assert [e.sequence_number for e in received] == [0, 1, 2, 3, 4]


def test_paced_stream_sync(server, sync_client):
    server.add_chat_stream(w.chat_chunks(contents=["a b c"]), delay=0.02, initial_delay=0.05)
    start = time.perf_counter()
    arrivals = [
        time.perf_counter() - start
        for _ in sync_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    ]
    assert arrivals[0] >= 0.05
    assert arrivals[-1] - arrivals[0] >= 0.02 * (len(arrivals) - 1) * 0.9


async def test_paced_stream_async_does_not_block_the_loop(server, async_client):
    server.add_chat_stream(w.chat_chunks(contents=["a b c d"]), delay=0.02)
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        stream = await async_client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True
        )
        chunks = [chunk async for chunk in stream]
    finally:
        task.cancel()
    assert _rebuild(chunks)[0] == {0: "a b c d"}
    assert ticks >= 5  # asyncio.sleep between pieces, not time.sleep


def test_delayed_json(server, sync_client):
    server.add_json(w.chat_completion(), delay=0.05)
    start = time.perf_counter()
    sync_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert time.perf_counter() - start >= 0.05


# -- other client classes ---------------------------------------------------------------------------------


def test_azure_client(server):
    azure = w.client(server, cls=openai.AzureOpenAI)
    result = azure.chat.completions.create(model="my-deployment", messages=MESSAGES)
    assert result.choices[0].message.content == "Hello!"
    req = server.last
    assert req.path == "/openai/deployments/my-deployment/chat/completions"
    assert f"api-version={w.DEFAULT_AZURE_API_VERSION}" in req.url
    assert req.headers["api-key"] == "sk-test"


async def test_async_azure_client(server):
    azure = w.client(server, cls=openai.AsyncAzureOpenAI, api_version="2025-03-01-preview")
    stream = await azure.chat.completions.create(model="dep", messages=MESSAGES, stream=True)
    assert _rebuild([chunk async for chunk in stream])[0] == {0: "Hello!"}
    assert "api-version=2025-03-01-preview" in server.last.url


def test_custom_base_url(server):
    compat = w.client(server, base_url="https://api.deepseek.com/v1")
    server.add_json(w.chat_completion("deepseek-chat", usage=w.deepseek_usage()))
    assert compat.chat.completions.create(model="deepseek-chat", messages=MESSAGES).model == "deepseek-chat"
    assert server.last.url == "https://api.deepseek.com/v1/chat/completions"
