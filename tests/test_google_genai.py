"""The google_genai integration, end to end: the real google-genai SDK (sync and async, AI Studio and Vertex AI)
against exact Gemini wire formats on a mock transport of the HTTP library it is built on, spans captured in
memory.

Each acceptance scenario of ../shared/reference/scenarios.md that touches google-genai is named in its test's
docstring ("scenario N").
"""

from __future__ import annotations

import asyncio
import base64
import gc
import hashlib
import inspect
import json
import time
import types as pytypes

import pytest
from google.genai import errors, types
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

import llmobs
from llmobs import _streams as streams
from llmobs import semconv as sc
from llmobs.instrumentation import google_genai as gi
from tests.support import genai_wire as w
from tests.support.integration import capture_fixtures, dropped_connection_error, one_call, run
from tests.support.subproc import run_py

MODEL = "gemini-2.5-flash"
CONTENT_ATTRIBUTES = (sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES, sc.GEN_AI_SYSTEM_INSTRUCTIONS,
                      sc.GEN_AI_TOOL_DEFINITIONS)


@pytest.fixture
def server():
    return w.MockGemini()


cap, cap_content = capture_fixtures("google_genai")


def content_of(call, key=sc.GEN_AI_OUTPUT_MESSAGES):
    return json.loads(call.attributes[key])


# --- generate_content -----------------------------------------------------------------------------------------

