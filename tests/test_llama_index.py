"""The LlamaIndex integration: spans for LlamaIndex's components through its instrumentation dispatcher, and
exactly one LLM span per model call (the provider's when the provider library is instrumented, else the
framework's own, built from LlamaIndex's data).

The first part uses LlamaIndex's mock models and small custom ones (runs wherever llama-index-core is
installed); the last part drives the real ``llama_index.llms.openai`` / ``llama_index.embeddings.openai``
classes over the openai SDK's mock transport, with the openai integration on.
"""

from __future__ import annotations

import asyncio
import gc
import json
from typing import Any

import pytest
from opentelemetry.trace import SpanKind, StatusCode

pytest.importorskip("llama_index.core")

from llama_index.core import Document, Settings, VectorStoreIndex
from llama_index.core.base.llms.types import (
    ChatMessage,
    CompletionResponse,
    LLMMetadata,
)
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.llms import CustomLLM, MockLLM
from llama_index.core.llms.callbacks import llm_completion_callback
from llama_index.core.tools import FunctionTool

import llmobs
from llmobs import semconv as sc
from llmobs.instrumentation import llama_index as li
from tests.support.integration import capture_fixtures, one_call, run

cap, cap_content = capture_fixtures("llama_index")
DOCS = ["Paris is the capital of France.", "Berlin is the capital of Germany.", "Rome is in Italy."]
USER = [ChatMessage(role="system", content="Be brief."), ChatMessage(role="user", content="Hello?")]


@pytest.fixture(autouse=True)
def mock_models():
    saved = (Settings._llm, Settings._embed_model)
    Settings.llm = MockLLM(max_tokens=4)
    Settings.embed_model = MockEmbedding(embed_dim=8)
    yield
    Settings._llm, Settings._embed_model = saved


def tracer() -> li._Tracer:
    for handler in get_dispatcher().span_handlers:
        if type(handler).__name__ == "LlmobsSpanHandler":
            return handler._tracer
    raise AssertionError("the llama_index integration is not instrumented")


def parent_of(cap, span):
    by_id = {s.context.span_id: s for s in cap.spans}
    return by_id.get(span.parent.span_id) if span.parent is not None else None


def index():
    return VectorStoreIndex.from_documents([Document(text=t) for t in DOCS])


class UsageLLM(CustomLLM):
    """A custom LLM whose responses carry an OpenAI-shaped ``raw`` (like the OpenAI LLM's), or that fails."""

    model: str = "my-model"
    temperature: float = 0.2
    fail: bool = False

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name=self.model)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        if self.fail:
            raise RuntimeError("model down")
        raw = {"id": "cmpl-1", "model": self.model + "-2025", "choices": [{"finish_reason": "length"}],
               "usage": {"prompt_tokens": 30, "completion_tokens": 5,
                         "prompt_tokens_details": {"cached_tokens": 10}}}
        return CompletionResponse(text="answer", raw=raw)

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any):
        def gen():
            text = ""
            for piece in ("a", "b", "c"):
                text += piece
                yield CompletionResponse(text=text, delta=piece)
            if self.fail:
                raise RuntimeError("stream broke")
        return gen()


class Anthropic(UsageLLM):
    """Named like LlamaIndex's Anthropic LLM (provider from the class name); Anthropic-shaped usage."""

    model: str = "claude-sonnet-4-5"

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        raw = {"id": "msg_1", "model": self.model, "stop_reason": "end_turn",
               "usage": {"input_tokens": 100, "output_tokens": 20, "cache_read_input_tokens": 50,
                         "cache_creation_input_tokens": 25}}
        return CompletionResponse(text="hi", raw=raw)


# --- framework spans and nesting -----------------------------------------------------------------------------

