"""Scenarios 1-6: every exit path of a stream ends its span exactly once, with the right data."""

from __future__ import annotations

import asyncio
import gc
import time

import pytest

from tests.support import fakellm


def only_call(cap):
    calls = cap.llm_calls()
    assert len(calls) == 1, [c.span.name for c in calls]
    return calls[0]


def test_fully_consumed(instrumented, client):
    stream = client.stream("hi", n=3)
    assert isinstance(stream, fakellm.ChunkStream)  # scenario 2: the proxy keeps the type
    assert instrumented.llm_calls() == []  # scenario 3: the span is still open after create()
    texts = [c.text for c in stream]
    assert texts[1:4] == ["t0 ", "t1 ", "t2 "]
    call = only_call(instrumented)
    assert call.stream is True
    assert call.incomplete is False
    assert call.finish_reasons == ("stop",)
    assert (call.input_tokens, call.output_tokens, call.cache_read_input_tokens) == (7, 3, 0)
    assert call.response_model == "fake-1-2026"
    assert call.attributes["llmobs.stream.chunks"] == 6
    assert call.span.status.is_ok


def test_span_lasts_as_long_as_the_stream_and_ttft_is_first_content(instrumented, client):
    stream = client.stream("hi", n=4, delay=0.02)
    chunks = list(stream)
    assert len(chunks) == 7
    call = only_call(instrumented)
    duration = (call.span.end_time - call.span.start_time) / 1e9
    # 7 chunks x 20 ms: the span covers them all (scenario 3) ...
    assert duration >= 0.13
    # ... and TTFT is the first chunk with content (the 2nd), not the whole duration (scenario 6).
    assert 0.035 <= call.time_to_first_chunk < duration - 0.05


def test_no_usage_means_absent_not_zero(instrumented, client):
    list(client.stream("hi", n=2, with_usage=False))
    call = only_call(instrumented)
    assert call.input_tokens is None and call.output_tokens is None
    assert "gen_ai.usage.input_tokens" not in call.attributes
    assert "llmobs.cost.total_usd" not in call.attributes


def test_break_then_garbage_collected(instrumented, client):
    stream = client.stream("hi", n=5)
    for i, _chunk in enumerate(stream):
        if i == 2:
            break
    assert instrumented.llm_calls() == []  # still referenced: not ended yet
    del stream
    gc.collect()
    call = only_call(instrumented)
    assert call.incomplete is True
    assert call.finish_reasons == ("error",)
    assert call.span.status.is_unset  # the user chose to stop: not an error
    assert call.attributes["llmobs.stream.chunks"] == 3


def test_close(instrumented, client):
    stream = client.stream("hi", n=5)
    next(stream)
    next(stream)
    stream.close()
    assert stream.closed is True  # the wrapped close() ran
    call = only_call(instrumented)
    assert call.incomplete is True
    stream.close()  # twice is harmless
    list(stream)
    assert len(instrumented.llm_calls()) == 1


def test_with_block_left_early_binds_the_proxy(instrumented, client):
    with client.stream("hi", n=5) as stream:
        assert type(stream).__name__ == "SyncStreamProxy"
        assert isinstance(stream, fakellm.ChunkStream)
        next(stream)
        next(stream)
    call = only_call(instrumented)
    assert call.incomplete is True


def test_return_from_inside_the_loop(instrumented, client):
    def first_text():
        for chunk in client.stream("hi", n=5):
            if chunk.text:
                return chunk.text
        return None

    assert first_text() == "t0 "
    gc.collect()
    call = only_call(instrumented)
    assert call.incomplete is True


def test_stream_raises_midway(instrumented, client):
    stream = client.stream("hi", n=5, fail_at=3)
    seen = []
    with pytest.raises(fakellm.FakeAPIError) as info:
        for chunk in stream:
            seen.append(chunk.text)
    assert str(info.value) == "connection dropped mid-stream"
    call = only_call(instrumented)
    assert call.error_type == "tests.support.fakellm.FakeAPIError"
    assert not call.span.status.is_ok and not call.span.status.is_unset
    assert call.incomplete is True
    assert call.finish_reasons == ("error",)
    # the partial output that arrived is kept
    assert call.span.events[0].name == "exception"


