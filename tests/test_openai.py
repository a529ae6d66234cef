"""The openai integration, end to end: the real openai SDK (sync and async) against exact wire formats on a
mock transport of the HTTP library it is built on, spans captured in memory.

Each acceptance scenario of ../shared/reference/scenarios.md that touches openai is named in its test's
docstring ("scenario N").
"""

from __future__ import annotations

import asyncio
import base64
import gc
import hashlib
import time

import openai
import pydantic
import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

import llmobs
from llmobs import semconv as sc
from llmobs.instrumentation import openai as oi
from tests.support import openai_wire as w
from tests.support.integration import capture_fixtures, dropped_connection_error, one_call, run, sdk_version

MESSAGES = [{"role": "user", "content": "Say hello"}]


@pytest.fixture
def server():
    return w.MockOpenAI()


cap, cap_content = capture_fixtures("openai")


# --- chat completions -------------------------------------------------------------------------------------

def test_chat_create_records_request_response_usage_and_cost(cap, server):
    server.add_json(w.chat_completion(
        model="gpt-4o-mini-2024-07-18", contents=["Hello!"],
        usage=w.completion_usage(1000, 200, cached_tokens=600, reasoning_tokens=50),
        system_fingerprint="fp_abc", service_tier="default",
    ))
    client = w.client(server)
    result = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, temperature=0.2, top_p=0.9, max_completion_tokens=300,
        stop="END", seed=7, frequency_penalty=0.1, presence_penalty=0.3, service_tier="flex",
        response_format={"type": "json_object"}, reasoning_effort="low",
    )
    assert isinstance(result, openai.types.chat.ChatCompletion)
    call = cap.assert_llm_call(
        operation="chat", provider="openai", model="gpt-4o-mini", response_model="gpt-4o-mini-2024-07-18",
        input_tokens=1000, output_tokens=200, cache_read_input_tokens=600, reasoning_output_tokens=50,
        finish_reasons=("stop",), stream=False, cost_status="priced",
    )
    span = call.span
    assert span.name == "chat gpt-4o-mini"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    a = call.attributes
    assert a[sc.SERVER_ADDRESS] == "api.openai.com" and a[sc.SERVER_PORT] == 443
    assert a[sc.GEN_AI_RESPONSE_ID] == result.id
    assert a[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.2 and a[sc.GEN_AI_REQUEST_TOP_P] == 0.9
    assert a[sc.GEN_AI_REQUEST_MAX_TOKENS] == 300
    assert a[sc.GEN_AI_REQUEST_STOP_SEQUENCES] == ("END",)
    assert a[sc.GEN_AI_REQUEST_SEED] == 7
    assert a[sc.GEN_AI_REQUEST_FREQUENCY_PENALTY] == 0.1 and a[sc.GEN_AI_REQUEST_PRESENCE_PENALTY] == 0.3
    assert a[sc.GEN_AI_OUTPUT_TYPE] == "json"
    assert a[sc.GEN_AI_REQUEST_REASONING_LEVEL] == "low"
    assert a[sc.OPENAI_API_TYPE] == "chat_completions"
    assert a[sc.OPENAI_REQUEST_SERVICE_TIER] == "flex"
    assert a[sc.OPENAI_RESPONSE_SERVICE_TIER] == "default"
    assert a[sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] == "fp_abc"
    assert sc.GEN_AI_REQUEST_STREAM not in a and sc.GEN_AI_REQUEST_CHOICE_COUNT not in a
    # cache-aware cost: gpt-4o-mini is $0.15/M input, $0.075/M cached input, $0.60/M output
    expected = 400 * 0.15e-6 + 600 * 0.075e-6 + 200 * 0.6e-6
    assert call.cost == pytest.approx(expected, rel=1e-6)
    assert a[sc.LLMOBS_COST_INPUT] == pytest.approx(400 * 0.15e-6 + 600 * 0.075e-6, rel=1e-6)


def test_chat_async_create(cap, server):
    server.add_json(w.chat_completion(usage=w.completion_usage(10, 3)))
    client = w.client(server, async_=True)
    result = run(client.chat.completions.create(model="gpt-4o", messages=MESSAGES))
    assert isinstance(result, openai.types.chat.ChatCompletion)
    cap.assert_llm_call(operation="chat", provider="openai", model="gpt-4o", input_tokens=10, output_tokens=3)


@pytest.mark.llmobs(capture_content=True)
def test_chat_n_choices_and_tool_calls_in_order(cap_content, server):
    """n > 1: one finish reason and one output message per choice, in order; tool calls parsed."""
    server.add_json(w.chat_completion(
        contents=["It is sunny.", None],
        tool_calls=[None, [w.tool_call("get_weather", {"city": "Paris"}, id="call_1")]],
    ))
    client = w.client(server)
    client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "system", "content": "Be brief"}, *MESSAGES], n=2,
        tools=[{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
    )
    call = one_call(cap_content)
    assert call.finish_reasons == ("stop", "tool_call")
    a = call.attributes
    assert a[sc.GEN_AI_REQUEST_CHOICE_COUNT] == 2
    import json

    out = json.loads(a[sc.GEN_AI_OUTPUT_MESSAGES])
    assert out[0] == {"role": "assistant", "parts": [{"type": "text", "content": "It is sunny."}]}
    assert out[1]["parts"] == [
        {"type": "tool_call", "name": "get_weather", "arguments": {"city": "Paris"}, "id": "call_1"}
    ]
    inp = json.loads(a[sc.GEN_AI_INPUT_MESSAGES])
    assert inp == [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief"}]},
        {"role": "user", "parts": [{"type": "text", "content": "Say hello"}]},
    ]
    assert json.loads(a[sc.GEN_AI_TOOL_DEFINITIONS]) == [{"type": "function", "name": "get_weather"}]


@pytest.mark.llmobs(capture_content=True)
def test_chat_input_tool_results_images_and_assistant_tool_calls(cap_content, server):
    import json

    server.add_json(w.chat_completion())
    client = w.client(server)
    client.chat.completions.create(model="gpt-4o", messages=[
        {"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        ]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_9", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "cat"}'}},
        ]},
        {"role": "tool", "tool_call_id": "call_9", "content": "a cat"},
    ])
    inp = json.loads(one_call(cap_content).attributes[sc.GEN_AI_INPUT_MESSAGES])
    assert inp[0]["parts"] == [
        {"type": "text", "content": "What is this?"},
        {"type": "blob", "modality": "image", "mime_type": "image/png", "size": 8,  # a descriptor, no bytes
         "sha256": hashlib.sha256(base64.b64decode("iVBORw0KGgo=")).hexdigest()},
        {"type": "uri", "modality": "image", "uri": "https://example.com/cat.png"},
    ]
    assert inp[1] == {"role": "assistant", "parts": [
        {"type": "tool_call", "name": "lookup", "arguments": {"q": "cat"}, "id": "call_9"}]}
    assert inp[2] == {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_9", "response": "a cat"}]}


def test_content_is_not_captured_by_default_and_no_secret_is_recorded(cap, server):
    """Scenarios 25, 26: capture off records no prompt, completion, tool argument; the API key never."""
    server.add_json(w.chat_completion(contents=[None], tool_calls=[w.tool_call("lookup", {"secret": "x"})]))
    client = w.client(server, api_key="sk-live-SECRET")
    client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, tools=[{"type": "function", "function": {"name": "lookup"}}],
    )
    a = one_call(cap).attributes
    for key in (sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES, sc.GEN_AI_TOOL_DEFINITIONS,
                sc.GEN_AI_SYSTEM_INSTRUCTIONS):
        assert key not in a
    assert not any("SECRET" in str(v) or "Say hello" in str(v) for v in a.values())


