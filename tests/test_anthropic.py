"""The anthropic integration, end to end: the real anthropic SDK (sync and async) against exact Messages API wire
formats on a mock transport of the HTTP library it is built on, spans captured in memory.

Acceptance scenarios of ../shared/reference/scenarios.md are named in docstrings ("scenario N").
"""

from __future__ import annotations

import asyncio
import base64
import gc
import hashlib
import json
import time

import anthropic
import pydantic
import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

import llmobs
from llmobs import semconv as sc
from llmobs.instrumentation import anthropic as ai
from tests.support import anthropic_wire as w
from tests.support.integration import capture_fixtures, dropped_connection_error, one_call, run, sdk_version

MESSAGES = [{"role": "user", "content": "Say hello"}]
# Recent anthropic SDKs trace themselves (one span per call, started through this function); older ones
# (1.0) do not, so there is no SDK span for llmobs to replace.
SDK_TRACES_ONLY = pytest.mark.skipif(
    not hasattr(anthropic._base_client, "start_api_call_span"), reason="this anthropic SDK does not trace itself")
MODEL = w.MODEL


@pytest.fixture
def server():
    return w.MockAnthropic()


cap, cap_content = capture_fixtures("anthropic")


def create(client, **kwargs):
    kwargs.setdefault("model", MODEL)
    kwargs.setdefault("max_tokens", 256)
    kwargs.setdefault("messages", MESSAGES)
    return client.messages.create(**kwargs)


def content_of(call, attribute):
    return json.loads(call.attributes[attribute])


# --- messages.create -----------------------------------------------------------------------------------------

def test_create_records_request_response_usage_and_cost(cap, server):
    server.add_message(w.message(MODEL, usage_=w.usage(400, 120, cache_read=500, cache_write=100)))
    result = create(w.client(server), stop_sequences=["END"], output_config={"effort": "high"})
    assert isinstance(result, anthropic.types.Message)
    call = cap.assert_llm_call(
        operation="chat", provider="anthropic", model=MODEL, response_model=MODEL,
        # Anthropic's input_tokens excludes the cache: 400 + 500 read + 100 written
        input_tokens=1000, output_tokens=120, cache_read_input_tokens=500, cache_write_input_tokens=100,
        finish_reasons=("stop",), stream=False, cost_status="priced",
    )
    # priced per part: $3/M uncached input, $0.30/M cache reads, $3.75/M cache writes, $15/M output
    assert call.cost == pytest.approx(400 * 3e-6 + 500 * 0.3e-6 + 100 * 3.75e-6 + 120 * 15e-6)
    span = call.span
    assert span.name == f"chat {MODEL}" and span.kind is SpanKind.CLIENT
    a = call.attributes
    assert a[sc.SERVER_ADDRESS] == "api.anthropic.com" and a[sc.SERVER_PORT] == 443
    assert a[sc.GEN_AI_RESPONSE_ID] == result.id
    assert a[sc.GEN_AI_REQUEST_MAX_TOKENS] == 256
    assert a[sc.GEN_AI_REQUEST_STOP_SEQUENCES] == ("END",)
    assert a[sc.GEN_AI_REQUEST_REASONING_LEVEL] == "high"
    assert sc.GEN_AI_INPUT_MESSAGES not in a and sc.GEN_AI_OUTPUT_MESSAGES not in a  # privacy by default


def test_async_create(cap, server):
    result = run(create(w.client(server, async_=True)))
    call = cap.assert_llm_call(provider="anthropic", input_tokens=12, output_tokens=6, finish_reasons=("stop",))
    assert call.attributes[sc.GEN_AI_RESPONSE_ID] == result.id


def test_sampling_parameters_of_older_sdks():
    """anthropic 1.x still takes temperature / top_p / top_k (2.x dropped them): they map when given."""
    params = ai._params({"temperature": 0.3, "top_p": 0.9, "top_k": 40, "max_tokens": 5, "stop_sequences": ["x"],
                         "output_config": {"format": {"type": "json_schema", "schema": {}}}})
    assert params == {sc.GEN_AI_REQUEST_TEMPERATURE: 0.3, sc.GEN_AI_REQUEST_TOP_P: 0.9, sc.GEN_AI_REQUEST_TOP_K: 40.0,
                      sc.GEN_AI_REQUEST_MAX_TOKENS: 5, sc.GEN_AI_REQUEST_STOP_SEQUENCES: ("x",),
                      sc.GEN_AI_OUTPUT_TYPE: "json"}
    assert ai._params({"temperature": True, "top_k": 1.5, "max_tokens": None}) == {}