@pytest.mark.llmobs(capture_content=True)
def test_partial_output_is_recorded_when_capture_is_on(instrumented, client):
    # capture content through instrument(): the fixture's marker configures the pre-instrument runtime, so
    # instrument again with capture on.
    import llmobs

    llmobs.uninstrument()
    llmobs.instrument(integrations=["fakellm"], capture_content=True)
    stream = client.stream("hi", n=5, fail_at=3)
    with pytest.raises(fakellm.FakeAPIError):
        list(stream)
    call = only_call(instrumented)
    assert call.attributes["gen_ai.output.messages"] == (
        '[{"role":"assistant","parts":[{"type":"text","content":"t0 t1 "}]}]'
    )


def test_exception_in_the_callers_loop_body(instrumented, client):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), client.stream("hi", n=5) as stream:
        for _chunk in stream:
            raise Boom()
    call = only_call(instrumented)
    assert call.incomplete is True
    assert call.error_type is None  # the LLM call did not fail; the caller's code did


def test_helper_on_the_original_object_still_works(instrumented, client):
    stream = client.stream("hi", n=2)
    assert stream.get_final_text() == "t0 t1 "  # forwarded to the wrapped object


def test_instrumentation_bug_in_accumulator_never_reaches_the_user(instrumented, client, monkeypatch):
    from tests.support import fake_integration

    def broken(self, chunk):
        raise RuntimeError("bug in llmobs")

    monkeypatch.setattr(fake_integration.Accumulator, "add", broken)
    texts = [c.text for c in client.stream("hi", n=2)]
    assert texts == ["", "t0 ", "t1 ", "", ""]
    assert len(instrumented.llm_calls()) == 1


# --- async -------------------------------------------------------------------------------------------------

async def test_async_fully_consumed(instrumented, client):
    stream = await client.astream("hi", n=3)
    assert isinstance(stream, fakellm.AsyncChunkStream)
    texts = [c.text async for c in stream]
    assert texts[1:4] == ["t0 ", "t1 ", "t2 "]
    call = only_call(instrumented)
    assert (call.input_tokens, call.output_tokens) == (7, 3)
    assert call.incomplete is False
    assert call.time_to_first_chunk is not None


async def test_async_break_and_aclose(instrumented, client):
    stream = await client.astream("hi", n=5)
    async for _chunk in stream:
        break
    await stream.close()
    assert stream.closed is True
    call = only_call(instrumented)
    assert call.incomplete is True


async def test_async_with_block(instrumented, client):
    async with await client.astream("hi", n=5) as stream:
        assert type(stream).__name__ == "AsyncStreamProxy"
        await stream.__anext__()
    assert only_call(instrumented).incomplete is True


async def test_async_stream_raises(instrumented, client):
    stream = await client.astream("hi", n=5, fail_at=2)
    with pytest.raises(fakellm.FakeAPIError):
        async for _chunk in stream:
            pass
    call = only_call(instrumented)
    assert call.error_type == "tests.support.fakellm.FakeAPIError"


async def test_async_abandoned_stream_ends_on_gc(instrumented, client):
    stream = await client.astream("hi", n=5)
    await stream.__anext__()
    del stream
    gc.collect()
    assert only_call(instrumented).incomplete is True


async def test_concurrent_streams_are_siblings(instrumented, client):
    import llmobs

    @llmobs.workflow
    async def run():
        async def one(i):
            return [c.text async for c in await client.astream(f"q{i}", n=2)]

        return await asyncio.gather(*(one(i) for i in range(3)))

    await run()
    spans = instrumented.spans
    root = next(s for s in spans if s.name == "invoke_workflow run")
    llm = [s for s in spans if s.attributes.get("gen_ai.operation.name") == "chat"]
    assert len(llm) == 3
    assert all(s.parent.span_id == root.context.span_id for s in llm)