def test_query_engine_spans_nest_and_the_llm_call_is_recorded_once(cap):
    engine = index().as_query_engine()
    cap.reset()
    response = engine.query("What is the capital of France?")
    assert str(response)
    query = cap.one("invoke_workflow RetrieverQueryEngine", kind="workflow")
    assert query.attributes[sc.GEN_AI_OPERATION_NAME] == "invoke_workflow"
    assert query.attributes[sc.GEN_AI_WORKFLOW_NAME] == "RetrieverQueryEngine"
    assert query.parent is None and query.kind is SpanKind.INTERNAL
    retrieval = cap.one("retrieval VectorIndexRetriever", kind="retrieval")
    assert retrieval.attributes[sc.GEN_AI_OPERATION_NAME] == "retrieval"
    assert retrieval.attributes[sc.GEN_AI_DATA_SOURCE_ID] == "VectorIndexRetriever"
    assert retrieval.attributes[sc.GEN_AI_RETRIEVAL_TOP_K] == 2
    synth = cap.one("CompactAndRefine.synthesize", kind="task")
    assert parent_of(cap, retrieval) is query and parent_of(cap, synth) is query
    embed, llm = cap.llm_calls()
    assert embed.operation == "embeddings" and parent_of(cap, embed.span) is retrieval
    assert llm.operation == "text_completion" and parent_of(cap, llm.span) is synth
    assert llm.provider == "llama_index.mock" and llm.span.kind is SpanKind.CLIENT
    assert llm.attributes[sc.LLMOBS_INTEGRATION] == "llama_index"
    assert llm.attributes[sc.GEN_AI_REQUEST_MAX_TOKENS] == 4
    # the internal spans (_query, _retrieve, get_response, splitters, predict...) add nothing: skipped
    assert len(cap.spans) == 5
    for span in cap.spans:  # privacy by default
        assert not any(k in span.attributes for k in (
            sc.LLMOBS_INPUT, sc.LLMOBS_OUTPUT, sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES,
            sc.GEN_AI_RETRIEVAL_QUERY_TEXT, sc.GEN_AI_RETRIEVAL_DOCUMENTS))
    assert len(tracer().runs) == 0


def test_query_inside_an_app_span_and_a_nested_query_is_a_task(cap):
    engine = index().as_query_engine()
    tool = FunctionTool.from_defaults(lambda q: str(engine.query(q)), name="ask", description="Ask the docs.")
    cap.reset()
    with llmobs.span("app", kind="workflow") as app:
        tool(q="France?")
    tool_span = cap.one("execute_tool ask", kind="tool")
    assert tool_span.attributes[sc.GEN_AI_TOOL_NAME] == "ask"
    assert tool_span.attributes[sc.GEN_AI_TOOL_DESCRIPTION] == "Ask the docs."
    assert parent_of(cap, tool_span).context.span_id == app.span.get_span_context().span_id
    query = cap.one("RetrieverQueryEngine.query", kind="task")
    assert parent_of(cap, query) is tool_span
    assert len(cap.find("execute_tool ask")) == 1  # __call__ -> call of one tool: one span