def test_chat_parse_with_pydantic_model(cap, server):
    class Answer(pydantic.BaseModel):
        city: str

    server.add_json(w.chat_completion(contents=['{"city": "Paris"}']))
    client = w.client(server)
    parsed = client.chat.completions.parse(model="gpt-4o", messages=MESSAGES, response_format=Answer)
    assert parsed.choices[0].message.parsed == Answer(city="Paris")
    call = one_call(cap)
    assert call.attributes[sc.GEN_AI_OUTPUT_TYPE] == "json"
    assert call.input_tokens == 12 and call.finish_reasons == ("stop",)


def test_errors_reach_the_user_unchanged_and_mark_the_span(cap, server):
    """Scenario 21: same exception object; span ERROR with error.type; finish reason error."""
    server.add_error(429, "Rate limit reached", "requests", "rate_limit_exceeded")
    client = w.client(server)
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    call = one_call(cap)
    assert call.error_type == "openai.RateLimitError"
    assert call.finish_reasons == ("error",)
    assert call.span.status.status_code is StatusCode.ERROR
    assert call.input_tokens is None and call.cost is None
    events = [e for e in call.span.events if e.name == "exception"]
    assert events and events[0].attributes["exception.type"].endswith("RateLimitError")
    assert info.value.status_code == 429


def test_async_error(cap, server):
    server.add_error(500, "boom", "server_error", None)
    client = w.client(server, async_=True)
    with pytest.raises(openai.InternalServerError):
        run(client.chat.completions.create(model="gpt-4o", messages=MESSAGES))
    assert one_call(cap).error_type == "openai.InternalServerError"


def test_span_is_current_during_the_http_request(cap, server):
    """Scenario 11: HTTP-level spans and propagated headers belong to the LLM span."""
    seen = []

    def responder(request, recorded):
        seen.append(trace.get_current_span().get_span_context().span_id)
        return w.HTTP.Response(200, json=w.chat_completion())

    server.add(responder)
    w.client(server).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert seen == [one_call(cap).span.context.span_id]


def test_instrumentation_fault_never_changes_the_result(cap, server, monkeypatch):
    """Scenario 20: an exception inside our extraction is contained; the user's result is untouched."""
    def broken(u):
        raise RuntimeError("extractor bug")

    monkeypatch.setattr(oi, "_chat_usage", broken)
    server.add_json(w.chat_completion(contents=["fine"]))
    result = w.client(server).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert result.choices[0].message.content == "fine"
    assert len(cap.llm_calls()) == 1


def test_malformed_response_fields_are_tolerated(cap, server):
    """A compatible server that sends odd shapes (string token counts, no choices) breaks nothing."""
    server.add_json({"id": "x", "object": "chat.completion", "created": 1, "model": "m", "choices": [],
                     "usage": {"prompt_tokens": "many", "completion_tokens": None, "total_tokens": 3}})
    result = w.client(server, base_url="http://localhost:8000/v1").chat.completions.create(
        model="m", messages=MESSAGES)
    assert result.id == "x"
    call = one_call(cap)
    assert call.input_tokens is None and call.finish_reasons is None


# --- streams ------------------------------------------------------------------------------------------------

