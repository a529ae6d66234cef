"""Scenarios 7-9 and 21: decorated functions of every shape, context propagation, user exceptions."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from opentelemetry import trace

import llmobs


def by_name(cap, name):
    matches = [s for s in cap.spans if s.name == name]
    assert len(matches) == 1, [s.name for s in cap.spans]
    return matches[0]


def test_sync_function_bare_and_named(llmobs_capture):
    @llmobs.task
    def plain(x):
        return x + 1

    @llmobs.workflow(name="pipeline", attributes={"team": "search"})
    def run(x):
        return plain(x) * 2

    assert run(1) == 4
    root = by_name(llmobs_capture, "invoke_workflow pipeline")
    child = by_name(llmobs_capture, "plain")
    assert child.parent.span_id == root.context.span_id
    assert root.attributes["gen_ai.operation.name"] == "invoke_workflow"
    assert root.attributes["gen_ai.workflow.name"] == "pipeline"
    assert root.attributes["team"] == "search"
    assert child.attributes["llmobs.span.kind"] == "task"
    assert plain.__name__ == "plain"  # functools.wraps


def test_agent_and_tool_spans(llmobs_capture):
    @llmobs.tool
    def lookup(city: str) -> str:
        """Look up the weather for a city.

        Longer text that is not part of the description."""
        return "sunny"

    @llmobs.agent(name="weather-agent")
    def agent(q):
        return lookup(q)

    agent("Paris")
    tool_span = by_name(llmobs_capture, "execute_tool lookup")
    agent_span = by_name(llmobs_capture, "invoke_agent weather-agent")
    assert tool_span.kind == trace.SpanKind.INTERNAL
    assert tool_span.attributes["gen_ai.tool.name"] == "lookup"
    assert tool_span.attributes["gen_ai.tool.type"] == "function"
    assert tool_span.attributes["gen_ai.tool.description"] == "Look up the weather for a city."
    assert agent_span.attributes["gen_ai.agent.name"] == "weather-agent"
    # content capture is off: no arguments or results recorded (scenario 25)
    assert "gen_ai.tool.call.arguments" not in tool_span.attributes
    assert "gen_ai.tool.call.result" not in tool_span.attributes
    names = llmobs_capture.metrics()
    assert "gen_ai.execute_tool.duration" in names
    assert "gen_ai.invoke_agent.duration" in names


@pytest.mark.llmobs(capture_content=True)
def test_inputs_and_outputs_when_capture_is_on(llmobs_capture):
    @llmobs.tool
    def add(a, b=2):
        return {"sum": a + b}

    @llmobs.task
    def greet(name):
        return f"hello {name}"

    add(1, b=5)
    greet("ada")
    tool_span = by_name(llmobs_capture, "execute_tool add")
    assert tool_span.attributes["gen_ai.tool.call.arguments"] == '{"a":1,"b":5}'
    assert tool_span.attributes["gen_ai.tool.call.result"] == '{"sum":6}'
    task_span = by_name(llmobs_capture, "greet")
    assert task_span.attributes["llmobs.input"] == '{"name":"ada"}'
    assert task_span.attributes["llmobs.output"] == "hello ada"


@pytest.mark.llmobs(capture_content=True, max_content_length=10)
def test_captured_content_is_bounded(llmobs_capture):
    @llmobs.task
    def big():
        return "x" * 1000

    big()
    out = by_name(llmobs_capture, "big").attributes["llmobs.output"]
    assert out.startswith("x" * 10)
    assert out.endswith("[llmobs: truncated 990 chars]")


async def test_async_function(llmobs_capture):
    @llmobs.task
    async def inner():
        await asyncio.sleep(0)
        return trace.get_current_span().get_span_context().span_id

    @llmobs.workflow
    async def outer():
        return await inner()

    current_inner = await outer()
    inner_span = by_name(llmobs_capture, "inner")
    assert current_inner == inner_span.context.span_id  # the span is current inside the body
    assert inner_span.parent.span_id == by_name(llmobs_capture, "invoke_workflow outer").context.span_id


@pytest.mark.llmobs(capture_content=True)
def test_generator_span_covers_iteration_and_records_yielded_items(llmobs_capture, caplog):
    @llmobs.task
    def gen(n):
        for i in range(n):
            yield i
        return "done"

    g = gen(3)
    assert llmobs_capture.find(name="gen") == []  # not ended before iteration
    assert list(g) == [0, 1, 2]
    span = by_name(llmobs_capture, "gen")
    assert span.attributes["llmobs.output"] == "[0,1,2]"  # what was yielded, not a repr
    assert "Failed to detach context" not in caplog.text


def test_generator_return_value_and_send(llmobs_capture):
    @llmobs.task
    def echo():
        received = []
        while True:
            value = yield len(received)
            if value is None:
                return received
            received.append(value)

    g = echo()
    assert next(g) == 0
    assert g.send("a") == 1
    with pytest.raises(StopIteration) as stop:
        g.send(None)
    assert stop.value.value == ["a"]
    assert len(llmobs_capture.find(name="echo")) == 1


def test_generator_closed_early_and_thrown_into(llmobs_capture, caplog):
    caplog.set_level(logging.DEBUG)

    @llmobs.task
    def gen():
        try:
            yield 1
            yield 2
        except KeyError:
            yield "recovered"

    g = gen()
    next(g)
    assert g.throw(KeyError("k")) == "recovered"
    g.close()
    assert len(llmobs_capture.find(name="gen")) == 1
    assert "Failed to detach context" not in caplog.text


def test_generator_context_does_not_leak_between_steps(llmobs_capture):
    @llmobs.task
    def gen():
        yield trace.get_current_span().get_span_context().span_id
        yield trace.get_current_span().get_span_context().span_id

    g = gen()
    inside = next(g)
    outside = trace.get_current_span().get_span_context().span_id
    assert inside != outside
    assert outside == 0  # no span leaked to the caller while the generator is suspended
    assert next(g) == inside
    g.close()


async def test_async_generator(llmobs_capture, caplog):
    @llmobs.task
    async def agen(n):
        for i in range(n):
            await asyncio.sleep(0)
            yield i

    assert [x async for x in agen(3)] == [0, 1, 2]
    g = agen(5)
    await g.__anext__()
    await g.aclose()
    assert len(llmobs_capture.find(name="agen")) == 2
    assert "Failed to detach context" not in caplog.text


def test_methods_classmethods_staticmethods(llmobs_capture):
    class Service:
        factor = 3

        @llmobs.task
        def method(self, x):
            return x * self.factor

        @classmethod
        @llmobs.task
        def cm_inner(cls, x):
            return x * cls.factor

        @llmobs.task
        @classmethod
        def cm_outer(cls, x):
            return x + cls.factor

        @llmobs.task
        @staticmethod
        def sm(x):
            return -x

    s = Service()
    assert s.method(2) == 6
    assert Service.cm_inner(2) == 6
    assert Service.cm_outer(2) == 5
    assert Service.sm(2) == -2
    assert {sp.name for sp in llmobs_capture.spans} == {"method", "cm_inner", "cm_outer", "sm"}


def test_user_exception_reaches_the_caller_unchanged(llmobs_capture):
    err = ValueError("bad input")

    @llmobs.task
    def fails():
        raise err

    with pytest.raises(ValueError) as info:
        fails()
    assert info.value is err
    assert info.value.__traceback__ is not None
    span = by_name(llmobs_capture, "fails")
    assert span.attributes["error.type"] == "ValueError"
    assert span.status.status_code == trace.StatusCode.ERROR
    assert span.events[0].name == "exception"


def test_span_context_manager(llmobs_capture):
    with llmobs.span("rerank", kind="retrieval") as s:
        s.set_attribute("k", 1)
        s.set_input("secret prompt")  # capture off: ignored
    span = by_name(llmobs_capture, "retrieval rerank")
    assert span.attributes["gen_ai.operation.name"] == "retrieval"
    assert span.attributes["k"] == 1
    assert "llmobs.input" not in span.attributes


def test_unknown_span_kind_does_not_raise(llmobs_capture):
    with llmobs.span("x", kind="nonsense"):
        pass
    assert by_name(llmobs_capture, "x").attributes["llmobs.span.kind"] == "task"


def test_thread_pool_with_propagated_context_gives_siblings(llmobs_capture):
    @llmobs.task
    def leaf(i):
        return i

    @llmobs.workflow
    def fan_out():
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(contextvars.copy_context().run, leaf, i) for i in range(4)]
            return [f.result() for f in futures]

    assert fan_out() == [0, 1, 2, 3]
    root = by_name(llmobs_capture, "invoke_workflow fan_out")
    leaves = llmobs_capture.find(name="leaf")
    assert len(leaves) == 4
    assert all(s.parent.span_id == root.context.span_id for s in leaves)


async def test_gather_siblings(llmobs_capture):
    @llmobs.task
    async def leaf(i):
        await asyncio.sleep(0.001 * (3 - i))
        return i

    @llmobs.workflow
    async def fan_out():
        return await asyncio.gather(*(leaf(i) for i in range(3)))

    await fan_out()
    root = by_name(llmobs_capture, "invoke_workflow fan_out")
    assert all(s.parent.span_id == root.context.span_id for s in llmobs_capture.find(name="leaf"))


# --- llmobs.context -----------------------------------------------------------------------------------------

async def test_context_reaches_every_span_across_awaits_and_tasks(llmobs_capture):
    @llmobs.task
    async def child():
        await asyncio.sleep(0)

    with llmobs.context(user_id="u-1", session_id="s-9", tags=["beta"], metadata={"tenant": "acme", "n": 3}):
        with llmobs.context(tags=["vip"]):
            await asyncio.gather(child(), asyncio.create_task(child()))
            with llmobs.llm_call(provider="openai", model="gpt-4o-mini") as call:
                call.record_usage(1, 1)
    with llmobs.span("outside"):
        pass

    for span in llmobs_capture.find(name="child") + llmobs_capture.find(kind="llm"):
        assert span.attributes["user.id"] == "u-1"
        assert span.attributes["session.id"] == "s-9"
        assert span.attributes["llmobs.tags"] == ("beta", "vip")
        assert span.attributes["llmobs.metadata.tenant"] == "acme"
        assert span.attributes["llmobs.metadata.n"] == 3
    assert "user.id" not in by_name(llmobs_capture, "outside").attributes


def test_context_reaches_spans_of_other_instrumentations(llmobs_capture):
    foreign = llmobs_capture.tracer_provider.get_tracer("httpx-instrumentation")
    with llmobs.context(user_id="u-2"):
        foreign.start_span("GET").end()
    assert by_name(llmobs_capture, "GET").attributes["user.id"] == "u-2"


def test_context_in_a_thread_with_copied_context(llmobs_capture):
    @llmobs.task
    def work():
        return 1

    with llmobs.context(session_id="s-t"):
        ctx = contextvars.copy_context()
    t = threading.Thread(target=ctx.run, args=(work,))
    t.start()
    t.join()
    assert by_name(llmobs_capture, "work").attributes["session.id"] == "s-t"