@pytest.mark.parametrize(("stop", "reason"), [
    ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("tool_use", "tool_call"),
    ("refusal", "content_filter"), ("model_context_window_exceeded", "length"), ("pause_turn", "stop"),
])
def test_stop_reasons_are_normalised(cap, server, stop, reason):
    server.add_message(w.message(stop_reason=stop))
    create(w.client(server))
    assert one_call(cap).finish_reasons == (reason,)


def test_extended_thinking_is_reasoning(cap_content, server):
    msg = w.message(content=[w.thinking_block("Think first."), w.text_block("Hi!")],
                    usage_=w.usage(20, 90, thinking=70))
    server.add_message(msg)
    create(w.client(server), thinking={"type": "enabled", "budget_tokens": 2048})
    call = cap_content.assert_llm_call(output_tokens=90, reasoning_output_tokens=70)
    (out,) = content_of(call, sc.GEN_AI_OUTPUT_MESSAGES)
    assert out["parts"] == [{"type": "reasoning", "content": "Think first."}, {"type": "text", "content": "Hi!"}]


def test_content_capture_of_messages_system_tools_images_and_tool_results(cap_content, server):
    server.add_message(w.message(content=[w.text_block("Let me check."),
                                          w.tool_use_block("get_weather", {"city": "Oslo"}, id="toolu_1")],
                                 stop_reason="tool_use"))
    messages = [
        {"role": "user", "content": [
            {"type": "text", "text": "Weather?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0K"}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
        ]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_0", "name": "lookup", "input": {"q": 1}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_0", "content": "42"}]},
    ]
    tools = [{"name": "get_weather", "description": "Weather by city", "input_schema": {"type": "object"}},
             {"type": "web_search_20250305", "name": "web_search"}]
    create(w.client(server), messages=messages, system=[{"type": "text", "text": "Be brief."}], tools=tools)
    call = one_call(cap_content)
    assert content_of(call, sc.GEN_AI_SYSTEM_INSTRUCTIONS) == [{"type": "text", "content": "Be brief."}]
    inputs = content_of(call, sc.GEN_AI_INPUT_MESSAGES)
    assert inputs[0]["parts"] == [
        {"type": "text", "content": "Weather?"},
        {"type": "blob", "modality": "image", "mime_type": "image/png", "size": 6,  # a descriptor, no bytes
         "sha256": hashlib.sha256(base64.b64decode("iVBORw0K")).hexdigest()},
        {"type": "uri", "modality": "image", "uri": "https://example.com/cat.png"},
    ]
    assert inputs[1]["parts"] == [{"type": "tool_call", "name": "lookup", "arguments": {"q": 1}, "id": "toolu_0"}]
    assert inputs[2]["parts"] == [{"type": "tool_call_response", "response": "42", "id": "toolu_0"}]
    assert content_of(call, sc.GEN_AI_TOOL_DEFINITIONS) == [
        {"type": "function", "name": "get_weather"}, {"type": "web_search_20250305", "name": "web_search"}]
    (out,) = content_of(call, sc.GEN_AI_OUTPUT_MESSAGES)
    assert out["finish_reason"] == "tool_call"
    assert out["parts"][1] == {"type": "tool_call", "name": "get_weather", "arguments": {"city": "Oslo"},
                               "id": "toolu_1"}


def test_capture_never_consumes_the_users_iterables(cap_content, server):
    """A generator of messages reaches the SDK untouched: what it sends is the whole conversation."""
    create(w.client(server), messages=(m for m in MESSAGES))
    assert server.last.json["messages"] == MESSAGES
    call = one_call(cap_content)
    assert sc.GEN_AI_INPUT_MESSAGES not in call.attributes


class Answer(pydantic.BaseModel):
    answer: int


def test_parse_with_a_pydantic_model(cap, server):
    server.add_message(w.message(content=[w.text_block('{"answer": 42}')]))
    parsed = w.client(server).messages.parse(model=MODEL, max_tokens=100, messages=MESSAGES, output_format=Answer)
    assert parsed.parsed_output == Answer(answer=42)
    call = cap.assert_llm_call(output_tokens=6)
    assert call.attributes[sc.GEN_AI_OUTPUT_TYPE] == "json"