def test_stream_with_include_usage(cap, server):
    """Scenarios 2, 3, 4, 6: type kept, span covers the last chunk, usage from the usage chunk, TTFT."""
    server.add_chat_stream(
        w.chat_chunks(contents=["Hello there, friend"], include_usage=True,
                      usage=w.completion_usage(9, 5, cached_tokens=0)),
        initial_delay=0.02, delay=0.005,
    )
    client = w.client(server)
    t0 = time.time_ns()
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True})
    assert isinstance(stream, openai.Stream)
    assert cap.llm_calls() == []  # not ended by create()
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    t_last = time.time_ns()
    assert text == "Hello there, friend"
    call = cap.assert_llm_call(stream=True, input_tokens=9, output_tokens=5, finish_reasons=("stop",),
                               incomplete=False, cost_status="priced")
    duration = (call.span.end_time - call.span.start_time) / 1e9
    assert call.time_to_first_chunk >= 0.015
    assert call.time_to_first_chunk < duration
    assert call.span.start_time >= t0 and call.span.end_time <= t_last
    assert call.span.end_time - call.span.start_time >= 0.03e9
    assert call.attributes[sc.LLMOBS_STREAM_CHUNKS] >= 6
    ttfc = cap.metric_points(sc.METRIC_OPERATION_TTFC)
    assert ttfc and ttfc[0].count == 1


def test_stream_without_usage_records_none(cap, server):
    """Scenario 4: no include_usage, no usage: absent, not zero, and no cost status."""
    server.add_chat_stream(w.chat_chunks(contents=["Hi"]))
    client = w.client(server)
    for _ in client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True):
        pass
    call = one_call(cap)
    assert call.input_tokens is None and call.output_tokens is None
    assert call.cost is None and call.cost_status is None
    assert sc.GEN_AI_USAGE_INPUT_TOKENS not in call.attributes
    assert call.time_to_first_chunk is not None


@pytest.mark.llmobs(capture_content=True)
def test_streamed_tool_calls_are_reassembled(cap_content, server):
    """Scenario 5: argument fragments keyed by index; ids and names from the first fragment; n = 2."""
    import json

    server.add_chat_stream(w.chat_chunks(
        contents=[None, "Let me check."],
        tool_calls=[[w.tool_call("get_weather", {"city": "Paris", "unit": "C"}, id="call_a"),
                     w.tool_call("get_time", {"tz": "CET"}, id="call_b")], None],
        args_piece_size=3,
    ))
    client = w.client(server)
    for _ in client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True, n=2):
        pass
    call = one_call(cap_content)
    assert call.finish_reasons == ("tool_call", "stop")
    out = json.loads(call.attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    assert out[0]["parts"] == [
        {"type": "tool_call", "name": "get_weather", "arguments": {"city": "Paris", "unit": "C"}, "id": "call_a"},
        {"type": "tool_call", "name": "get_time", "arguments": {"tz": "CET"}, "id": "call_b"},
    ]
    assert out[1]["parts"] == [{"type": "text", "content": "Let me check."}]


def _stream(server, client, **kw):
    server.add_chat_stream(w.chat_chunks(contents=["one two three four five six"], piece_size=3), **kw)
    return client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)


def test_stream_break_ends_span_once_incomplete(cap, server):
    """Scenario 1: break out of the loop; the span ends (at the last chunk seen) when the stream goes."""
    client = w.client(server)
    stream = _stream(server, client)
    for i, _ in enumerate(stream):
        if i == 2:
            break
    del stream
    gc.collect()
    call = one_call(cap)
    assert call.incomplete and call.finish_reasons == ("error",)
    assert call.attributes[sc.LLMOBS_STREAM_CHUNKS] == 3


def test_stream_close_and_with_block(cap, server):
    """Scenario 1: close(); leaving a with block early; return from inside the loop."""
    client = w.client(server)
    stream = _stream(server, client)
    next(iter(stream))
    stream.close()
    with _stream(server, client) as s:
        assert isinstance(s, openai.Stream)
        next(iter(s))

    def first_word():
        for chunk in _stream(server, client):
            if chunk.choices and chunk.choices[0].delta.content:
                return chunk.choices[0].delta.content
        return None

    assert first_word() == "one"
    gc.collect()
    calls = cap.llm_calls()
    assert len(calls) == 3 and all(c.incomplete for c in calls)


# openai 3.x wraps a connection dropped mid-stream in APIConnectionError; 2.x lets the HTTP library's error through.
DROPPED, DROPPED_NAME = dropped_connection_error(openai, w.HTTP, wraps=sdk_version(openai) >= (3,))


def test_stream_error_midway_reaches_user_and_keeps_partial(cap, server):
    """Scenario 1: an exception raised by the stream: same object to the caller; span ERROR, partial."""
    client = w.client(server)
    stream = _stream(server, client, fail_after=3)
    got = []
    with pytest.raises(DROPPED) as info:
        for chunk in stream:
            got.append(chunk)
    assert type(info.value) is DROPPED
    call = one_call(cap)
    assert call.span.status.status_code is StatusCode.ERROR
    assert call.error_type == DROPPED_NAME
    assert call.incomplete and call.attributes[sc.LLMOBS_STREAM_CHUNKS] == len(got) == 3
    assert call.time_to_first_chunk is not None


def test_exception_in_the_callers_loop_body(cap, server):
    client = w.client(server)
    with pytest.raises(KeyError):
        with _stream(server, client) as stream:
            for _ in stream:
                raise KeyError("user bug")
    call = one_call(cap)
    assert call.incomplete and call.error_type is None