def test_generate_content_records_request_response_usage_and_cost(cap, server):
    """Scenarios 15, 17, 18: params from a GenerateContentConfig; cached and thoughts usage; cache-aware cost."""
    server.add_json(w.generate_content_response(
        text="Bonjour!", usage=w.usage_metadata(1000, 200, cached=600, thoughts=50), response_id="resp-1",
        model_version="gemini-2.5-flash",
    ))
    client = w.client(server)
    config = types.GenerateContentConfig(
        temperature=0.2, top_p=0.9, top_k=40, max_output_tokens=300, stop_sequences=["END"], seed=7,
        presence_penalty=0.1, frequency_penalty=0.3, response_mime_type="application/json",
        thinking_config=types.ThinkingConfig(thinking_level="LOW"),
    )
    result = client.models.generate_content(model=MODEL, contents="Say hello in French", config=config)
    assert isinstance(result, types.GenerateContentResponse) and result.text == "Bonjour!"
    call = cap.assert_llm_call(
        operation="generate_content", provider="gcp.gemini", model=MODEL, response_model="gemini-2.5-flash",
        input_tokens=1000, output_tokens=250, cache_read_input_tokens=600, reasoning_output_tokens=50,
        finish_reasons=("stop",), stream=False, cost_status="priced", error_type=None,
    )
    span = call.span
    assert span.name == "generate_content gemini-2.5-flash"
    assert span.kind is SpanKind.CLIENT and span.status.status_code is StatusCode.UNSET
    a = call.attributes
    assert a[sc.SERVER_ADDRESS] == "generativelanguage.googleapis.com" and a[sc.SERVER_PORT] == 443
    assert a[sc.GEN_AI_RESPONSE_ID] == "resp-1"
    assert a[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.2 and a[sc.GEN_AI_REQUEST_TOP_P] == 0.9
    assert a[sc.GEN_AI_REQUEST_TOP_K] == 40 and type(a[sc.GEN_AI_REQUEST_TOP_K]) is int
    assert a[sc.GEN_AI_REQUEST_MAX_TOKENS] == 300 and a[sc.GEN_AI_REQUEST_SEED] == 7
    assert a[sc.GEN_AI_REQUEST_STOP_SEQUENCES] == ("END",)
    assert a[sc.GEN_AI_REQUEST_PRESENCE_PENALTY] == 0.1 and a[sc.GEN_AI_REQUEST_FREQUENCY_PENALTY] == 0.3
    assert a[sc.GEN_AI_OUTPUT_TYPE] == "json" and a[sc.GEN_AI_REQUEST_REASONING_LEVEL] == "LOW"
    assert a[sc.LLMOBS_INTEGRATION] == "google_genai"
    assert sc.GEN_AI_REQUEST_STREAM not in a and sc.GEN_AI_REQUEST_CHOICE_COUNT not in a
    # gemini-2.5-flash: $0.30/M input, $0.03/M cached input, $2.50/M output (thoughts are output)
    assert call.cost == pytest.approx(400 * 0.30e-6 + 600 * 0.03e-6 + 250 * 2.50e-6, rel=1e-6)
    from genai_prices import Usage as GPUsage
    from genai_prices import calc_price

    reference = calc_price(GPUsage(input_tokens=1000, cache_read_tokens=600, output_tokens=250),
                           model_ref="gemini-2.5-flash", provider_id="google")
    assert call.cost == pytest.approx(float(reference.total_price), rel=1e-9)


def test_dict_config_and_async_generate_content(cap, server):
    """The config as a plain dict gives the same parameters; the async client records the same call."""
    client = w.client(server)
    run(client.aio.models.generate_content(model=MODEL, contents="hi", config={
        "temperature": 1, "top_k": 20.0, "candidate_count": 2, "stop_sequences": ["a", "b"],
        "response_schema": {"type": "OBJECT", "properties": {"x": {"type": "STRING"}}},
        "response_mime_type": "application/json",
    }))
    call = cap.assert_llm_call(operation="generate_content", provider="gcp.gemini", stream=False,
                               finish_reasons=("stop", "stop"), input_tokens=8)
    a = call.attributes
    assert a[sc.GEN_AI_REQUEST_TEMPERATURE] == 1.0 and a[sc.GEN_AI_REQUEST_TOP_K] == 20
    assert a[sc.GEN_AI_REQUEST_CHOICE_COUNT] == 2 and a[sc.GEN_AI_REQUEST_STOP_SEQUENCES] == ("a", "b")
    assert a[sc.GEN_AI_OUTPUT_TYPE] == "json"


def test_output_type_from_schema_and_modalities(cap, server):
    client = w.client(server)
    client.models.generate_content(model=MODEL, contents="x", config={"response_json_schema": {"type": "object"}})
    client.models.generate_content(model=MODEL, contents="x", config={"response_mime_type": "text/plain"})
    client.models.generate_content(model=MODEL, contents="x", config={"response_modalities": ["IMAGE"]})
    client.models.generate_content(model=MODEL, contents="x")
    got = [c.attributes.get(sc.GEN_AI_OUTPUT_TYPE) for c in cap.llm_calls()]
    assert got == ["json", "text", "image", None]


def test_usage_absent_means_no_usage_and_no_cost(cap, server):
    """Scenario 4 / data rule: usage the API did not send is absent, never 0; no cost status either."""
    server.add_json(w.generate_content_response(text="ok", usage=None))
    w.client(server).models.generate_content(model=MODEL, contents="hi")
    call = one_call(cap)
    assert call.input_tokens is None and call.output_tokens is None and call.cost is None
    assert call.cost_status is None
    assert not any(k.startswith("gen_ai.usage.") for k in call.attributes)


def test_usage_tool_use_prompt_tokens_are_input_and_missing_counts_stay_absent(cap, server):
    """toolUsePromptTokenCount (tool results the model read) is billed input, apart from promptTokenCount.
    A response without candidatesTokenCount or thoughts leaves output / reasoning absent (not 0)."""
    server.add_json(w.generate_content_response(text="ok", usage=w.usage_metadata(100, 20, tool_use=30)))
    server.add_json(w.generate_content_response(text="", usage=w.usage_metadata(12, None)))
    client = w.client(server)
    client.models.generate_content(model=MODEL, contents="search something")
    client.models.generate_content(model=MODEL, contents="hi")
    grounded, empty = cap.llm_calls()
    assert grounded.input_tokens == 130 and grounded.output_tokens == 20
    assert grounded.reasoning_output_tokens is None and grounded.cache_read_input_tokens is None
    assert empty.input_tokens == 12 and empty.output_tokens is None
    assert sc.GEN_AI_USAGE_OUTPUT_TOKENS not in empty.attributes


def test_finish_reasons_per_candidate_in_order(cap, server):
    """One normalised finish reason per candidate: STOP, MAX_TOKENS, safety, a function call, an unknown
    reason passed through lower-cased, a missing one as error."""
    server.add_json(w.generate_content_response([
        w.candidate(text="a", index=0),
        w.candidate(text="b", finish_reason="MAX_TOKENS", index=1),
        w.candidate(text="c", finish_reason="SAFETY", index=2),
        w.candidate([w.function_call_part("lookup", {"q": "x"})], index=3),
        w.candidate(text="e", finish_reason="LANGUAGE", index=4),
        w.candidate(text="f", finish_reason="MALFORMED_FUNCTION_CALL", index=5),
        w.candidate(text="g", finish_reason=None, index=6),
    ]))
    w.client(server).models.generate_content(model=MODEL, contents="hi", config={"candidate_count": 7})
    assert one_call(cap).finish_reasons == (
        "stop", "length", "content_filter", "tool_call", "language", "error", "error")


def test_blocked_prompt_is_content_filter(cap, server):
    server.add_json(w.generate_content_response(
        [], prompt_feedback={"blockReason": "PROHIBITED_CONTENT"}, usage=w.usage_metadata(9, None)))
    result = w.client(server).models.generate_content(model=MODEL, contents="something bad")
    assert result.candidates is None
    call = one_call(cap)
    assert call.finish_reasons == ("content_filter",) and call.input_tokens == 9


def test_raw_http_response_mode_still_records_usage(cap, server):
    """config should_return_http_response: the SDK returns only the raw body; usage and ids come from it."""
    server.add_json(w.generate_content_response(text="raw", usage=w.usage_metadata(11, 3), response_id="raw-1"))
    result = w.client(server).models.generate_content(
        model=MODEL, contents="hi", config=types.GenerateContentConfig(should_return_http_response=True))
    assert result.candidates is None and "raw" in result.sdk_http_response.body
    cap.assert_llm_call(input_tokens=11, output_tokens=3, finish_reasons=("stop",), response_model=MODEL)
    assert one_call(cap).attributes[sc.GEN_AI_RESPONSE_ID] == "raw-1"


# --- errors ---------------------------------------------------------------------------------------------------

def test_errors_reach_the_user_unchanged_and_mark_the_span(cap, server):
    """Scenario 21: the SDK's ClientError / ServerError reach the caller; span ERROR with error.type."""
    server.add_error(429)
    server.add_error(500)
    client = w.client(server)
    with pytest.raises(errors.ClientError) as rate:
        client.models.generate_content(model=MODEL, contents="hi")
    with pytest.raises(errors.ServerError) as internal:
        run(client.aio.models.generate_content(model=MODEL, contents="hi"))
    assert rate.value.code == 429 and rate.value.status == "RESOURCE_EXHAUSTED"
    assert internal.value.code == 500
    limited, failed = cap.llm_calls()
    assert limited.error_type == "google.genai.errors.ClientError"
    assert failed.error_type == "google.genai.errors.ServerError"
    for call in (limited, failed):
        assert call.span.status.status_code is StatusCode.ERROR
        assert call.finish_reasons == ("error",) and call.input_tokens is None and call.cost is None
        events = [e for e in call.span.events if e.name == "exception"]
        assert events and events[0].attributes["exception.type"].endswith("Error")


def test_the_exception_object_is_the_one_raised(cap, server):
    """Scenario 21: an exception from the transport reaches the caller as the very same object."""
    boom = ConnectionResetError("connection reset by peer")

    def responder(request, recorded):
        raise boom

    server.add(responder)
    server.add(responder)
    client = w.client(server)
    with pytest.raises(ConnectionResetError) as sync_info:
        client.models.generate_content(model=MODEL, contents="hi")
    with pytest.raises(ConnectionResetError) as stream_info:
        for _ in client.models.generate_content_stream(model=MODEL, contents="hi"):
            pass
    assert sync_info.value is boom and stream_info.value is boom
    plain, streamed = cap.llm_calls()
    assert plain.error_type == streamed.error_type == "ConnectionResetError"
    assert streamed.stream and not streamed.incomplete  # the request failed: not a cut stream


def test_stream_request_rejected_is_an_error_not_a_cut_stream(cap, server):
    server.add_error(429)
    server.add_error(503)
    client = w.client(server)
    with pytest.raises(errors.ClientError):
        list(client.models.generate_content_stream(model=MODEL, contents="hi"))

    async def main():
        with pytest.raises(errors.ServerError):
            async for _ in await client.aio.models.generate_content_stream(model=MODEL, contents="hi"):
                pass

    run(main())
    sync_call, async_call = cap.llm_calls()
    assert sync_call.error_type == "google.genai.errors.ClientError" and not sync_call.incomplete
    assert async_call.error_type == "google.genai.errors.ServerError" and not async_call.incomplete
    assert sync_call.attributes[sc.LLMOBS_STREAM_CHUNKS] == 0 and sync_call.finish_reasons == ("error",)


# --- streams --------------------------------------------------------------------------------------------------

def test_stream_records_usage_from_the_last_chunk_and_ttft(cap, server):
    """Scenarios 2, 3, 4, 6: the SDK's generator is returned; the span covers the last chunk; the running
    usage totals are taken from the last chunk (not summed); time to first chunk is measured."""
    chunks = w.stream_chunks(["Hello there, this is a streamed answer"], piece_size=6, cached=3,
                             thoughts_tokens=40, prompt_tokens=10)
    server.add_stream(chunks, initial_delay=0.03, delay=0.005)
    client = w.client(server)
    t0 = time.time_ns()
    stream = client.models.generate_content_stream(model=MODEL, contents="hi")
    assert inspect.isgenerator(stream)
    assert cap.llm_calls() == [] and server.requests == []  # lazy, like the SDK: nothing sent yet
    text = "".join(c.text or "" for c in stream)
    t_last = time.time_ns()
    assert text == "Hello there, this is a streamed answer"
    final = chunks[-1]["usageMetadata"]
    call = cap.assert_llm_call(
        stream=True, incomplete=False, finish_reasons=("stop",), input_tokens=10, cache_read_input_tokens=3,
        output_tokens=final["candidatesTokenCount"] + 40, reasoning_output_tokens=40, cost_status="priced",
        response_model=MODEL,
    )
    assert call.input_tokens != sum(c["usageMetadata"]["promptTokenCount"] for c in chunks)  # not summed
    duration = (call.span.end_time - call.span.start_time) / 1e9
    assert 0.025 <= call.time_to_first_chunk < duration
    assert t0 <= call.span.start_time and call.span.end_time <= t_last
    assert call.attributes[sc.LLMOBS_STREAM_CHUNKS] == len(chunks)
    assert call.attributes[sc.GEN_AI_RESPONSE_ID] == chunks[0]["responseId"]
    ttfc = cap.metric_points(sc.METRIC_OPERATION_TTFC)
    assert ttfc and ttfc[0].count == 1


def test_ttft_is_the_first_chunk_with_content(cap, server):
    """Scenario 6: a first chunk without parts does not count as the first token."""
    chunks = w.stream_chunks(["one two three"], piece_size=4)
    empty = {"candidates": [{"content": {"role": "model"}, "index": 0}], "usageMetadata": {"promptTokenCount": 8,
             "totalTokenCount": 8}, "modelVersion": MODEL, "responseId": chunks[0]["responseId"]}
    server.add_stream([empty, *chunks], initial_delay=0.0, delay=0.04)
    list(w.client(server).models.generate_content_stream(model=MODEL, contents="hi"))
    call = one_call(cap)
    assert call.time_to_first_chunk >= 0.03
    duration = (call.span.end_time - call.span.start_time) / 1e9
    assert call.time_to_first_chunk < duration - 0.03


def test_stream_without_usage_records_none(cap, server):
    server.add_stream(w.stream_chunks(["Hi there"], usage=False))
    list(w.client(server).models.generate_content_stream(model=MODEL, contents="hi"))
    call = one_call(cap)
    assert call.input_tokens is None and call.output_tokens is None and call.cost_status is None
    assert not any(k.startswith("gen_ai.usage.") for k in call.attributes)
    assert call.time_to_first_chunk is not None


def test_stream_multiple_candidates_and_a_cut_one(cap, server):
    """Finish reasons per candidate in order; a candidate the stream never finished is error."""
    server.add_stream(w.stream_chunks(["short", "a much longer second answer"], piece_size=4,
                                      finish_reasons=["MAX_TOKENS", "STOP"]))
    client = w.client(server)
    list(client.models.generate_content_stream(model=MODEL, contents="hi", config={"candidate_count": 2}))
    chunks = w.stream_chunks(["ab", "cdefgh ijkl mnop"], piece_size=2)
    server.add_stream(chunks, fail_after=3)
    with pytest.raises(Exception):
        for _ in client.models.generate_content_stream(model=MODEL, contents="hi", config={"candidate_count": 2}):
            pass
    whole, cut = cap.llm_calls()
    assert whole.finish_reasons == ("length", "stop")
    assert cut.finish_reasons == ("stop", "error") and cut.incomplete
    assert cut.span.status.status_code is StatusCode.ERROR


def _long_stream(server, client, **kw):
    server.add_stream(w.stream_chunks(["one two three four five six seven eight"], piece_size=3), **kw)
    return client.models.generate_content_stream(model=MODEL, contents="count")


def test_stream_break_then_garbage_collected(cap, server):
    """Scenario 1: break out of the loop; the span ends (incomplete, at the last chunk) when the stream goes."""
    client = w.client(server)
    stream = _long_stream(server, client)
    for i, _ in enumerate(stream):
        if i == 1:
            break
    assert cap.llm_calls() == []
    del stream
    gc.collect()
    call = one_call(cap)
    assert call.incomplete and call.finish_reasons == ("error",) and call.error_type is None
    assert call.attributes[sc.LLMOBS_STREAM_CHUNKS] == 2
    assert call.span.end_time - call.span.start_time < 5e9


def test_stream_close_return_and_callers_exception(cap, server):
    """Scenario 1: close(); return from inside the loop; an exception in the caller's loop body."""
    client = w.client(server)
    stream = _long_stream(server, client)
    next(stream)
    stream.close()
    assert len(cap.llm_calls()) == 1

    def first_word():
        for chunk in _long_stream(server, client):
            return chunk.text
        return None

    assert first_word() == "one "
    with pytest.raises(KeyError):
        for _ in _long_stream(server, client):
            raise KeyError("user bug")
    gc.collect()
    calls = cap.llm_calls()
    assert len(calls) == 3 and all(c.incomplete and c.error_type is None for c in calls)


# google-genai (1.75 to 3.x) lets a connection dropped mid-stream reach the user as the HTTP library's error.
DROPPED, DROPPED_NAME = dropped_connection_error(None, w.HTTP, wraps=False)


def test_stream_error_midway_reaches_user_and_keeps_partial(cap, server):
    """Scenario 1: a dropped connection mid-stream: the caller gets it; span ERROR with what arrived."""
    client = w.client(server)
    got = []
    with pytest.raises(DROPPED) as info:
        for chunk in _long_stream(server, client, fail_after=3):
            got.append(chunk.text)
    call = one_call(cap)
    assert call.span.status.status_code is StatusCode.ERROR and call.incomplete
    assert call.error_type == DROPPED_NAME
    assert call.attributes[sc.LLMOBS_STREAM_CHUNKS] == len(got) == 3
    assert call.time_to_first_chunk is not None
    assert type(info.value).__name__ == "RemoteProtocolError"


def test_error_event_inside_the_stream(cap, server):
    """Gemini reports a failure after the stream started as an ``{"error": ...}`` event: the SDK raises it."""
    chunks = w.stream_chunks(["one two three four"], piece_size=4)
    error_event = f"data: {json.dumps(w.error_body(500))}\r\n\r\n".encode()
    pieces = [*w.sse_pieces(chunks[:2]), error_event]
    server.add(lambda request, _rec: server.response(200, "text/event-stream", pieces, request))
    with pytest.raises(errors.ServerError):
        for _ in w.client(server).models.generate_content_stream(model=MODEL, contents="hi"):
            pass
    call = one_call(cap)
    assert call.error_type == "google.genai.errors.ServerError" and call.incomplete
    assert call.attributes[sc.LLMOBS_STREAM_CHUNKS] == 2


def test_async_stream_paths(cap, server):
    """Scenarios 1, 2, async: an async iterator from a coroutine; full, break + aclose, break + GC."""
    client = w.client(server)

    async def main():
        server.add_stream(w.stream_chunks(["abc def"], prompt_tokens=4))
        stream = await client.aio.models.generate_content_stream(model=MODEL, contents="hi")
        assert inspect.isasyncgen(stream)
        text = "".join([c.text or "" async for c in stream])
        assert text == "abc def"
        server.add_stream(w.stream_chunks(["abc def ghi jkl"], piece_size=2))
        stream = await client.aio.models.generate_content_stream(model=MODEL, contents="hi")
        async for _ in stream:
            break
        await stream.aclose()
        server.add_stream(w.stream_chunks(["abc def ghi jkl"], piece_size=2))
        async for _ in await client.aio.models.generate_content_stream(model=MODEL, contents="hi"):
            break
        for _ in range(5):
            gc.collect()
            await asyncio.sleep(0)

    run(main())
    calls = cap.llm_calls()
    assert len(calls) == 3
    assert calls[0].input_tokens == 4 and not calls[0].incomplete and calls[0].finish_reasons == ("stop",)
    assert calls[1].incomplete and calls[2].incomplete
    assert all(c.stream and c.time_to_first_chunk is not None for c in calls)


def test_async_stream_error_midway_and_callers_exception(cap, server):
    client = w.client(server)

    async def main():
        server.add_stream(w.stream_chunks(["one two three four five"], piece_size=3), fail_after=2)
        got = []
        with pytest.raises(DROPPED) as info:
            async for chunk in await client.aio.models.generate_content_stream(model=MODEL, contents="hi"):
                got.append(chunk)
        server.add_stream(w.stream_chunks(["one two three four five"], piece_size=3))
        with pytest.raises(ZeroDivisionError):
            async for _ in await client.aio.models.generate_content_stream(model=MODEL, contents="hi"):
                1 / 0  # noqa: B018
        return got, info.value

    got, error = run(main())
    failed, user_bug = cap.llm_calls()
    assert failed.span.status.status_code is StatusCode.ERROR and len(got) == 2
    assert type(error) is DROPPED and failed.error_type == DROPPED_NAME
    assert user_bug.incomplete and user_bug.error_type is None


# --- context and nesting ----------------------------------------------------------------------------------------

def test_span_is_current_during_the_http_request(cap, server):
    """Scenario 11, for every method, including the sync stream whose request is sent on the first next()."""
    seen = []

    def responder(request, recorded):
        seen.append(trace.get_current_span().get_span_context().span_id)
        return server.default_reply(request, recorded)

    for _ in range(5):
        server.add(responder)
    client = w.client(server)
    client.models.generate_content(model=MODEL, contents="a")
    list(client.models.generate_content_stream(model=MODEL, contents="b"))
    client.models.embed_content(model="gemini-embedding-001", contents="c")

    async def main():
        await client.aio.models.generate_content(model=MODEL, contents="d")
        async for _ in await client.aio.models.generate_content_stream(model=MODEL, contents="e"):
            pass

    run(main())
    assert seen == [c.span.context.span_id for c in cap.llm_calls()]


def test_calls_nest_under_the_current_span(cap, server):
    """Scenarios 7, 8: spans are children of the caller's span; concurrent async calls are siblings."""
    client = w.client(server)
    with llmobs.span("parent"):
        client.models.generate_content(model=MODEL, contents="a")
        for _ in client.models.generate_content_stream(model=MODEL, contents="b"):
            pass

    async def main():
        with llmobs.span("async parent"):
            await asyncio.gather(*(client.aio.models.generate_content(model=MODEL, contents=str(i))
                                   for i in range(3)))

    run(main())
    parent = cap.one(name="parent")
    async_parent = cap.one(name="async parent")
    calls = cap.llm_calls()
    assert len(calls) == 5
    assert {c.span.parent.span_id for c in calls[:2]} == {parent.context.span_id}
    assert {c.span.parent.span_id for c in calls[2:]} == {async_parent.context.span_id}


def test_one_span_inside_a_manual_llm_call(cap, server):
    """Scenario 10: an instrumented client inside llmobs.llm_call is not counted twice."""
    with llmobs.llm_call(model=MODEL, provider="gcp.gemini") as handle:
        w.client(server).models.generate_content(model=MODEL, contents="hi")
        handle.record_usage(input_tokens=8, output_tokens=8)
    assert len(cap.llm_calls()) == 1


def test_context_and_metrics(cap, server):
    """Scenario 9 plus metrics: user/session reach the span; token usage and duration are recorded."""
    with llmobs.context(user_id="u-1", session_id="s-1"):
        w.client(server).models.generate_content(model=MODEL, contents="hi")
    call = one_call(cap)
    assert call.attributes[sc.USER_ID] == "u-1" and call.attributes[sc.SESSION_ID] == "s-1"
    assert cap.metric_points(sc.METRIC_OPERATION_DURATION, **{sc.GEN_AI_PROVIDER_NAME: "gcp.gemini"})
    usage = cap.metric_points(sc.METRIC_TOKEN_USAGE, **{sc.GEN_AI_TOKEN_TYPE: "input"})
    assert usage and usage[0].sum == 8


# --- chats, automatic function calling, continuation ------------------------------------------------------------

def test_chats_one_span_per_message(cap, server):
    """Scenarios 10, 15: chats go through models.generate_content*: one span per request, never two."""
    client = w.client(server)
    chat = client.chats.create(model=MODEL)
    chat.send_message("first")
    for _ in chat.send_message_stream("second"):
        pass

    async def main():
        achat = client.aio.chats.create(model=MODEL)
        await achat.send_message("third")
        async for _ in await achat.send_message_stream("fourth"):
            pass

    run(main())
    calls = cap.llm_calls()
    assert [c.stream for c in calls] == [False, True, False, True]
    assert len(server.requests) == 4
    assert all(c.operation == "generate_content" and c.input_tokens == 8 for c in calls)


@pytest.mark.llmobs(capture_content=True)
def test_chat_history_is_the_input_of_the_next_message(cap_content, server):
    client = w.client(server)
    chat = client.chats.create(model=MODEL)
    chat.send_message("first")
    chat.send_message("second")
    second = cap_content.llm_calls()[1]
    assert content_of(second, sc.GEN_AI_INPUT_MESSAGES) == [
        {"role": "user", "parts": [{"type": "text", "content": "first"}]},
        {"role": "model", "parts": [{"type": "text", "content": w.DEFAULT_TEXT}]},
        {"role": "user", "parts": [{"type": "text", "content": "second"}]},
    ]


def _queue_afc_rounds(server):
    server.add_json(w.generate_content_response(
        [w.candidate([w.function_call_part("get_weather", {"city": "Paris"})])], usage=w.usage_metadata(20, 5)))
    server.add_json(w.generate_content_response(text="It is sunny in Paris.", usage=w.usage_metadata(30, 7)))


@pytest.mark.parametrize("entry", ["chat", "models", "async models"])
def test_automatic_function_calling_one_span_per_request(cap, server, entry):
    """AFC sends one request per round (chats drive the loop themselves; models.generate_content runs its
    own): each request is one span with its own usage (their sum is what is billed); the user's Python
    function runs outside any LLM span."""
    ran_under = []

    def get_weather(city: str) -> str:
        """The weather in a city."""
        ran_under.append(trace.get_current_span().get_span_context().span_id)
        return "sunny"

    get_weather.__annotations__ = {"city": str, "return": str}  # real types: SDK 1.x cannot read string ones
    _queue_afc_rounds(server)
    client = w.client(server)
    config = types.GenerateContentConfig(tools=[get_weather])
    with llmobs.span("agent"):
        if entry == "chat":
            answer = client.chats.create(model=MODEL, config=config).send_message("Weather in Paris?")
        elif entry == "models":
            answer = client.models.generate_content(model=MODEL, contents="Weather in Paris?", config=config)
        else:
            answer = run(client.aio.models.generate_content(model=MODEL, contents="Weather in Paris?",
                                                            config=config))
    assert answer.text == "It is sunny in Paris." and len(server.requests) == 2
    tool_round, final = cap.llm_calls()
    assert tool_round.finish_reasons == ("tool_call",) and final.finish_reasons == ("stop",)
    assert (tool_round.input_tokens, tool_round.output_tokens) == (20, 5)
    assert (final.input_tokens, final.output_tokens) == (30, 7)
    assert answer.usage_metadata.prompt_token_count == 30  # the SDK's answer only carries the last round
    agent = cap.one(name="agent").context.span_id
    assert ran_under == [agent]
    assert {c.span.parent.span_id for c in (tool_round, final)} == {agent}


@pytest.mark.skipif(not hasattr(types.FinishReason, "CONTINUATION"),
                    reason="this google-genai release has no automatic continuation")
def test_automatic_continuation_hops_are_separate_spans(cap, server):
    """Automatic continuation: each hop is its own request and span; the SDK merges the text."""
    first = w.candidate(text="part one, ", finish_reason="CONTINUATION")
    first["continuationToken"] = base64.b64encode(b"hop-1").decode()
    server.add_json(w.generate_content_response([first], usage=w.usage_metadata(10, 3)))
    server.add_json(w.generate_content_response(text="part two", usage=w.usage_metadata(12, 4)))
    result = w.client(server).models.generate_content(model=MODEL, contents="write a long essay")
    assert result.text == "part one, part two"
    assert server.requests[1].json["continuationToken"]
    hop1, hop2 = cap.llm_calls()
    assert hop1.finish_reasons == ("continuation",) and hop2.finish_reasons == ("stop",)
    assert (hop1.input_tokens, hop2.input_tokens) == (10, 12)


# --- embeddings -----------------------------------------------------------------------------------------------

# google-genai 3.x keeps the API's usageMetadata on embedding responses; earlier releases drop it.
SDK_KEEPS_EMBED_USAGE = "usage_metadata" in types.EmbedContentResponse.model_fields


def test_embed_content_ai_studio(cap, server):
    """embed_content: operation embeddings, requested dimensions; usage only where the API (and the SDK)
    reports it, never guessed."""
    server.add_json(w.batch_embed_response(2, 16, usage=9))
    client = w.client(server)
    result = client.models.embed_content(model="gemini-embedding-001", contents=["hello", "world"],
                                         config=types.EmbedContentConfig(output_dimensionality=16))
    assert len(result.embeddings) == 2
    run(client.aio.models.embed_content(model="gemini-embedding-001", contents="hello"))
    with_usage, without = cap.llm_calls()
    assert with_usage.operation == "embeddings" and with_usage.span.name == "embeddings gemini-embedding-001"
    assert with_usage.attributes[sc.LLMOBS_SPAN_KIND] == "embedding"
    assert with_usage.attributes[sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == 16
    if SDK_KEEPS_EMBED_USAGE:
        assert with_usage.input_tokens == 9 and with_usage.cost_status == "priced"
    else:
        assert with_usage.input_tokens is None and with_usage.cost_status is None
    assert without.input_tokens is None and without.cost_status is None
    assert server.requests[0].action == "batchEmbedContents"


def test_embed_content_vertex(cap, server):
    """Vertex: text-embedding models report tokens per embedding (summed); gemini-embedding models (through
    embedContent in SDK 3.x, predict before) report theirs too."""
    server.add_json(w.vertex_predict_embeddings([4, 6, 5]))
    client = w.client(server, vertexai=True)
    client.models.embed_content(model="text-embedding-005", contents=["a", "b", "c"])
    client.models.embed_content(model="gemini-embedding-001", contents="a")
    predict, gemini = cap.llm_calls()
    assert predict.provider == gemini.provider == "gcp.vertex_ai"
    assert predict.input_tokens == 15 and gemini.input_tokens == 5
    assert server.requests[0].action == "predict"
    assert server.requests[1].action == ("embedContent" if SDK_KEEPS_EMBED_USAGE else "predict")


# --- providers --------------------------------------------------------------------------------------------------

def test_vertex_provider_server_and_cost(cap, server):
    """Scenario 15: a vertexai=True client is gcp.vertex_ai, on its regional host; priced as Google."""
    server.add_json(w.generate_content_response(text="hi", usage=w.usage_metadata(1000, 100, vertex=True),
                                                vertex=True))
    client = w.client(server, vertexai=True)
    client.models.generate_content(model=MODEL, contents="hi")
    list(client.models.generate_content_stream(model=MODEL, contents="hi"))
    call, streamed = cap.llm_calls()
    assert call.provider == streamed.provider == "gcp.vertex_ai"
    assert call.attributes[sc.SERVER_ADDRESS] == "us-central1-aiplatform.googleapis.com"
    assert call.attributes[sc.SERVER_PORT] == 443
    assert call.cost_status == "priced" and call.cost == pytest.approx(1000 * 0.30e-6 + 100 * 2.50e-6, rel=1e-6)
    assert streamed.finish_reasons == ("stop",) and streamed.input_tokens == 8
    assert server.requests[0].headers["authorization"] == "Bearer ya29.test-token"


def test_custom_base_url_and_per_request_base_url(cap, server):
    """server.address / port from the client's base URL; a per-request http_options.base_url wins."""
    client = w.client(server, base_url="http://localhost:8089/")
    client.models.generate_content(model=MODEL, contents="hi")
    client.models.generate_content(model=MODEL, contents="hi", config=types.GenerateContentConfig(
        http_options=types.HttpOptions(base_url="https://gateway.example.com/")))
    proxied, overridden = cap.llm_calls()
    assert proxied.provider == "gcp.gemini"
    assert (proxied.attributes[sc.SERVER_ADDRESS], proxied.attributes[sc.SERVER_PORT]) == ("localhost", 8089)
    assert (overridden.attributes[sc.SERVER_ADDRESS], overridden.attributes[sc.SERVER_PORT]) == (
        "gateway.example.com", 443)


def test_prefixed_model_name_is_priced(cap, server):
    w.client(server).models.generate_content(model="models/gemini-2.5-flash", contents="hi")
    call = one_call(cap)
    assert call.model == "models/gemini-2.5-flash" and call.cost_status == "priced"


def test_clients_created_before_instrument_are_covered(llmobs_capture, server):
    """Class-level patching: a client (and a chat) made before instrument() is traced."""
    client = w.client(server)
    chat = client.chats.create(model=MODEL)
    llmobs.instrument(integrations=["google_genai"])
    try:
        chat.send_message("hi")
        client.models.generate_content(model=MODEL, contents="hi")
    finally:
        llmobs.uninstrument()
    assert len(llmobs_capture.llm_calls()) == 2


# --- content capture --------------------------------------------------------------------------------------------

def test_content_is_not_captured_by_default(cap, server):
    """Scenario 25: capture off records no prompt, completion, system instruction, tool definition or
    function-call argument; the API key never appears."""
    server.add_json(w.generate_content_response([w.candidate([
        w.thought_part("secret thoughts"), w.function_call_part("lookup", {"secret": "x"})])]))
    client = w.client(server, api_key="AIza-SECRET-KEY")
    client.models.generate_content(model=MODEL, contents="Say hello", config=types.GenerateContentConfig(
        system_instruction="You are secret", tools=[types.Tool(function_declarations=[
            types.FunctionDeclaration(name="lookup")])]))
    server.add_stream(w.stream_chunks(["streamed words"], thoughts=["more thoughts"]))
    list(client.models.generate_content_stream(model=MODEL, contents="Say hello"))
    for call in cap.llm_calls():
        a = call.attributes
        assert not any(key in a for key in CONTENT_ATTRIBUTES)
        text = " ".join(str(v) for v in a.values())
        for secret in ("SECRET", "Say hello", "secret", "thoughts", "streamed", "lookup"):
            assert secret not in text


@pytest.mark.llmobs(capture_content=True)
def test_input_contents_in_every_shape(cap_content, server):
    """contents as a string, a list of strings, Content objects, dicts with parts, parts of every kind."""
    client = w.client(server)
    client.models.generate_content(model=MODEL, contents="just text")
    client.models.generate_content(model=MODEL, contents=["one", "two"])
    client.models.generate_content(model=MODEL, contents=[
        types.Content(role="user", parts=[
            types.Part.from_text(text="What is in these?"),
            types.Part.from_bytes(data=b"\x89PNG", mime_type="image/png"),
            types.Part.from_uri(file_uri="gs://bucket/doc.pdf", mime_type="application/pdf"),
        ]),
        types.Content(role="model", parts=[types.Part.from_function_call(name="lookup", args={"q": "cat"})]),
        {"role": "user", "parts": [{"function_response": {"name": "lookup", "response": {"result": "a cat"}}}]},
    ])
    client.models.generate_content(model=MODEL, contents=[
        "loose text", types.Part.from_function_call(name="f", args={}), {"text": "dict part"}])
    plain, strings, rich, loose = cap_content.llm_calls()
    assert content_of(plain, sc.GEN_AI_INPUT_MESSAGES) == [
        {"role": "user", "parts": [{"type": "text", "content": "just text"}]}]
    assert content_of(strings, sc.GEN_AI_INPUT_MESSAGES) == [
        {"role": "user", "parts": [{"type": "text", "content": "one"}, {"type": "text", "content": "two"}]}]
    assert content_of(rich, sc.GEN_AI_INPUT_MESSAGES) == [
        {"role": "user", "parts": [
            {"type": "text", "content": "What is in these?"},
            {"type": "blob", "modality": "image", "mime_type": "image/png", "size": 4,  # a descriptor, no bytes
             "sha256": hashlib.sha256(b"\x89PNG").hexdigest()},
            {"type": "uri", "modality": "document", "uri": "gs://bucket/doc.pdf", "mime_type": "application/pdf"},
        ]},
        {"role": "model", "parts": [{"type": "tool_call", "name": "lookup", "arguments": {"q": "cat"}}]},
        {"role": "user", "parts": [{"type": "tool_call_response", "response": {"result": "a cat"},
                                    "name": "lookup"}]},
    ]
    assert content_of(loose, sc.GEN_AI_INPUT_MESSAGES) == [
        {"role": "user", "parts": [{"type": "text", "content": "loose text"}]},
        {"role": "model", "parts": [{"type": "tool_call", "name": "f", "arguments": {}}]},
        {"role": "user", "parts": [{"type": "text", "content": "dict part"}]},
    ]


@pytest.mark.llmobs(capture_content=True)
def test_system_instructions_tools_and_output_parts(cap_content, server):
    """system_instruction -> gen_ai.system_instructions; tools -> definitions (type and name); thought
    parts -> reasoning, function calls -> tool_call, code execution -> server tool parts; per candidate."""

    def get_time(tz: str) -> str:
        """Time in a zone."""
        return "noon"

    server.add_json(w.generate_content_response([
        w.candidate([w.thought_part("Let me think."), w.text_part("Calling a tool."),
                     w.function_call_part("get_weather", {"city": "Paris"}, id="fc-1")], index=0),
        w.candidate([w.executable_code_part("print(1)"), w.code_execution_result_part("1\n"),
                     w.text_part("Done.")], index=1),
    ]))
    config = types.GenerateContentConfig(
        system_instruction=["Be brief.", "Answer in English."], candidate_count=2,
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        tools=[types.Tool(function_declarations=[types.FunctionDeclaration(name="get_weather")]),
               types.Tool(google_search=types.GoogleSearch()), get_time],
    )
    w.client(server).models.generate_content(model=MODEL, contents="Weather?", config=config)
    call = one_call(cap_content)
    assert content_of(call, sc.GEN_AI_SYSTEM_INSTRUCTIONS) == [
        {"type": "text", "content": "Be brief."}, {"type": "text", "content": "Answer in English."}]
    assert content_of(call, sc.GEN_AI_TOOL_DEFINITIONS) == [
        {"type": "function", "name": "get_weather"}, {"type": "google_search", "name": "google_search"},
        {"type": "function", "name": "get_time"}]
    assert content_of(call) == [
        {"role": "model", "parts": [
            {"type": "reasoning", "content": "Let me think."}, {"type": "text", "content": "Calling a tool."},
            {"type": "tool_call", "name": "get_weather", "arguments": {"city": "Paris"}, "id": "fc-1"}]},
        {"role": "model", "parts": [
            {"type": "server_tool_call", "name": "code_execution",
             "server_tool_call": {"type": "code_execution", "code": "print(1)", "language": "PYTHON"}},
            {"type": "server_tool_call_response",
             "server_tool_call_response": {"type": "code_execution", "outcome": "OUTCOME_OK", "output": "1\n"}},
            {"type": "text", "content": "Done."}]},
    ]
    assert call.finish_reasons == ("tool_call", "stop")


@pytest.mark.llmobs(capture_content=True)
def test_streamed_output_is_reassembled(cap_content, server):
    """Streamed text pieces are joined per candidate; thoughts as reasoning; function calls as tool_call."""
    server.add_stream(w.stream_chunks(
        ["Here is the answer.", "Second candidate text."], piece_size=5, thoughts=["Thinking hard.", None],
        function_calls=[[w.function_call_part("save", {"ok": True})], None]))
    list(w.client(server).models.generate_content_stream(model=MODEL, contents="hi",
                                                          config={"candidate_count": 2}))
    call = one_call(cap_content)
    assert content_of(call) == [
        {"role": "model", "parts": [
            {"type": "reasoning", "content": "Thinking hard."}, {"type": "text", "content": "Here is the answer."},
            {"type": "tool_call", "name": "save", "arguments": {"ok": True}}]},
        {"role": "model", "parts": [{"type": "text", "content": "Second candidate text."}]},
    ]
    assert call.finish_reasons == ("tool_call", "stop")
    assert content_of(call, sc.GEN_AI_INPUT_MESSAGES) == [{"role": "user", "parts": [{"type": "text",
                                                                                        "content": "hi"}]}]


@pytest.mark.llmobs(capture_content=True)
def test_capture_never_consumes_the_users_iterables(cap_content, server):
    """contents given as a generator reach the API intact with capture on (the input is not recorded)."""
    client = w.client(server)
    client.models.generate_content(model=MODEL, contents=(text for text in ["a", "b"]))
    assert server.requests[0].json["contents"] == [{"parts": [{"text": "a"}, {"text": "b"}], "role": "user"}]
    call = one_call(cap_content)
    assert sc.GEN_AI_INPUT_MESSAGES not in call.attributes and sc.GEN_AI_OUTPUT_MESSAGES in call.attributes


@pytest.mark.llmobs(capture_content=True)
def test_large_content_is_truncated_not_dropped(llmobs_capture, server):
    """Scenario 27: a long prompt is bounded with a marker; the span is kept."""
    llmobs.instrument(integrations=["google_genai"], capture_content="SPAN_ONLY", max_content_length=200)
    try:
        w.client(server).models.generate_content(model=MODEL, contents="x" * 5000)
    finally:
        llmobs.uninstrument()
    text = one_call(llmobs_capture).attributes[sc.GEN_AI_INPUT_MESSAGES]
    assert len(text) < 300 and "truncated" in text


# --- never break the app ----------------------------------------------------------------------------------------

def test_instrumentation_fault_never_changes_the_result(cap, server, monkeypatch):
    """Scenario 20: an exception inside our code is contained: the user's result is untouched; a fault while
    reading the response still ends the span; a fault before the request lets the call run unrecorded."""
    def broken(*args):
        raise RuntimeError("extractor bug")

    client = w.client(server)
    monkeypatch.setattr(gi, "_usage", broken)
    server.add_json(w.generate_content_response(text="fine"))
    assert client.models.generate_content(model=MODEL, contents="hi").text == "fine"
    server.add_stream(w.stream_chunks(["still fine"]))
    assert "".join(c.text for c in client.models.generate_content_stream(model=MODEL, contents="x")) == "still fine"
    plain, streamed = cap.llm_calls()
    assert plain.input_tokens is None and plain.error_type is None
    assert streamed.stream and not streamed.incomplete and streamed.input_tokens is None
    monkeypatch.setattr(streams, "_attach", broken)  # the sync stream's first step cannot make the span current
    assert "".join(c.text for c in client.models.generate_content_stream(model=MODEL, contents="x"))
    assert len(cap.llm_calls()) == 3 and not cap.llm_calls()[2].incomplete
    monkeypatch.setattr(gi, "client_info", broken)
    assert client.models.generate_content(model=MODEL, contents="hi").text == w.DEFAULT_TEXT
    assert "".join(c.text for c in client.models.generate_content_stream(model=MODEL, contents="x"))
    assert len(cap.llm_calls()) == 3


def test_malformed_shapes_are_tolerated():
    """Odd values (strings as counts, floats, no candidates) never raise and are never guessed."""
    odd = pytypes.SimpleNamespace(prompt_token_count="many", candidates_token_count=None, thoughts_token_count=2.5)
    assert gi._usage(odd) is None
    assert gi._usage(None) is None
    assert gi._finish_reason(None, False) == "error" and gi._finish_reason("", False) == "error"
    assert gi._finish_reason(types.FinishReason.STOP, True) == "tool_call"
    assert gi._input_messages(iter(["a"])) is None and gi._input_messages(None) is None
    assert gi._tool_definitions("not a list") is None
    assert gi._host_port(None) == gi._host_port("") == gi._host_port("http://[::1") == (None, None)
    assert gi._host_port("generativelanguage.googleapis.com") == ("generativelanguage.googleapis.com", 443)
    assert gi._generate_params(object()) == {} and gi._embed_params(None) == {}


_COUNT = st.one_of(st.none(), st.integers(min_value=0, max_value=10**9))


@given(prompt=_COUNT, candidates=_COUNT, thoughts=_COUNT, cached=_COUNT, tool_use=_COUNT)
def test_usage_mapping_rules(prompt, candidates, thoughts, cached, tool_use):
    """For any combination of reported counts: input = prompt (+ tool-use prompt), output = candidates +
    thoughts, reasoning = thoughts, cache_read = cached; what was not reported stays None, never 0."""
    u = types.GenerateContentResponseUsageMetadata(
        prompt_token_count=prompt, candidates_token_count=candidates, thoughts_token_count=thoughts,
        cached_content_token_count=cached, tool_use_prompt_token_count=tool_use)
    usage = gi._usage(u)
    if prompt is None and tool_use is None and candidates is None and thoughts is None:
        assert usage is None
        return
    assert usage is not None
    expected_in = None if prompt is None and tool_use is None else (prompt or 0) + (tool_use or 0)
    expected_out = None if candidates is None and thoughts is None else (candidates or 0) + (thoughts or 0)
    assert (usage.input_tokens, usage.output_tokens) == (expected_in, expected_out)
    assert usage.reasoning_output_tokens == thoughts and usage.cache_read_input_tokens == cached
    assert usage.cache_write_input_tokens is None


@given(reason=st.sampled_from(list(types.FinishReason)), tool=st.booleans())
def test_every_finish_reason_is_normalised(reason, tool):
    got = gi._finish_reason(reason, tool)
    assert got in ("stop", "length", "content_filter", "tool_call", "error") or got == reason.value.lower()
    assert got.islower() and (got == "tool_call") == (tool and reason == types.FinishReason.STOP)


# --- lifecycle --------------------------------------------------------------------------------------------------

_PATCHED = ("_generate_content", "_generate_content_stream", "embed_content")


def test_uninstrument_restores_the_originals(llmobs_capture, server):
    """Scenario 12: instrument twice is harmless; uninstrument restores the exact originals."""
    from google.genai import models

    before = {(c, n): vars(getattr(models, c))[n] for c in ("Models", "AsyncModels") for n in _PATCHED}
    llmobs.instrument(integrations=["google_genai"])
    llmobs.instrument(integrations=["google_genai"])
    assert llmobs.instrumented_integrations() == ["google_genai"]
    assert all(vars(getattr(models, c))[n] is not before[(c, n)] for c, n in before)
    w.client(server).models.generate_content(model=MODEL, contents="hi")
    assert len(llmobs_capture.llm_calls()) == 1  # patched once, not twice
    llmobs.uninstrument()
    llmobs.uninstrument()
    assert all(vars(getattr(models, c))[n] is before[(c, n)] for c, n in before)
    w.client(server).models.generate_content(model=MODEL, contents="hi")
    assert len(llmobs_capture.llm_calls()) == 1


def test_public_methods_are_patched_when_the_per_request_ones_are_missing(llmobs_capture):
    """An SDK version without _generate_content*: the public methods are patched instead."""
    response = types.GenerateContentResponse.model_validate(w.generate_content_response(text="ok"))

    class Models:
        _api_client = pytypes.SimpleNamespace(vertexai=False, _http_options=pytypes.SimpleNamespace(
            base_url="https://generativelanguage.googleapis.com/"))

        def generate_content(self, *, model, contents, config=None):
            return response

        def generate_content_stream(self, *, model, contents, config=None):
            yield response

        def embed_content(self, *, model, contents, config=None):
            return types.EmbedContentResponse(embeddings=[])

    module = pytypes.ModuleType("fake_genai_models")
    module.Models = Models
    integration = gi.GoogleGenAIIntegration()
    integration.patch_models(module)
    try:
        assert Models().generate_content(model=MODEL, contents="x") is response
        assert list(Models().generate_content_stream(model=MODEL, contents="x")) == [response]
    finally:
        integration.unpatch()
    assert not hasattr(vars(Models)["generate_content"], "__wrapped__")
    plain, streamed = llmobs_capture.llm_calls()
    assert plain.input_tokens == 8 and streamed.stream and streamed.finish_reasons == ("stop",)


def test_patched_when_the_app_imports_google_genai_later():
    """The post-import hook on the dotted name "google.genai": nothing is imported by llmobs itself; the
    SDK is patched when the app imports it."""
    out = run_py("""
        import json, sys
        import llmobs
        llmobs.instrument(exporter="none", integrations=["google_genai"])
        before = [m for m in ("google.genai", "google.genai.models") if m in sys.modules]
        patched_before = llmobs.instrumented_integrations()
        from google import genai
        from google.genai import models
        print(json.dumps({"before": before, "patched_before": patched_before,
                          "after": llmobs.instrumented_integrations(),
                          "wrapped": [hasattr(getattr(models.Models, n), "__wrapped__")
                                      for n in ("_generate_content", "_generate_content_stream", "embed_content")]}))
    """)
    assert out == {"before": [], "patched_before": [], "after": ["google_genai"], "wrapped": [True, True, True]}