def test_count_tokens_is_not_an_llm_call(cap, server):
    assert w.client(server).messages.count_tokens(model=MODEL, messages=MESSAGES).input_tokens == 14
    assert cap.llm_calls() == []


def test_beta_messages(cap, server):
    client = w.client(server)
    client.beta.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES, betas=["context-1m-2025-08-07"])
    with client.beta.messages.stream(model=MODEL, max_tokens=10, messages=MESSAGES) as stream:
        assert stream.get_final_text() == "Hello! How can I help?"
    first, second = cap.llm_calls()
    assert first.stream is False and second.stream is True
    assert second.time_to_first_chunk is not None and second.output_tokens == 6


# --- errors ------------------------------------------------------------------------------------------------------

def test_errors_reach_the_user_unchanged_and_mark_the_span(cap, server):
    """Scenario 21."""
    server.add_error(429, "Number of request tokens has exceeded your per-minute rate limit")
    with pytest.raises(anthropic.RateLimitError) as info:
        create(w.client(server))
    call = one_call(cap)
    assert call.error_type == "anthropic.RateLimitError" and call.finish_reasons == ("error",)
    assert call.span.status.status_code is StatusCode.ERROR
    assert info.value.status_code == 429


def test_async_overloaded_error(cap, server):
    server.add_error(529)
    with pytest.raises(anthropic.APIStatusError) as info:
        run(create(w.client(server, async_=True)))
    assert info.value.status_code == 529
    assert one_call(cap).error_type == "anthropic.OverloadedError"


def test_instrumentation_fault_never_changes_the_result(cap, server, monkeypatch):
    """Scenario 20."""
    def broken(u):
        raise RuntimeError("extractor bug")

    monkeypatch.setattr(ai, "_message_usage", broken)
    result = create(w.client(server))
    assert result.content[0].text == "Hello! How can I help?"
    assert len(cap.llm_calls()) == 1


# --- streams -------------------------------------------------------------------------------------------------------

def test_stream_create_usage_ttfc_and_cumulative_delta(cap, server):
    """Scenarios 2, 3, 4, 6: message_delta usage is cumulative; a non-null input count there wins."""
    msg = w.message(usage_=w.usage(30, 40, cache_read=10, cache_write=0))
    server.add_stream(w.stream_events(msg, final_usage={"output_tokens": 40, "input_tokens": 35,
                                                        "cache_read_input_tokens": 10}), delay=0.005)
    client = w.client(server)
    t0 = time.time_ns()
    stream = create(client, stream=True)
    assert isinstance(stream, anthropic.Stream)
    assert cap.llm_calls() == []
    texts = [e.delta.text for e in stream if e.type == "content_block_delta"]
    assert "".join(texts) == "Hello! How can I help?"
    call = cap.assert_llm_call(stream=True, input_tokens=45, output_tokens=40, cache_read_input_tokens=10,
                               cache_write_input_tokens=0, finish_reasons=("stop",), incomplete=False,
                               cost_status="priced")
    assert call.attributes[sc.GEN_AI_RESPONSE_ID] == msg["id"]
    assert 0 < call.time_to_first_chunk < (call.span.end_time - call.span.start_time) / 1e9
    assert call.span.start_time >= t0
    # every event the SDK yields (it drops the ping)
    assert call.attributes[sc.LLMOBS_STREAM_CHUNKS] == len([e for e in w.stream_events(msg) if e["type"] != "ping"])