def test_async_stream_paths(cap, server):
    """Scenarios 1, 2 in async form: AsyncStream type kept; full, break + close, async with."""
    client = w.client(server, async_=True)

    async def main():
        server.add_chat_stream(w.chat_chunks(contents=["abc def"], include_usage=True,
                                             usage=w.completion_usage(4, 2)))
        stream = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True,
                                                      stream_options={"include_usage": True})
        assert isinstance(stream, openai.AsyncStream)
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        assert text == "abc def"
        server.add_chat_stream(w.chat_chunks(contents=["abc def ghi"], piece_size=2))
        stream = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
        async for _ in stream:
            break
        await stream.close()
        server.add_chat_stream(w.chat_chunks(contents=["abc def ghi"], piece_size=2))
        async with await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True) as s:
            async for _ in s:
                break

    run(main())
    calls = cap.llm_calls()
    assert len(calls) == 3
    assert calls[0].input_tokens == 4 and not calls[0].incomplete
    assert calls[1].incomplete and calls[2].incomplete


def test_stream_helper_manager(cap, server):
    """Scenario 2: chat.completions.stream() keeps its helper API; one span; with exit ends it."""
    server.add_chat_stream(w.chat_chunks(contents=["Hello!"], include_usage=True,
                                         usage=w.completion_usage(5, 2)))
    client = w.client(server)
    with client.chat.completions.stream(model="gpt-4o", messages=MESSAGES,
                                        stream_options={"include_usage": True}) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    assert final.choices[0].message.content == "Hello!"
    cap.assert_llm_call(stream=True, input_tokens=5, output_tokens=2, incomplete=False)
    # leaving the block early ends the span even though the helper stream object is still referenced
    server.add_chat_stream(w.chat_chunks(contents=["one two three four"], piece_size=2))
    with client.chat.completions.stream(model="gpt-4o", messages=MESSAGES) as kept:
        next(iter(kept))
    assert kept is not None
    calls = cap.llm_calls()
    assert len(calls) == 2 and calls[1].incomplete
    assert calls[1].response_model == w.DEFAULT_CHAT_MODEL  # what arrived is kept
    assert calls[1].attributes[sc.LLMOBS_STREAM_CHUNKS] == 1


def test_async_stream_helper_manager(cap, server):
    server.add_chat_stream(w.chat_chunks(contents=["Hey"]))
    client = w.client(server, async_=True)

    async def main():
        async with client.chat.completions.stream(model="gpt-4o", messages=MESSAGES) as stream:
            async for _ in stream:
                pass
            return await stream.get_final_completion()

    assert run(main()).choices[0].message.content == "Hey"
    call = one_call(cap)
    assert call.stream and not call.incomplete


# --- raw responses ----------------------------------------------------------------------------------------

def test_with_raw_response(cap, server):
    """Scenario 13: the user still gets the raw response (headers, parse())."""
    server.add_json(w.chat_completion(usage=w.completion_usage(7, 3)), headers={"x-request-id": "req_1"})
    client = w.client(server)
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)
    assert raw.headers["x-request-id"] == "req_1"
    assert isinstance(raw.parse(), openai.types.chat.ChatCompletion)
    cap.assert_llm_call(input_tokens=7, output_tokens=3)
    # streamed
    server.add_chat_stream(w.chat_chunks(contents=["ab"], include_usage=True, usage=w.completion_usage(2, 1)))
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True})
    stream = raw.parse()
    assert isinstance(stream, openai.Stream)
    assert len(cap.llm_calls()) == 1
    list(stream)
    cap.assert_llm_call(index=1, stream=True, input_tokens=2, incomplete=False)


def test_with_streaming_response(cap, server):
    server.add_json(w.chat_completion(usage=w.completion_usage(8, 2)))
    client = w.client(server)
    with client.chat.completions.with_streaming_response.create(model="gpt-4o", messages=MESSAGES) as raw:
        assert raw.http_response.status_code == 200
        completion = raw.parse()
    assert completion.usage.prompt_tokens == 8
    cap.assert_llm_call(input_tokens=8, stream=False)
    # streamed, consumed through parse()
    server.add_chat_stream(w.chat_chunks(contents=["xy"]))
    with client.chat.completions.with_streaming_response.create(
            model="gpt-4o", messages=MESSAGES, stream=True) as raw:
        assert sum(1 for _ in raw.parse()) > 0
    # never parsed: the span ends when the block closes the response
    server.add_json(w.chat_completion())
    with client.chat.completions.with_streaming_response.create(model="gpt-4o", messages=MESSAGES) as raw:
        raw.http_response.read()
    calls = cap.llm_calls()
    assert len(calls) == 3
    assert calls[1].stream and not calls[1].incomplete
    assert calls[2].input_tokens is None


def test_async_raw_and_streaming_response(cap, server):
    client = w.client(server, async_=True)

    async def main():
        server.add_json(w.chat_completion(usage=w.completion_usage(3, 1)))
        raw = await client.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)
        assert raw.parse().usage.prompt_tokens == 3
        server.add_json(w.chat_completion(usage=w.completion_usage(4, 1)))
        async with client.chat.completions.with_streaming_response.create(
                model="gpt-4o", messages=MESSAGES) as resp:
            parsed = await resp.parse()
        assert parsed.usage.prompt_tokens == 4
        server.add_chat_stream(w.chat_chunks(contents=["ok"], include_usage=True, usage=w.completion_usage(5, 1)))
        async with client.chat.completions.with_streaming_response.create(
                model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}) as resp:
            stream = await resp.parse()
            async for _ in stream:
                pass

    run(main())
    assert [c.input_tokens for c in cap.llm_calls()] == [3, 4, 5]


# --- Responses API ----------------------------------------------------------------------------------------