def test_time_values_are_monotonic(instrumented, client):
    t = time.time_ns()
    list(client.stream("hi"))
    call = only_call(instrumented)
    assert t <= call.span.start_time <= call.span.end_time


# --- one API call, one LLM span (scenario 10) ---------------------------------------------------------------

def test_an_instrumented_call_inside_llm_call_is_not_counted_twice(instrumented, client):
    import llmobs

    with llmobs.llm_call(provider="fakeai", model="fake-1") as call:
        client.complete("inner")  # e.g. a raw SDK call the user also wrapped by hand
        call.record_usage(10, 5)
    assert len(instrumented.llm_calls()) == 1
    client.complete("after")  # suppression ended with the block
    assert len(instrumented.llm_calls()) == 2


def test_nested_patched_methods_give_one_span_and_suppression_never_leaks(instrumented, client, monkeypatch):
    import llmobs
    from tests.support import fakellm

    llmobs.uninstrument()
    original = fakellm.Client.complete
    inner_streams = []

    def complete_via_stream(self, prompt, **kwargs):  # an SDK method implemented on another patched one
        inner_streams.append(list(self.stream(prompt)))
        return original(self, prompt, **kwargs)

    monkeypatch.setattr(fakellm.Client, "complete", complete_via_stream)
    llmobs.instrument(integrations=["fakellm"])
    try:
        with pytest.raises(TypeError):
            client.complete("x", bogus=1)  # fails inside: suppression must be reset
        client.complete("y")
        assert len(inner_streams) == 2  # the inner patched method really ran
        names = [c.span.name for c in instrumented.llm_calls()]
        assert names == ["chat fake-1", "chat fake-1"]
        assert [c.stream for c in instrumented.llm_calls()] == [False, False]
        list(client.stream("z"))  # outside any call: recorded
        assert len(instrumented.llm_calls()) == 3
    finally:
        llmobs.uninstrument()  # before monkeypatch restores the original method


async def test_suppression_is_per_task(instrumented, client):
    async def one(i):
        return await client.acomplete(f"q{i}")

    await asyncio.gather(*(one(i) for i in range(4)))
    assert len(instrumented.llm_calls()) == 4  # concurrent siblings never suppress each other


# --- streamed tool calls (scenario 5) ------------------------------------------------------------------------

def test_tool_call_fragments_are_reassembled_by_index():
    from llmobs._streams import ToolCallAssembler

    tools = ToolCallAssembler()
    assert not tools
    # two calls interleaved, ids and names only on the first fragment (OpenAI's shape)
    tools.add(0, id="call_a", name="get_weather", arguments='{"ci')
    tools.add(1, id="call_b", name="get_time", arguments="")
    tools.add(0, arguments='ty": "Par')
    tools.add(1, arguments='{"tz": "UTC"}')
    tools.add(0, id="ignored-later-id", arguments='is"}')
    assert tools.parts() == [
        {"type": "tool_call", "id": "call_a", "name": "get_weather", "arguments": {"city": "Paris"}},
        {"type": "tool_call", "id": "call_b", "name": "get_time", "arguments": {"tz": "UTC"}},
    ]


def test_a_cut_short_tool_call_keeps_its_raw_arguments():
    from llmobs._streams import ToolCallAssembler

    tools = ToolCallAssembler()
    tools.add(3, id="toolu_1", name="search", arguments='{"q": "llm obs')  # Anthropic block index 3
    tools.add(5, name="noargs")
    assert tools.parts() == [
        {"type": "tool_call", "id": "toolu_1", "name": "search", "arguments": '{"q": "llm obs'},
        {"type": "tool_call", "name": "noargs", "arguments": {}},
    ]