def test_streamed_tool_use_and_thinking_are_reassembled(cap_content, server):
    """Scenario 5: input_json_delta fragments become one tool call per content block."""
    msg = w.message(content=[w.thinking_block("Weather needs a tool."), w.text_block("Checking."),
                             w.tool_use_block("get_weather", {"city": "Paris", "unit": "c"}, id="toolu_a"),
                             w.tool_use_block("get_time", {"tz": "CET"}, id="toolu_b")],
                    stop_reason="tool_use", usage_=w.usage(50, 80, thinking=30))
    server.add_stream(w.stream_events(msg, pieces=4, final_usage={"output_tokens": 80,
                                                                  "output_tokens_details": {"thinking_tokens": 30}}))
    for _ in create(w.client(server), stream=True):
        pass
    call = cap_content.assert_llm_call(finish_reasons=("tool_call",), output_tokens=80, reasoning_output_tokens=30)
    (out,) = content_of(call, sc.GEN_AI_OUTPUT_MESSAGES)
    assert out["parts"] == [
        {"type": "reasoning", "content": "Weather needs a tool."},
        {"type": "text", "content": "Checking."},
        {"type": "tool_call", "id": "toolu_a", "name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}},
        {"type": "tool_call", "id": "toolu_b", "name": "get_time", "arguments": {"tz": "CET"}},
    ]


def test_stream_break_ends_span_once_incomplete(cap, server):
    """Scenario 1."""
    stream = create(w.client(server), stream=True)
    for i, _ in enumerate(stream):
        if i == 2:
            break
    del stream
    gc.collect()
    call = one_call(cap)
    assert call.incomplete and call.finish_reasons == ("error",)
    assert call.attributes[sc.LLMOBS_STREAM_CHUNKS] == 3


def test_stream_exit_paths_each_end_the_span_once(cap, server):
    """Scenarios 1 and 2: close(); a with block left early (binding the instrumented stream); return from the
    loop; an exception in the caller's loop body (theirs, unchanged: the span is incomplete, not an error)."""
    client = w.client(server)
    stream = create(client, stream=True)
    next(iter(stream))
    stream.close()
    with create(client, stream=True) as bound:
        assert isinstance(bound, anthropic.Stream)
        for _ in bound:
            break

    def first_event():
        for event in create(client, stream=True):
            return event
        return None

    assert first_event().type == "message_start"
    with pytest.raises(ZeroDivisionError):
        for _ in create(client, stream=True):
            1 / 0  # noqa: B018
    gc.collect()
    calls = cap.llm_calls()
    assert len(calls) == 4 and all(c.incomplete for c in calls)
    assert all(c.span.status.status_code is StatusCode.UNSET for c in calls)
    assert all(c.input_tokens == 12 for c in calls)  # message_start had arrived


# anthropic 2.17 wraps a connection dropped mid-stream in APIConnectionError; earlier releases let the HTTP
# library's RemoteProtocolError through. Either way the span names what the user got.
DROPPED, DROPPED_NAME = dropped_connection_error(anthropic, w.HTTP, wraps=sdk_version(anthropic) >= (2, 17))


def _assert_cut_call(cap, info, seen):
    if DROPPED is anthropic.APIConnectionError:
        assert isinstance(info.value.__cause__, w.HTTP.RemoteProtocolError), repr(info.value.__cause__)
    call = one_call(cap)
    assert seen == 4  # message_start, content_block_start, two deltas (the SDK drops the ping)
    assert call.error_type == DROPPED_NAME
    assert call.span.status.status_code is StatusCode.ERROR and call.incomplete
    assert call.attributes[sc.LLMOBS_STREAM_CHUNKS] == seen
    assert call.input_tokens == 12  # from message_start: what arrived before the drop is kept
    assert call.time_to_first_chunk is not None


def test_stream_cut_by_the_server_marks_the_error(cap, server):
    """Scenario 7: a dropped connection mid-stream reaches the user; the span keeps what arrived."""
    server.add_stream(w.stream_events(w.message()), fail_after=5)
    seen = 0
    with pytest.raises(DROPPED) as info:
        for _ in create(w.client(server), stream=True):
            seen += 1
    assert type(info.value) is DROPPED
    _assert_cut_call(cap, info, seen)


def test_async_stream_cut_by_the_server_marks_the_error(cap, server):
    """Scenario 7, async: the same exception reaches the caller of ``async for``; the span keeps what arrived."""
    server.add_stream(w.stream_events(w.message()), fail_after=5)
    seen = []

    async def main():
        async for event in await create(w.client(server, async_=True), stream=True):
            seen.append(event)

    with pytest.raises(DROPPED) as info:
        run(main())
    assert type(info.value) is DROPPED
    _assert_cut_call(cap, info, len(seen))


def test_error_event_mid_stream(cap, server):
    events = w.stream_events(w.message(), cut_after_content=True)
    events.append({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    server.add_stream(events)
    with pytest.raises(anthropic.APIStatusError):
        for _ in create(w.client(server), stream=True):
            pass
    call = one_call(cap)
    assert call.span.status.status_code is StatusCode.ERROR and call.finish_reasons == ("error",)


def test_async_stream_create_and_break(cap, server):
    async def main():
        client = w.client(server, async_=True)
        stream = await create(client, stream=True)
        assert isinstance(stream, anthropic.AsyncStream)
        async for _ in stream:
            pass
        stream = await create(client, stream=True)
        async for _ in stream:
            break
        await stream.close()

    run(main())
    done, cut = cap.llm_calls()
    assert done.incomplete is False and done.output_tokens == 6
    assert cut.incomplete is True


# --- messages.stream() -----------------------------------------------------------------------------------------

def test_stream_helper_text_stream(cap, server):
    with w.client(server).messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES) as stream:
        text = "".join(stream.text_stream)
        assert stream.get_final_message().usage.output_tokens == 6
    assert text == "Hello! How can I help?"
    call = cap.assert_llm_call(stream=True, incomplete=False, input_tokens=12, output_tokens=6)
    assert call.time_to_first_chunk is not None


@pytest.mark.parametrize("helper", ["get_final_message", "get_final_text", "until_done"])
def test_stream_helper_final_without_iterating(cap, server, helper):
    """The helpers read the whole stream themselves: the span ends with it."""
    with w.client(server).messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES) as stream:
        getattr(stream, helper)()
        assert len(cap.llm_calls()) == 1
    cap.assert_llm_call(incomplete=False, finish_reasons=("stop",), output_tokens=6)


def test_stream_helper_left_without_reading_ends_the_span(cap, server):
    with w.client(server).messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES):
        pass
    call = one_call(cap)
    assert call.incomplete is True