@pytest.mark.llmobs(capture_content=True)
def test_responses_create_with_reasoning_and_tools(cap_content, server):
    import json

    server.add_json(w.response_object(
        model="o4-mini-2025-04-16",
        output=[w.reasoning_item(["Thinking about weather"]), w.function_call_item("get_weather", {"city": "Oslo"})],
        usage=w.response_usage(500, 120, cached_tokens=100, reasoning_tokens=80),
    ))
    client = w.client(server)
    client.responses.create(
        model="o4-mini", input="Weather in Oslo?", instructions="Use tools", reasoning={"effort": "high"},
        previous_response_id="resp_prev", max_output_tokens=1000, conversation="conv_123",
        tools=[{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}],
    )
    call = cap_content.assert_llm_call(
        operation="chat", model="o4-mini", response_model="o4-mini-2025-04-16", input_tokens=500,
        output_tokens=120, cache_read_input_tokens=100, reasoning_output_tokens=80, finish_reasons=("tool_call",),
    )
    a = call.attributes
    assert a[sc.OPENAI_API_TYPE] == "responses"
    assert a[sc.GEN_AI_REQUEST_REASONING_LEVEL] == "high"
    assert a[sc.GEN_AI_REQUEST_PREVIOUS_RESPONSE_ID] == "resp_prev"
    assert a[sc.GEN_AI_REQUEST_MAX_TOKENS] == 1000
    assert a[sc.GEN_AI_CONVERSATION_ID] == "conv_123"
    assert json.loads(a[sc.GEN_AI_SYSTEM_INSTRUCTIONS]) == [{"type": "text", "content": "Use tools"}]
    assert json.loads(a[sc.GEN_AI_INPUT_MESSAGES]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Oslo?"}]}]
    out = json.loads(a[sc.GEN_AI_OUTPUT_MESSAGES])
    assert out == [{"role": "assistant", "parts": [
        {"type": "reasoning", "content": "Thinking about weather"},
        {"type": "tool_call", "name": "get_weather", "arguments": {"city": "Oslo"},
         "id": out[0]["parts"][1]["id"]},
    ]}]
    assert call.cost_status == "priced"


def test_responses_incomplete_is_length(cap, server):
    server.add_json(w.response_object(status="incomplete", incomplete_reason="max_output_tokens"))
    w.client(server).responses.create(model="gpt-4.1", input="hi")
    assert one_call(cap).finish_reasons == ("length",)


def test_responses_stream_usage_from_completed_event(cap, server):
    """Scenario 4: streamed Responses usage comes from response.completed; TTFT at the first delta."""
    server.add_responses_stream(
        w.response_events(model="gpt-4.1-2025-04-14", output_text="Hello from the stream",
                          usage=w.response_usage(30, 6, cached_tokens=10)),
        delay=0.002,
    )
    client = w.client(server)
    stream = client.responses.create(model="gpt-4.1", input="hi", stream=True)
    assert isinstance(stream, openai.Stream)
    kinds = [event.type for event in stream]
    assert kinds[-1] == "response.completed"
    call = cap.assert_llm_call(stream=True, input_tokens=30, output_tokens=6, cache_read_input_tokens=10,
                               finish_reasons=("stop",), response_model="gpt-4.1-2025-04-14")
    assert call.time_to_first_chunk is not None


def test_responses_stream_helper_and_parse(cap, server):
    class Out(pydantic.BaseModel):
        answer: int

    server.add_responses_stream(w.response_events(output_text="Hi!", usage=w.response_usage(5, 2)))
    client = w.client(server)
    with client.responses.stream(model="gpt-4.1", input="hi") as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    assert final.output_text == "Hi!"
    server.add_json(w.response_object(output_text='{"answer": 42}'))
    parsed = client.responses.parse(model="gpt-4.1", input="6*7?", text_format=Out)
    assert parsed.output_parsed == Out(answer=42)
    calls = cap.llm_calls()
    assert len(calls) == 2
    assert calls[0].stream and calls[0].input_tokens == 5 and not calls[0].incomplete
    assert calls[1].attributes[sc.GEN_AI_OUTPUT_TYPE] == "json" and not calls[1].stream


def test_async_responses(cap, server):
    client = w.client(server, async_=True)

    async def main():
        server.add_json(w.response_object(usage=w.response_usage(11, 2)))
        await client.responses.create(model="gpt-4.1", input="hi")
        server.add_responses_stream(w.response_events(usage=w.response_usage(12, 2)))
        async with client.responses.stream(model="gpt-4.1", input="hi") as stream:
            async for _ in stream:
                pass

    run(main())
    assert [c.input_tokens for c in cap.llm_calls()] == [11, 12]


# --- legacy completions and embeddings ---------------------------------------------------------------------

def test_legacy_completions(cap, server):
    server.add_json(w.completion(model="gpt-3.5-turbo-instruct", texts=["Hi there"]))
    client = w.client(server)
    client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi", max_tokens=5)
    call = cap.assert_llm_call(operation="text_completion", model="gpt-3.5-turbo-instruct")
    assert call.span.name == "text_completion gpt-3.5-turbo-instruct"
    assert call.attributes[sc.GEN_AI_REQUEST_MAX_TOKENS] == 5
    assert sc.OPENAI_API_TYPE not in call.attributes
    server.add_chat_stream(w.completion_chunks(model="gpt-3.5-turbo-instruct", texts=["a b c"]))
    text = "".join(c.choices[0].text for c in client.completions.create(
        model="gpt-3.5-turbo-instruct", prompt="x", stream=True) if c.choices)
    assert text == "a b c"
    stream_call = cap.llm_calls()[1]
    assert stream_call.stream and stream_call.time_to_first_chunk is not None
    assert stream_call.finish_reasons == ("stop",)


def test_embeddings(cap, server):
    client = w.client(server)
    result = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"], dimensions=8)
    assert len(result.data) == 2 and len(result.data[0].embedding) == 8
    call = cap.assert_llm_call(operation="embeddings", model="text-embedding-3-small", output_tokens=None)
    a = call.attributes
    assert call.span.name == "embeddings text-embedding-3-small"
    assert a[sc.LLMOBS_SPAN_KIND] == "embedding"
    assert a[sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == 8
    assert call.input_tokens == result.usage.prompt_tokens
    assert sc.GEN_AI_RESPONSE_FINISH_REASONS not in a
    run(w.client(server, async_=True).embeddings.create(model="text-embedding-3-small", input="c",
                                                       encoding_format="float"))
    assert cap.llm_calls()[1].attributes[sc.GEN_AI_REQUEST_ENCODING_FORMATS] == ("float",)


# --- providers ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("base_url", "provider", "address", "port"), [
    ("https://api.openai.com/v1", "openai", "api.openai.com", 443),
    ("https://api.x.ai/v1", "x_ai", "api.x.ai", 443),
    ("http://localhost:11434/v1", "ollama", "localhost", 11434),
    ("http://127.0.0.1:1234/v1", "lm_studio", "127.0.0.1", 1234),
    ("http://localhost:8000/v1", "openai_compatible", "localhost", 8000),
    ("http://10.1.2.3:11434/v1", "ollama", "10.1.2.3", 11434),
    ("https://api.groq.com/openai/v1", "groq", "api.groq.com", 443),
    ("https://api.deepseek.com", "deepseek", "api.deepseek.com", 443),
    ("https://api.mistral.ai/v1", "mistral_ai", "api.mistral.ai", 443),
    ("https://api.perplexity.ai", "perplexity", "api.perplexity.ai", 443),
    ("https://openrouter.ai/api/v1", "openrouter", "openrouter.ai", 443),
    ("https://api.together.xyz/v1", "together", "api.together.xyz", 443),
    ("https://generativelanguage.googleapis.com/v1beta/openai/", "gcp.gemini",
     "generativelanguage.googleapis.com", 443),
    ("https://my-res.openai.azure.com/openai/v1", "azure.ai.openai", "my-res.openai.azure.com", 443),
    ("https://gateway.example.com/v1", "openai_compatible", "gateway.example.com", 443),
])
def test_provider_detection_by_base_url(cap, server, base_url, provider, address, port):
    """Scenario 13: OpenAI-compatible servers named by base URL; server.address/port always set."""
    w.client(server, base_url=base_url).chat.completions.create(model="some-model", messages=MESSAGES)
    call = cap.assert_llm_call(provider=provider)
    assert call.attributes[sc.SERVER_ADDRESS] == address and call.attributes[sc.SERVER_PORT] == port
    assert (sc.OPENAI_API_TYPE in call.attributes) == (provider in ("openai", "azure.ai.openai"))