def test_content_is_recorded_only_with_capture_on(cap_content):
    engine = index().as_query_engine()
    cap_content.reset()
    engine.query("capital of France?")
    query = cap_content.one(kind="workflow")
    assert query.attributes[sc.LLMOBS_INPUT] == "capital of France?"
    assert isinstance(query.attributes[sc.LLMOBS_OUTPUT], str)
    retrieval = cap_content.one(kind="retrieval")
    assert retrieval.attributes[sc.GEN_AI_RETRIEVAL_QUERY_TEXT] == "capital of France?"
    docs = json.loads(retrieval.attributes[sc.GEN_AI_RETRIEVAL_DOCUMENTS])
    assert len(docs) == 2 and {d["content"] for d in docs} <= set(DOCS)
    assert all(isinstance(d["id"], str) and isinstance(d["score"], float) for d in docs)
    llm = cap_content.assert_llm_call(operation="text_completion")
    inputs = json.loads(llm.attributes[sc.GEN_AI_INPUT_MESSAGES])
    assert inputs[0]["role"] == "user" and "Query: capital of France?" in inputs[0]["parts"][0]["content"]
    outputs = json.loads(llm.attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    assert outputs[0]["role"] == "assistant"


def test_chat_messages_and_system_instructions_with_capture_on(cap_content):
    Settings.llm.chat(USER)
    call = one_call(cap_content)
    assert call.operation == "chat"  # MockLLM.chat calls its own complete(): one call, the chat
    assert json.loads(call.attributes[sc.GEN_AI_SYSTEM_INSTRUCTIONS]) == [{"type": "text", "content": "Be brief."}]
    assert json.loads(call.attributes[sc.GEN_AI_INPUT_MESSAGES]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Hello?"}]}]


# --- the framework's LLM span (no provider integration claimed the call) ------------------------------------

def test_usage_finish_reason_and_response_from_raw(cap):
    UsageLLM().complete("hi")
    call = cap.assert_llm_call(
        operation="text_completion", provider="llama_index", model="my-model", response_model="my-model-2025",
        input_tokens=30, output_tokens=5, cache_read_input_tokens=10, finish_reasons=("length",),
        cost_status="unpriced", stream=False,
    )
    assert call.span.name == "text_completion my-model"
    assert call.attributes[sc.GEN_AI_RESPONSE_ID] == "cmpl-1"
    assert call.attributes[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.2
    assert cap.metric_points(sc.METRIC_TOKEN_USAGE)  # metrics come from the same recorder


def test_provider_from_the_class_and_anthropic_usage_is_priced(cap):
    Anthropic().complete("hi")
    call = cap.assert_llm_call(provider="anthropic", model="claude-sonnet-4-5", input_tokens=175,
                               output_tokens=20, cache_read_input_tokens=50, cache_write_input_tokens=25,
                               finish_reasons=("stop",), cost_status="priced")
    assert call.cost > 0


def test_an_llm_call_recorded_inside_claims_the_model_run(cap):
    """What a provider integration does (``llmobs.llm_call`` records through the same recorder): its span is
    the one LLM span; the framework records none."""

    class Wrapped(UsageLLM):
        @llm_completion_callback()
        def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
            with llmobs.llm_call(provider="openai", model="gpt-4o-mini") as c:
                c.record_usage(input_tokens=7, output_tokens=3)
            return CompletionResponse(text="x")

    with llmobs.span("app") as app:
        Wrapped().complete("hi")
    call = one_call(cap)
    assert call.provider == "openai" and call.input_tokens == 7
    assert sc.LLMOBS_INTEGRATION not in call.attributes or call.attributes[sc.LLMOBS_INTEGRATION] != "llama_index"
    assert call.span.parent.span_id == app.span.get_span_context().span_id


def test_llm_error_is_recorded_and_propagates_unchanged(cap):
    llm = UsageLLM(fail=True)
    Settings.llm = llm
    engine = index().as_query_engine()
    cap.reset()
    with pytest.raises(RuntimeError, match="model down"):
        engine.query("x")
    call = cap.assert_llm_call(operation="text_completion", error_type="RuntimeError", finish_reasons=("error",))
    assert call.span.status.status_code is StatusCode.ERROR
    query = cap.one(kind="workflow")
    assert query.status.status_code is StatusCode.ERROR and query.attributes[sc.ERROR_TYPE] == "RuntimeError"
    assert len(tracer().runs) == 0


# --- streams and async ------------------------------------------------------------------------------------------

def test_stream_span_ends_when_the_stream_is_drained(cap):
    gen = Settings.llm.stream_chat(USER)
    assert cap.llm_calls() == []  # returned the generator: nothing ended yet
    first = next(gen)
    assert first.delta and cap.llm_calls() == []
    rest = list(gen)
    call = one_call(cap)
    assert call.operation == "chat" and call.stream and not call.incomplete
    assert call.attributes[sc.LLMOBS_STREAM_CHUNKS] == 1 + len(rest)
    assert 0 <= call.time_to_first_chunk <= (call.span.end_time - call.span.start_time) / 1e9
    assert len(tracer().runs) == 0


def test_abandoned_stream_closed_midway_is_incomplete(cap):
    gen = UsageLLM().stream_complete("hi")
    next(gen)
    gen.close()
    call = one_call(cap)
    assert call.incomplete and call.error_type is None and call.attributes[sc.LLMOBS_STREAM_CHUNKS] == 1
    assert len(tracer().runs) == 0


def test_stream_never_read_is_closed_when_collected(cap):
    gen = UsageLLM().stream_complete("hi")
    assert len(tracer().runs) == 1
    del gen
    gc.collect()
    call = one_call(cap)
    assert call.incomplete and call.attributes[sc.LLMOBS_STREAM_CHUNKS] == 0
    assert len(tracer().runs) == 0


def test_stream_error_is_recorded(cap):
    gen = UsageLLM(fail=True).stream_complete("hi")
    with pytest.raises(RuntimeError, match="stream broke"):
        list(gen)
    call = one_call(cap)
    assert call.error_type == "RuntimeError" and call.attributes[sc.LLMOBS_STREAM_CHUNKS] == 3


def test_async_calls_and_async_stream(cap):
    async def main():
        with llmobs.span("app") as app:
            await Settings.llm.achat(USER)
            gen = await Settings.llm.astream_complete("hello there")
            chunks = [c async for c in gen]
        return app, chunks

    app, chunks = run(main())
    chat, stream = cap.llm_calls()
    assert chat.operation == "chat" and not chat.stream
    assert stream.operation == "text_completion" and stream.stream
    assert stream.attributes[sc.LLMOBS_STREAM_CHUNKS] == len(chunks)
    for call in (chat, stream):
        assert call.span.parent.span_id == app.span.get_span_context().span_id
    assert len(tracer().runs) == 0


def test_concurrent_async_queries_keep_their_own_trees(cap):
    engine = index().as_query_engine()
    cap.reset()

    async def main():
        await asyncio.gather(*(engine.aquery(f"q{i}") for i in range(5)))

    run(main())
    queries = cap.find(kind="workflow")
    assert len(queries) == 5
    for span in cap.spans:
        if span in queries:
            continue
        root = span
        while parent_of(cap, root) is not None:
            root = parent_of(cap, root)
        assert root in queries
    assert {s.context.trace_id for s in queries} == {s.context.trace_id for s in cap.spans}
    assert len(cap.llm_calls()) == 10  # one query embedding and one LLM call each


# --- workflows, agents, tools ------------------------------------------------------------------------------------

def test_workflow_steps_and_tool(cap_content):
    from workflows import Workflow, step
    from workflows.events import StartEvent, StopEvent

    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    class Flow(Workflow):
        @step
        async def go(self, ev: StartEvent) -> StopEvent:
            return StopEvent(result=str(FunctionTool.from_defaults(add)(a=1, b=2)))

    async def main():
        return await Flow().run()

    assert run(main()) == "3"
    flow = cap_content.one("invoke_workflow Flow", kind="workflow")
    step_span = cap_content.one("Flow.go", kind="task")
    tool = cap_content.one("execute_tool add", kind="tool")
    assert parent_of(cap_content, step_span) is flow and parent_of(cap_content, tool) is step_span
    assert json.loads(tool.attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS]) == {"a": 1, "b": 2}
    assert tool.attributes[sc.GEN_AI_TOOL_CALL_RESULT] == "3"
    points = cap_content.metric_points(sc.METRIC_INVOKE_WORKFLOW_DURATION)
    assert points


def test_function_agent_is_an_agent_with_tool_calls(cap):
    from llama_index.core.agent.workflow import FunctionAgent
    mock = pytest.importorskip("llama_index.core.llms.mock")
    if not hasattr(mock, "MockFunctionCallingLLM"):  # a test double of newer llama-index-core releases
        pytest.skip("this llama-index-core has no MockFunctionCallingLLM to drive a FunctionAgent offline")
    MockFunctionCallingLLM = mock.MockFunctionCallingLLM

    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    agent = FunctionAgent(tools=[add], llm=MockFunctionCallingLLM(), name="calc", description="Does sums.")
    async def main():
        return await agent.run("add 1 and 2")

    run(main())
    root = cap.one("invoke_agent calc", kind="agent")
    assert root.attributes[sc.GEN_AI_AGENT_NAME] == "calc"
    assert root.attributes[sc.GEN_AI_AGENT_DESCRIPTION] == "Does sums."
    tool = cap.one("execute_tool add", kind="tool")
    assert tool.attributes[sc.GEN_AI_TOOL_CALL_ID].startswith("mock-tool-call")
    calls = cap.llm_calls()
    assert calls and all(c.operation == "chat" and c.stream for c in calls)
    for span in cap.spans:
        if span is not root:
            node = span
            while parent_of(cap, node) is not None:
                node = parent_of(cap, node)
            assert node is root
    assert len(tracer().runs) == 0


# --- robustness, memory, uninstrument ------------------------------------------------------------------------

def test_maps_are_empty_after_10000_runs_with_errors_cancellations_and_abandoned_streams(cap):
    ok, failing = UsageLLM(), UsageLLM(fail=True)

    class Slow(UsageLLM):
        async def acomplete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
            await asyncio.sleep(10)
            raise AssertionError("not reached")

    slow = Slow()

    async def cancelled():
        task = asyncio.ensure_future(slow.acomplete("x"))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    async def abandoned_async():
        gen = await Settings.llm.astream_complete("a b c")
        await gen.__anext__()
        await gen.aclose()

    async def main():
        for i in range(2000):
            kind = i % 5
            if kind == 0:
                ok.complete("x")
            elif kind == 1:
                with pytest.raises(RuntimeError):
                    failing.complete("x")
            elif kind == 2:
                await cancelled()
            elif kind == 3:
                gen = ok.stream_complete("x")
                next(gen)
                gen.close()
            else:
                await abandoned_async()

    for _ in range(5):  # 10,000 runs
        run(main())
        gc.collect()
    t = tracer()
    assert len(t.runs) == 0 and len(t.streams) == 0
    assert all(not h.open_spans for h in get_dispatcher().span_handlers)
    calls = cap.llm_calls()
    assert len(calls) == 10_000
    assert sum(1 for c in calls if c.error_type == "RuntimeError") == 2000
    assert sum(1 for c in calls if c.error_type == "asyncio.exceptions.CancelledError" or
               c.error_type == "CancelledError") == 2000
    assert sum(1 for c in calls if c.incomplete) == 4000


def test_run_table_is_bounded_when_ends_are_lost(cap, monkeypatch):
    t = tracer()
    t.runs.limit = 50
    gens = [UsageLLM().stream_complete("x") for _ in range(200)]  # started, never read nor collected
    assert len(t.runs) == 50
    assert len(cap.llm_calls()) == 150  # the oldest were closed as incomplete to make room
    assert all(c.incomplete for c in cap.llm_calls())
    del gens
    gc.collect()
    assert len(t.runs) == 0


def test_handler_failures_never_reach_the_app(cap, monkeypatch):
    def boom(*args, **kwargs):
        raise ValueError("bug in llmobs")

    t = tracer()
    monkeypatch.setattr(t, "enter", boom)
    monkeypatch.setattr(t, "event", boom)
    assert Settings.llm.complete("hi").text
    monkeypatch.setattr(t, "exit", boom)
    assert index().as_query_engine().query("x")


def test_uninstrument_restores_the_dispatcher_exactly(llmobs_capture):
    dispatcher = get_dispatcher()
    spans_before, events_before = list(dispatcher.span_handlers), list(dispatcher.event_handlers)
    span_list, event_list = dispatcher.span_handlers, dispatcher.event_handlers
    llmobs.instrument(integrations=["llama_index"])
    assert len(dispatcher.span_handlers) == len(spans_before) + 1
    gen = Settings.llm.stream_complete("left open")
    next(gen)
    llmobs.uninstrument()
    assert dispatcher.span_handlers == spans_before and dispatcher.event_handlers == events_before
    assert dispatcher.span_handlers is span_list and dispatcher.event_handlers is event_list
    list(gen)
    Settings.llm.complete("after")
    assert llmobs_capture.llm_calls() == []
    from llmobs._recorder import _model_scope

    gen.close()
    assert _model_scope.get() is None or _model_scope.get().members == 0


# --- the real OpenAI LLM and embeddings, with the openai integration on -----------------------------------------

CHAT_MODEL = "gpt-4o-mini"


@pytest.fixture
def openai_li():
    """The real OpenAI LLM and embedding classes (and the openai SDK's mock transport)."""
    module = pytest.importorskip(
        "llama_index.llms.openai",
        reason="llama-index-llms-openai needs openai<3: runs in the openai-2 test environment (make test runs it)",
    )
    from llama_index.embeddings.openai import OpenAIEmbedding

    from tests.support import openai_wire

    return module.OpenAI, OpenAIEmbedding, openai_wire


@pytest.fixture
def both(llmobs_capture, openai_li):
    llmobs.instrument(integrations=["llama_index", "openai"])
    yield llmobs_capture
    llmobs.uninstrument()


@pytest.fixture
def server(openai_li):
    return openai_li[2].MockOpenAI()


@pytest.fixture
def w(openai_li):
    return openai_li[2]


def openai_llm(server, **kwargs):
    from llama_index.llms.openai import OpenAI

    from tests.support.openai_wire import HTTP

    transport = HTTP.MockTransport(server.handler)
    return OpenAI(
        model=CHAT_MODEL, api_key="sk-test", max_retries=0,
        http_client=HTTP.Client(transport=transport), async_http_client=HTTP.AsyncClient(transport=transport),
        **kwargs,
    )


def openai_embedding(server):
    from llama_index.embeddings.openai import OpenAIEmbedding

    from tests.support.openai_wire import HTTP

    transport = HTTP.MockTransport(server.handler)
    return OpenAIEmbedding(
        model="text-embedding-3-small", api_key="sk-test", max_retries=0,
        http_client=HTTP.Client(transport=transport), async_http_client=HTTP.AsyncClient(transport=transport),
    )


def only_openai_calls(cap, n=1):
    calls = cap.llm_calls()
    assert len(calls) == n, [(c.span.name, c.attributes.get(sc.LLMOBS_INTEGRATION)) for c in calls]
    assert all(c.attributes[sc.LLMOBS_INTEGRATION] == "openai" for c in calls)
    return calls


def test_openai_chat_is_one_span_the_providers(both, server, w):
    server.add_json(w.chat_completion(CHAT_MODEL, ["Hi!"], usage=w.completion_usage(40, 9, cached_tokens=8)))
    with llmobs.span("app") as app:
        reply = openai_llm(server).chat(USER)
    assert reply.message.content == "Hi!"
    (call,) = only_openai_calls(both)
    assert call.provider == "openai" and call.input_tokens == 40 and call.output_tokens == 9
    assert call.cache_read_input_tokens == 8 and call.cost_status == "priced" and call.cost > 0
    assert call.attributes[sc.SERVER_ADDRESS] == "api.openai.com"
    assert call.span.parent.span_id == app.span.get_span_context().span_id
    assert len(tracer().runs) == 0


def test_openai_stream_chat_is_one_span_the_providers(both, server):
    with llmobs.span("app") as app:
        gen = openai_llm(server).stream_chat(USER)
        text = "".join(chunk.delta or "" for chunk in gen)
    assert text
    (call,) = only_openai_calls(both)
    assert call.stream and call.time_to_first_chunk is not None and not call.incomplete
    assert call.span.parent.span_id == app.span.get_span_context().span_id
    assert len(tracer().runs) == 0


def test_openai_async_chat_and_stream_are_one_span_each(both, server):
    llm = openai_llm(server)

    async def main():
        with llmobs.span("app") as app:
            await llm.achat(USER)
            gen = await llm.astream_chat(USER)
            async for _ in gen:
                pass
        return app

    app = run(main())
    chat, stream = only_openai_calls(both, 2)
    assert not chat.stream and chat.input_tokens is not None and stream.stream
    for call in (chat, stream):
        assert call.span.parent.span_id == app.span.get_span_context().span_id
    assert len(tracer().runs) == 0


def test_openai_error_is_the_providers_span_only(both, server, w):
    server.add_error(500, "boom", "server_error")
    with pytest.raises(Exception, match="boom"):
        openai_llm(server).chat(USER)
    (call,) = only_openai_calls(both)
    assert call.error_type is not None


def test_openai_rag_query_nests_provider_spans_under_llama_index_spans(both, server, w):
    Settings.llm = openai_llm(server)
    Settings.embed_model = openai_embedding(server)
    idx = index()
    only_openai_calls(both)  # one embeddings call for the three documents
    both.reset()
    server.add_json(w.embedding_response(model="text-embedding-3-small", dimensions=8, prompt_tokens=6))
    response = idx.as_query_engine(similarity_top_k=2).query("What is the capital of France?")
    assert str(response)
    embed, chat = only_openai_calls(both, 2)
    query = both.one("invoke_workflow RetrieverQueryEngine")
    retrieval = both.one("retrieval VectorIndexRetriever")
    synth = both.one("CompactAndRefine.synthesize")
    assert embed.operation == "embeddings" and parent_of(both, embed.span) is retrieval
    assert chat.operation == "chat" and parent_of(both, chat.span) is synth
    assert parent_of(both, retrieval) is query and parent_of(both, synth) is query
    assert chat.cost_status == "priced" and embed.input_tokens == 6
    assert len(tracer().runs) == 0


def test_openai_llm_without_the_openai_integration_is_recorded_by_the_framework(cap, server, w):
    server.add_json(w.chat_completion(CHAT_MODEL, ["Hi!"], usage=w.completion_usage(40, 9, cached_tokens=8)))
    openai_llm(server, temperature=0.5).chat(USER)
    call = cap.assert_llm_call(operation="chat", provider="openai", model=CHAT_MODEL, input_tokens=40,
                               output_tokens=9, cache_read_input_tokens=8, finish_reasons=("stop",),
                               cost_status="priced")
    assert call.attributes[sc.LLMOBS_INTEGRATION] == "llama_index"
    assert call.attributes[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.5