def test_stream_helper_manager_never_entered_makes_no_span(cap, server):
    w.client(server).messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES)
    assert cap.llm_calls() == [] and server.requests == []


def test_async_stream_helper(cap, server):
    async def main():
        client = w.client(server, async_=True)
        async with client.messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES) as stream:
            chunks = [t async for t in stream.text_stream]
        async with client.messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES) as stream:
            final = await stream.get_final_message()
        return chunks, final

    chunks, final = run(main())
    assert "".join(chunks) == "Hello! How can I help?" and final.stop_reason == "end_turn"
    first, second = cap.llm_calls()
    assert first.incomplete is False and second.incomplete is False
    assert first.time_to_first_chunk is not None and second.output_tokens == 6


# --- raw responses -------------------------------------------------------------------------------------------------

def test_with_raw_response_and_streaming_response(cap, server):
    client = w.client(server)
    raw = client.messages.with_raw_response.create(model=MODEL, max_tokens=10, messages=MESSAGES)
    assert raw.parse().content[0].text == "Hello! How can I help?"
    with client.messages.with_streaming_response.create(model=MODEL, max_tokens=10, messages=MESSAGES,
                                                        stream=True) as response:
        events = list(response.parse())
    assert events[-1].type == "message_stop"
    plain, streamed = cap.llm_calls()
    assert plain.output_tokens == 6 and plain.stream is False
    assert streamed.output_tokens == 6 and streamed.incomplete is False


# --- the SDK's own span --------------------------------------------------------------------------------------------

@SDK_TRACES_ONLY
def test_exactly_one_llm_span_while_the_sdk_traces(cap, server):
    """anthropic 2.x starts its own span per call; with llmobs there is still exactly one LLM span, ours, and
    the SDK's trace propagation points at it."""
    client = w.client(server, open_telemetry={"tracer_provider": cap.tracer_provider})
    create(client)
    with client.messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES) as stream:
        stream.until_done()
    run(create(w.client(server, async_=True, open_telemetry={"tracer_provider": cap.tracer_provider})))
    calls = cap.llm_calls()
    assert len(calls) == 3 and {c.span.instrumentation_scope.name for c in calls} == {sc.SCOPE_NAME}
    assert [s for s in cap.spans if s.instrumentation_scope.name != sc.SCOPE_NAME] == []
    for request, call in zip(server.requests, calls, strict=True):
        assert request.headers["traceparent"].split("-")[2] == f"{call.span.context.span_id:016x}"
    # Calls llmobs does not record keep the SDK's span (not an LLM span).
    client.messages.count_tokens(model=MODEL, messages=MESSAGES)
    (native,) = [s for s in cap.spans if s.instrumentation_scope.name != sc.SCOPE_NAME]
    assert native.name == "anthropic.messages.count_tokens"
    assert len(cap.llm_calls()) == 3