def test_azure_client_class_and_deployment_pricing(cap, server):
    """Azure: provider from the client class; priced from the response's model, not the deployment name."""
    server.add_json(w.chat_completion(model="gpt-4o-2024-11-20", usage=w.completion_usage(1000, 100)))
    client = w.client(server, cls=openai.AzureOpenAI, azure_endpoint="https://contoso.example.net",
                      azure_deployment="my-prod-deployment")
    client.chat.completions.create(model="my-prod-deployment", messages=MESSAGES)
    call = cap.assert_llm_call(provider="azure.ai.openai", model="my-prod-deployment",
                               response_model="gpt-4o-2024-11-20", cost_status="priced")
    assert call.attributes[sc.SERVER_ADDRESS] == "contoso.example.net"
    assert call.cost > 0


def test_gateway_mapped_by_the_user(cap, server, monkeypatch):
    monkeypatch.setitem(oi.PROVIDER_HOSTS, "llm-gateway.corp", "openai")
    w.client(server, base_url="https://llm-gateway.corp/v1").chat.completions.create(
        model="gpt-4o", messages=MESSAGES)
    cap.assert_llm_call(provider="openai", cost_status="priced")


def test_prices_follow_the_provider(cap, server):
    """Scenario 18: a local Ollama model is not priced as anything else; xAI usage priced from xAI."""
    server.add_json(w.chat_completion(model="llama3.2", usage=w.completion_usage(100, 10, details=False)))
    w.client(server, base_url="http://localhost:11434/v1").chat.completions.create(
        model="llama3.2", messages=MESSAGES)
    cap.assert_llm_call(provider="ollama", input_tokens=100, cost_status="unpriced", cost=None)


def test_xai_reasoning_tokens_outside_completion_tokens(cap, server):
    """Scenario 17: output includes reasoning even where the server counts it apart (xAI)."""
    server.add_json(w.chat_completion(model="grok-3-mini", usage=w.xai_usage(50, 10, 40, cached_tokens=20)))
    w.client(server, base_url="https://api.x.ai/v1").chat.completions.create(
        model="grok-3-mini", messages=MESSAGES)
    cap.assert_llm_call(provider="x_ai", input_tokens=50, output_tokens=50, reasoning_output_tokens=40,
                        cache_read_input_tokens=20)


def test_deepseek_cache_hits(cap, server):
    usage = w.deepseek_usage(200, 20, cache_hit_tokens=150)
    del usage["prompt_tokens_details"]  # older DeepSeek responses only carry prompt_cache_hit_tokens
    server.add_json(w.chat_completion(model="deepseek-chat", usage=usage))
    w.client(server, base_url="https://api.deepseek.com").chat.completions.create(
        model="deepseek-chat", messages=MESSAGES)
    cap.assert_llm_call(provider="deepseek", input_tokens=200, cache_read_input_tokens=150)


# --- lifecycle ------------------------------------------------------------------------------------------------

def test_uninstrument_restores_the_originals(llmobs_capture):
    """Scenario 12."""
    from openai.resources.chat.completions import completions as mod

    before = {name: vars(mod.Completions)[name] for name in ("create", "parse", "stream")}
    llmobs.instrument(integrations=["openai"])
    llmobs.instrument(integrations=["openai"])
    assert vars(mod.Completions)["create"] is not before["create"]
    llmobs.uninstrument()
    llmobs.uninstrument()
    assert {name: vars(mod.Completions)[name] for name in before} == before


def test_context_and_metrics(cap, server):
    """Scenario 9 plus metrics: user/session reach the span; token usage and duration are recorded."""
    with llmobs.context(user_id="u-1", session_id="s-1"):
        w.client(server).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    call = one_call(cap)
    assert call.attributes[sc.USER_ID] == "u-1" and call.attributes[sc.SESSION_ID] == "s-1"
    assert cap.metric_points(sc.METRIC_OPERATION_DURATION, **{sc.GEN_AI_PROVIDER_NAME: "openai"})
    usage = cap.metric_points(sc.METRIC_TOKEN_USAGE, **{sc.GEN_AI_TOKEN_TYPE: "input"})
    assert usage and usage[0].sum == 12


def test_one_span_inside_a_manual_llm_call(cap, server):
    """Scenario 10: an instrumented client inside llmobs.llm_call is not counted twice."""
    with llmobs.llm_call(model="gpt-4o", provider="openai") as handle:
        w.client(server).chat.completions.create(model="gpt-4o", messages=MESSAGES)
        handle.record_usage(input_tokens=12, output_tokens=8)
    assert len(cap.llm_calls()) == 1


def test_groq_usage_in_x_groq(cap, server):
    chunks = w.chat_chunks(model="llama-3.3-70b-versatile", contents=["hi there"], usage=None)
    chunks[-1]["x_groq"] = {"id": "req_1", "usage": {"prompt_tokens": 21, "completion_tokens": 3,
                                                     "total_tokens": 24}}
    server.add_chat_stream(chunks)
    client = w.client(server, base_url="https://api.groq.com/openai/v1")
    for _ in client.chat.completions.create(model="llama-3.3-70b-versatile", messages=MESSAGES, stream=True):
        pass
    cap.assert_llm_call(provider="groq", input_tokens=21, output_tokens=3)


def test_sdk_provider_runtime_names_the_provider():
    """openai 3.x clients built with provider=bedrock(...) / vertex(...) carry the provider's name."""
    from types import SimpleNamespace

    import httpx2

    for name, expected in (("bedrock", "aws.bedrock"), ("vertex", "gcp.vertex_ai")):
        client = SimpleNamespace(_base_url=httpx2.URL("https://example.com/openai/v1/"),
                                 _provider_runtime=SimpleNamespace(name=name))
        assert oi.client_info(SimpleNamespace(_client=client)) == (expected, "example.com", 443)
    bedrock_host = SimpleNamespace(_base_url=httpx2.URL("https://bedrock-runtime.us-east-1.amazonaws.com/openai/v1"))
    assert oi.client_info(SimpleNamespace(_client=bedrock_host))[0] == "aws.bedrock"
    s3 = SimpleNamespace(_base_url=httpx2.URL("https://s3.amazonaws.com/v1"))
    assert oi.client_info(SimpleNamespace(_client=s3))[0] == "openai_compatible"


def test_provider_cache_follows_a_changed_base_url(cap, server):
    client = w.client(server)
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    client.base_url = "https://api.x.ai/v1"
    client.chat.completions.create(model="grok-4", messages=MESSAGES)
    assert [c.provider for c in cap.llm_calls()] == ["openai", "x_ai"]


def test_responses_stream_failed_and_raw(cap, server):
    server.add_responses_stream(w.response_events(status="failed", usage=None,
                                                  error={"code": "server_error", "message": "oops"}))
    client = w.client(server)
    for _ in client.responses.create(model="gpt-4.1", input="hi", stream=True):
        pass
    server.add_json(w.response_object(usage=w.response_usage(9, 1)))
    raw = client.responses.with_raw_response.create(model="gpt-4.1", input="hi")
    assert raw.parse().usage.input_tokens == 9
    failed, ok = cap.llm_calls()
    assert failed.finish_reasons == ("error",) and failed.input_tokens is None
    assert ok.input_tokens == 9 and ok.finish_reasons == ("stop",)


def test_cut_stream_with_n_choices_marks_each_unfinished_choice(cap, server):
    """A stream cut after choice 0 finished but before choice 1 did: ("stop", "error")."""
    server.add_chat_stream(w.chat_chunks(contents=["ab", "cdefgh"], piece_size=2), fail_after=6)
    client = w.client(server)
    with pytest.raises(Exception):
        for _ in client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True, n=2):
            pass
    call = one_call(cap)
    assert call.incomplete and call.span.status.status_code is StatusCode.ERROR
    assert call.finish_reasons == ("stop", "error")


def test_concurrent_async_calls_are_siblings(cap, server):
    """Scenario 8: asyncio.gather of calls under one parent: siblings, never chained."""
    client = w.client(server, async_=True)

    async def main():
        with llmobs.span("parent"):
            await asyncio.gather(*(client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
                                   for _ in range(3)))

    run(main())
    parent = cap.one(name="parent")
    calls = cap.llm_calls()
    assert len(calls) == 3
    assert {c.span.parent.span_id for c in calls} == {parent.context.span_id}