@SDK_TRACES_ONLY
def test_the_sdk_span_comes_back_when_llmobs_is_gone(llmobs_capture, server):
    """Without llmobs the SDK's own span is there (so the test above proves something)."""
    client = w.client(server, open_telemetry={"tracer_provider": llmobs_capture.tracer_provider})
    create(client)
    (native,) = llmobs_capture.spans
    assert native.name == "anthropic.messages.create"


@SDK_TRACES_ONLY
def test_sdk_tracing_off_means_no_propagation(cap, server):
    create(w.client(server, open_telemetry=False))
    create(w.client(server, open_telemetry={"tracer_provider": cap.tracer_provider, "propagation": False}))
    assert len(cap.llm_calls()) == 2
    assert all("traceparent" not in r.headers for r in server.requests)


# --- context, providers, lifecycle ----------------------------------------------------------------------------

def test_span_is_current_during_the_http_request(cap, server):
    """Scenario 11."""
    seen = []
    original = server.handler

    def handler(request):
        seen.append(trace.get_current_span().get_span_context().span_id)
        return original(request)

    server.handler = handler  # what client() plugs into the transport
    create(w.client(server))
    assert seen == [one_call(cap).span.context.span_id]


def test_concurrent_async_calls_are_siblings(cap, server):
    """Scenario 8."""
    async def main():
        client = w.client(server, async_=True)
        with llmobs.span("parent"):
            await asyncio.gather(*(create(client) for _ in range(3)))

    run(main())
    parent = cap.one("parent")
    calls = cap.llm_calls()
    assert len(calls) == 3 and all(c.span.parent.span_id == parent.context.span_id for c in calls)


def test_one_span_inside_a_manual_llm_call(cap, server):
    """Scenario 10."""
    with llmobs.llm_call(model=MODEL, provider="anthropic") as handle:
        create(w.client(server))
        handle.record_usage(input_tokens=12, output_tokens=6)
    assert len(cap.llm_calls()) == 1


def test_vertex_and_bedrock_clients(cap, server):
    http = w.HTTP.Client(transport=w.HTTP.MockTransport(server.handler))
    vertex = anthropic.AnthropicVertex(region="us-east5", project_id="proj", access_token="tok", http_client=http,
                                       max_retries=0)
    create(vertex)
    bedrock = anthropic.AnthropicBedrock(aws_region="us-east-1", api_key="bedrock-key", http_client=http,
                                         max_retries=0)
    create(bedrock, model="anthropic.claude-sonnet-4-6")
    v, b = cap.llm_calls()
    assert (v.provider, v.attributes[sc.SERVER_ADDRESS]) == ("gcp.vertex_ai", "us-east5-aiplatform.googleapis.com")
    assert (b.provider, b.attributes[sc.SERVER_ADDRESS]) == ("aws.bedrock", "bedrock-runtime.us-east-1.amazonaws.com")


def test_context_and_metrics(cap, server):
    with llmobs.context(user_id="u-1", session_id="s-1"):
        create(w.client(server))
    call = one_call(cap)
    assert call.attributes[sc.USER_ID] == "u-1" and call.attributes[sc.SESSION_ID] == "s-1"
    usage = cap.metric_points(sc.METRIC_TOKEN_USAGE, **{sc.GEN_AI_TOKEN_TYPE: "input"})
    assert usage and usage[0].sum == 12


def test_uninstrument_restores_the_originals(llmobs_capture):
    """Scenario 12."""
    from anthropic import _base_client
    from anthropic.resources.messages import messages as mod

    before = {name: vars(mod.Messages)[name] for name in ("create", "parse", "stream")}
    span_starter = getattr(_base_client, "start_api_call_span", None)  # SDKs that trace themselves
    llmobs.instrument(integrations=["anthropic"])
    llmobs.instrument(integrations=["anthropic"])
    assert vars(mod.Messages)["create"] is not before["create"]
    assert getattr(_base_client, "start_api_call_span", None) is not span_starter or span_starter is None
    llmobs.uninstrument()
    llmobs.uninstrument()
    assert {name: vars(mod.Messages)[name] for name in before} == before
    assert getattr(_base_client, "start_api_call_span", None) is span_starter