@pytest.mark.llmobs(capture_content=True)
def test_large_content_is_truncated_not_dropped(llmobs_capture, server):
    """Scenario 27: a long prompt is bounded with a marker; the span is kept."""
    llmobs.instrument(integrations=["openai"], capture_content="SPAN_ONLY", max_content_length=200)
    try:
        w.client(server).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x" * 5000}])
    finally:
        llmobs.uninstrument()
    text = one_call(llmobs_capture).attributes[sc.GEN_AI_INPUT_MESSAGES]
    assert len(text) < 300 and "truncated" in text


@pytest.mark.llmobs(capture_content=True)
def test_capture_never_consumes_the_users_iterables(cap_content, server):
    """Messages given as a generator reach the API intact even with content capture on."""
    client = w.client(server)
    client.chat.completions.create(model="gpt-4o", messages=(m for m in MESSAGES))
    assert server.requests[0].json["messages"] == MESSAGES
    assert sc.GEN_AI_OUTPUT_MESSAGES in one_call(cap_content).attributes


def test_stream_helper_final_without_iterating(cap, server):
    """Scenario 2: the user calls only a helper and never iterates."""
    server.add_chat_stream(w.chat_chunks(contents=["Yo"], include_usage=True, usage=w.completion_usage(3, 1)))
    with w.client(server).chat.completions.stream(model="gpt-4o", messages=MESSAGES,
                                                  stream_options={"include_usage": True}) as stream:
        assert stream.get_final_completion().choices[0].message.content == "Yo"
    cap.assert_llm_call(input_tokens=3, output_tokens=1, incomplete=False, finish_reasons=("stop",))


def test_cost_reported_by_the_provider_wins(cap, server):
    """OpenRouter states the cost in usage; Perplexity as an object. source=provider."""
    usage = w.completion_usage(100, 20)
    usage["cost"] = 0.00042
    server.add_json(w.chat_completion(model="anthropic/claude-sonnet-4", usage=usage))
    w.client(server, base_url="https://openrouter.ai/api/v1").chat.completions.create(
        model="anthropic/claude-sonnet-4", messages=MESSAGES)
    usage = w.completion_usage(50, 10, details=False)
    usage["cost"] = {"input_tokens_cost": 0.00005, "output_tokens_cost": 0.00001, "request_cost": 0.005,
                     "total_cost": 0.00506}
    chunks = w.chat_chunks(model="sonar", contents=["ok"], include_usage=True, usage=usage)
    server.add_chat_stream(chunks)
    for _ in w.client(server, base_url="https://api.perplexity.ai").chat.completions.create(
            model="sonar", messages=MESSAGES, stream=True, stream_options={"include_usage": True}):
        pass
    openrouter, perplexity = cap.llm_calls()
    assert openrouter.cost == 0.00042 and openrouter.attributes[sc.LLMOBS_COST_SOURCE] == "provider"
    assert sc.LLMOBS_COST_INPUT not in openrouter.attributes
    assert perplexity.cost == 0.00506 and perplexity.attributes[sc.LLMOBS_COST_INPUT] == 0.00005
    assert perplexity.attributes[sc.LLMOBS_COST_SOURCE] == "provider"
    assert cap.total_cost() == pytest.approx(0.00042 + 0.00506)


def test_async_stream_error_midway_and_caller_exception(cap, server):
    """Scenario 1, async: a dropped connection mid-stream and an exception in the caller's loop body."""
    client = w.client(server, async_=True)

    async def main():
        server.add_chat_stream(w.chat_chunks(contents=["one two three four"], piece_size=2), fail_after=3)
        stream = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
        got = []
        with pytest.raises(DROPPED) as info:
            async for chunk in stream:
                got.append(chunk)
        server.add_chat_stream(w.chat_chunks(contents=["one two three four"], piece_size=2))
        with pytest.raises(ZeroDivisionError):
            async with await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True) as s:
                async for _ in s:
                    1 / 0  # noqa: B018
        return got, info.value

    got, error = run(main())
    failed, user_bug = cap.llm_calls()
    assert failed.span.status.status_code is StatusCode.ERROR and len(got) == 3
    assert type(error) is DROPPED and failed.error_type == DROPPED_NAME
    assert user_bug.incomplete and user_bug.error_type is None


def test_module_level_client(cap, server, monkeypatch):
    """`openai.chat.completions.create(...)` (the module's default client) is traced too."""
    monkeypatch.setattr(openai, "api_key", "sk-test")
    monkeypatch.setattr(openai, "base_url", "http://localhost:11434/v1")
    monkeypatch.setattr(openai, "http_client", w.HTTP.Client(transport=w.HTTP.MockTransport(server.handler)))
    monkeypatch.setattr(openai, "_client", None)
    openai.chat.completions.create(model="llama3.2", messages=MESSAGES)
    cap.assert_llm_call(provider="ollama", model="llama3.2")


@pytest.mark.parametrize("api", ["embeddings", "completions", "responses"])
def test_raw_and_streaming_response_for_every_api(cap, server, api):
    """Scenario 13: with_raw_response / with_streaming_response on each API keep the raw object."""
    client = w.client(server)
    resource = getattr(client, api)
    kwargs = {"embeddings": {"model": "text-embedding-3-small", "input": "hi"},
              "completions": {"model": "gpt-3.5-turbo-instruct", "prompt": "hi"},
              "responses": {"model": "gpt-4.1", "input": "hi"}}[api]
    raw = resource.with_raw_response.create(**kwargs)
    assert raw.http_response.status_code == 200 and raw.parse() is not None
    with resource.with_streaming_response.create(**kwargs) as streamed:
        assert streamed.parse() is not None
    first, second = cap.llm_calls()
    assert first.input_tokens is not None and first.input_tokens == second.input_tokens
    assert first.operation == {"embeddings": "embeddings", "completions": "text_completion",
                               "responses": "chat"}[api]
