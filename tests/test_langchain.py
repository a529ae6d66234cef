"""The LangChain/LangGraph integration: LangChain's fake chat models, and the real langchain-openai ChatOpenAI
over the openai SDK's mock transport, with the openai integration on too (one LLM span per model call)."""

from __future__ import annotations

import asyncio
import inspect
import json
import warnings
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import BaseTool, tool
from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from opentelemetry import trace
from opentelemetry.trace import StatusCode

import llmobs
from llmobs import semconv as sc
from tests.support import openai_wire as w

MODEL = "gpt-4o-mini"


# --- fixtures and helpers ------------------------------------------------------------------------------------

def _instrument(llmobs_capture: Any, *integrations: str, capture: str | None = None) -> Any:
    llmobs.instrument(integrations=list(integrations), capture_content=capture)
    yield llmobs_capture
    llmobs.uninstrument()


@pytest.fixture
def cap(llmobs_capture):
    """LangChain alone: model runs are recorded by the framework layer."""
    yield from _instrument(llmobs_capture, "langchain")


@pytest.fixture
def cap_both(llmobs_capture):
    """LangChain and openai: the provider layer records ChatOpenAI's calls."""
    yield from _instrument(llmobs_capture, "langchain", "openai")


@pytest.fixture
def cap_content(llmobs_capture):
    yield from _instrument(llmobs_capture, "langchain", capture="SPAN_ONLY")


@pytest.fixture
def server():
    return w.MockOpenAI()


def handler():
    from llmobs import _setup

    return _setup._state.integrations["langchain"].handler


class PricedFake(FakeMessagesListChatModel):
    """A fake chat model that says it is OpenAI's gpt-4o-mini (so the framework span is priced)."""

    def _get_ls_params(self, stop=None, **kwargs):
        params = super()._get_ls_params(stop=stop, **kwargs)
        params.update(ls_provider="openai", ls_model_name=MODEL, ls_temperature=0.3)
        return params

    def bind_tools(self, tools, **kwargs):
        return self


def answer(text="Hello there", inp=10, out=3, **kwargs):
    return AIMessage(content=text, usage_metadata={"input_tokens": inp, "output_tokens": out,
                                                   "total_tokens": inp + out}, **kwargs)


def chat_openai(server, **kwargs):
    kwargs.setdefault("model", MODEL)
    transport = w.HTTP.MockTransport(server.handler)
    return ChatOpenAI(
        api_key="sk-test", base_url=w.DEFAULT_BASE_URL, max_retries=0, stream_usage=True,
        http_client=w.HTTP.Client(transport=transport), http_async_client=w.HTTP.AsyncClient(transport=transport),
        **kwargs,
    )


def by_id(cap):
    return {s.context.span_id: s for s in cap.spans}


def parent_of(cap, span):
    return by_id(cap).get(span.parent.span_id) if span.parent else None


def named(cap, name):
    found = [s for s in cap.spans if s.name == name]
    assert found, (name, [s.name for s in cap.spans])
    return found


@tool
def get_weather(city: str) -> str:
    """Weather for a city."""
    return f"sunny in {city}"


@tool
def broken_tool(city: str) -> str:
    """Always fails."""
    raise ValueError("no weather today")


def agent_graph(model, tools=(get_weather,)):
    bound = model.bind_tools(list(tools))

    def call_model(state):
        return {"messages": [bound.invoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("agent", call_model)
    graph.add_node("tools", ToolNode(list(tools), handle_tool_errors=False))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")
    return graph.compile(name="weather_agent")


def tool_call_then_answer(tool_name="get_weather"):
    return [
        AIMessage(content="", tool_calls=[{"name": tool_name, "args": {"city": "Paris"}, "id": "call_1"}],
                  usage_metadata={"input_tokens": 30, "output_tokens": 8, "total_tokens": 38}),
        answer("It is sunny in Paris", 50, 6),
    ]


# --- chains -----------------------------------------------------------------------------------------------------

def test_chain_spans_nest_and_the_framework_records_the_model_run(cap):
    prompt = ChatPromptTemplate.from_messages([("system", "Be brief."), ("human", "{question}")])
    chain = prompt | PricedFake(responses=[answer("Paris", 12, 2)]) | StrOutputParser()
    assert chain.invoke({"question": "Capital of France?"}) == "Paris"

    root = cap.one(name="invoke_workflow RunnableSequence")
    assert root.attributes[sc.LLMOBS_SPAN_KIND] == sc.KIND_WORKFLOW
    assert root.attributes[sc.GEN_AI_WORKFLOW_NAME] == "RunnableSequence"
    assert root.parent is None
    for name in ("ChatPromptTemplate", "StrOutputParser"):
        (step,) = named(cap, name)
        assert step.attributes[sc.LLMOBS_SPAN_KIND] == sc.KIND_TASK
        assert parent_of(cap, step) is root
    call = cap.assert_llm_call(
        operation="chat", provider="openai", model=MODEL, input_tokens=12, output_tokens=2,
        cost_status="priced", stream=False,
        attributes={sc.LLMOBS_INTEGRATION: "langchain", sc.GEN_AI_REQUEST_TEMPERATURE: 0.3},
    )
    assert call.attributes[sc.LLMOBS_COST_TOTAL] > 0
    assert parent_of(cap, call.span) is root
    # the model span covers the model run: it lies within the chain
    assert root.start_time <= call.span.start_time <= call.span.end_time <= root.end_time
    assert cap.metric_points("gen_ai.client.token.usage", **{sc.GEN_AI_PROVIDER_NAME: "openai"})
    assert len(handler().runs) == 0


def test_no_content_without_opt_in(cap):
    chain = ChatPromptTemplate.from_messages([("human", "{q}")]) | PricedFake(responses=[answer("secret")])
    chain.invoke({"q": "my secret question"})
    for span in cap.spans:
        for key, value in (span.attributes or {}).items():
            assert "secret" not in str(value), (span.name, key)
    assert not any(k in s.attributes for s in cap.spans
                   for k in (sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES, sc.LLMOBS_INPUT))


def test_content_capture_on_model_chain_and_tool_spans(cap_content):
    cap = cap_content
    model = PricedFake(responses=[answer("Paris it is", 12, 3)])
    chain = ChatPromptTemplate.from_messages([("system", "Be brief."), ("human", "{q}")]) | model
    chain.invoke({"q": "Capital of France?"})
    call = cap.assert_llm_call(provider="openai")
    inputs = json.loads(call.attributes[sc.GEN_AI_INPUT_MESSAGES])
    assert inputs == [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Capital of France?"}]},
    ]
    outputs = json.loads(call.attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    assert outputs[0]["role"] == "assistant"
    assert outputs[0]["parts"] == [{"type": "text", "content": "Paris it is"}]
    root = cap.one(name="invoke_workflow RunnableSequence")
    assert json.loads(root.attributes[sc.LLMOBS_INPUT]) == {"q": "Capital of France?"}
    assert "Paris it is" in root.attributes[sc.LLMOBS_OUTPUT]

    assert get_weather.invoke({"city": "Oslo"}) == "sunny in Oslo"
    span = cap.one(name="execute_tool get_weather")
    assert json.loads(span.attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS]) == {"city": "Oslo"}
    assert span.attributes[sc.GEN_AI_TOOL_CALL_RESULT] == "sunny in Oslo"


class KeywordRetriever(BaseRetriever):
    docs: list[Document]

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun):
        return [d for d in self.docs if any(word in d.page_content for word in query.split())]


def test_retriever_span(cap_content):
    retriever = KeywordRetriever(docs=[Document(page_content="Paris is in France", id="d1"),
                                       Document(page_content="Oslo is in Norway", id="d2")])
    docs = retriever.invoke("Paris")
    assert [d.id for d in docs] == ["d1"]
    span = cap_content.one(name="retrieval KeywordRetriever")
    assert span.attributes[sc.GEN_AI_OPERATION_NAME] == sc.OP_RETRIEVAL
    assert span.attributes[sc.GEN_AI_DATA_SOURCE_ID] == "KeywordRetriever"
    assert span.attributes[sc.GEN_AI_RETRIEVAL_QUERY_TEXT] == "Paris"
    assert json.loads(span.attributes[sc.GEN_AI_RETRIEVAL_DOCUMENTS]) == [{"content": "Paris is in France", "id": "d1"}]


def test_errors_mark_the_failing_spans_and_propagate(cap):
    def boom(x):
        raise KeyError("missing")

    chain = RunnableLambda(lambda x: x) | RunnableLambda(boom)
    with pytest.raises(KeyError):
        chain.invoke(1)
    root = cap.one(name="invoke_workflow RunnableSequence")
    assert root.status.status_code is StatusCode.ERROR
    assert root.attributes[sc.ERROR_TYPE] == "KeyError"
    (failed,) = named(cap, "boom")
    assert failed.status.status_code is StatusCode.ERROR
    with pytest.raises(ValueError, match="no weather"):
        broken_tool.invoke({"city": "Paris"})
    span = cap.one(name="execute_tool broken_tool")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == "ValueError"
    assert len(handler().runs) == 0


def test_a_failing_model_run_is_an_error_llm_span(cap):
    class Failing(PricedFake):
        def _generate(self, *args, **kwargs):
            raise TimeoutError("model timed out")

    with pytest.raises(TimeoutError):
        Failing(responses=[]).invoke("hi")
    call = cap.assert_llm_call(provider="openai", model=MODEL, finish_reasons=("error",))
    assert call.span.status.status_code is StatusCode.ERROR
    assert call.attributes[sc.ERROR_TYPE] == "TimeoutError"


# --- streams --------------------------------------------------------------------------------------------------

def test_streamed_model_run_records_chunks_and_time_to_first_chunk(cap):
    model = GenericFakeChatModel(messages=iter([AIMessage(content="one two three four")]))
    chunks = list(model.stream("hi"))
    assert "".join(c.content for c in chunks) == "one two three four"
    call = cap.assert_llm_call(operation="chat", stream=True)
    assert call.attributes[sc.LLMOBS_STREAM_CHUNKS] == len(chunks)
    assert 0 <= call.attributes[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] <= (call.span.end_time - call.span.start_time) / 1e9
    assert len(handler().runs) == 0


def test_a_stream_abandoned_mid_way_ends_its_spans(cap):
    chain = RunnableLambda(lambda x: x) | GenericFakeChatModel(messages=iter([AIMessage(content="a b c d e f")]))
    stream = chain.stream("hi")
    next(stream)
    stream.close()
    # LangChain ends a run whose stream the consumer closed as a success (with the output so far)
    root = cap.one(name="invoke_workflow RunnableSequence")
    assert root.status.status_code is not StatusCode.ERROR
    call = cap.assert_llm_call(stream=True)
    assert call.attributes[sc.LLMOBS_STREAM_CHUNKS] >= 1
    assert parent_of(cap, call.span) is root
    assert len(handler().runs) == 0
    assert trace.get_current_span() is trace.INVALID_SPAN


# --- LangGraph -------------------------------------------------------------------------------------------------

def test_langgraph_agent_graph_nodes_tools_and_models(cap):
    graph = agent_graph(PricedFake(responses=tool_call_then_answer()))
    out = graph.invoke({"messages": [("user", "weather in Paris?")]})
    assert out["messages"][-1].content == "It is sunny in Paris"

    root = cap.one(name="invoke_agent weather_agent")
    assert root.attributes[sc.GEN_AI_AGENT_NAME] == "weather_agent"
    assert root.attributes[sc.LLMOBS_SPAN_KIND] == sc.KIND_AGENT
    nodes = [s for s in cap.spans if sc.LLMOBS_LANGGRAPH_NODE in s.attributes]
    assert sorted((s.attributes[sc.LLMOBS_LANGGRAPH_STEP], s.name) for s in nodes) == [
        (1, "agent"), (2, "tools"), (3, "agent")]
    assert all(parent_of(cap, s) is root for s in nodes)
    tool_span = cap.one(name="execute_tool get_weather")
    # langchain-core passes the model's tool call id to the callbacks since 1.1 (not in 1.0)
    passes_call_id = "tool_call_id=tool_call_id" in inspect.getsource(BaseTool.run)
    assert tool_span.attributes.get(sc.GEN_AI_TOOL_CALL_ID) == ("call_1" if passes_call_id else None)
    assert tool_span.attributes[sc.GEN_AI_TOOL_DESCRIPTION] == "Weather for a city."
    assert parent_of(cap, tool_span).name == "tools"
    calls = cap.llm_calls()
    assert [(c.input_tokens, c.output_tokens) for c in calls] == [(30, 8), (50, 6)]
    assert calls[0].finish_reasons == ("tool_call",)
    for c in calls:  # each model call nests under its agent node
        ancestor = parent_of(cap, c.span)
        while ancestor is not None and sc.LLMOBS_LANGGRAPH_NODE not in ancestor.attributes:
            ancestor = parent_of(cap, ancestor)
        assert ancestor is not None and ancestor.name == "agent"
    # LangGraph's hidden internal runs (channel writes, branches) get no span
    assert not any(s.name.startswith(("ChannelWrite", "_write", "Branch")) for s in cap.spans)
    assert len(handler().runs) == 0


def test_a_subgraph_is_an_agent_span_inside_its_node(cap):
    inner = agent_graph(PricedFake(responses=[answer("inner done")]))  # compiled with name="weather_agent"
    outer = StateGraph(MessagesState)
    outer.add_node("researcher", inner)
    outer.add_edge(START, "researcher")
    outer.add_edge("researcher", END)
    outer.compile(name="supervisor").invoke({"messages": [("user", "go")]})
    root = cap.one(name="invoke_agent supervisor")
    (researcher,) = [s for s in cap.spans if s.attributes.get(sc.LLMOBS_LANGGRAPH_NODE) == "researcher"]
    assert researcher.attributes[sc.LLMOBS_SPAN_KIND] == sc.KIND_TASK
    assert parent_of(cap, researcher) is root
    sub = cap.one(name="invoke_agent weather_agent")
    assert sub.attributes[sc.GEN_AI_AGENT_NAME] == "weather_agent"
    assert sub.attributes[sc.LLMOBS_SPAN_KIND] == sc.KIND_AGENT
    assert parent_of(cap, sub) is researcher
    (inner_agent,) = [s for s in cap.spans if s.attributes.get(sc.LLMOBS_LANGGRAPH_NODE) == "agent"]
    assert parent_of(cap, inner_agent) is sub
    assert cap.metric_points(sc.METRIC_INVOKE_AGENT_DURATION, **{sc.GEN_AI_AGENT_NAME: "weather_agent"})


def test_graph_interrupt_is_not_an_error(cap):
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.types import interrupt

    def ask(state):
        return {"messages": [("user", interrupt("approve?"))]}

    graph = StateGraph(MessagesState)
    graph.add_node("ask", ask)
    graph.add_edge(START, "ask")
    app = graph.compile(checkpointer=InMemorySaver(), name="approval")
    app.invoke({"messages": [("user", "start")]}, {"configurable": {"thread_id": "t1"}})
    assert not [s.name for s in cap.spans if s.status.status_code is StatusCode.ERROR]
    (node,) = [s for s in cap.spans if s.attributes.get(sc.LLMOBS_LANGGRAPH_NODE) == "ask"]
    assert node.attributes[sc.LLMOBS_LANGGRAPH_INTERRUPT] == "GraphInterrupt"
    assert len(handler().runs) == 0


def test_a_raw_sdk_call_inside_a_node_nests_under_the_node(cap_both, server):
    client = w.client(server)

    def summarize(state):
        reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
        return {"messages": [("assistant", reply.choices[0].message.content)]}

    graph = StateGraph(MessagesState)
    graph.add_node("summarize", summarize)
    graph.add_edge(START, "summarize")
    graph.compile(name="raw").invoke({"messages": [("user", "go")]})
    call = cap_both.assert_llm_call(provider="openai", attributes={sc.LLMOBS_INTEGRATION: "openai"})
    assert parent_of(cap_both, call.span).name == "summarize"


# --- with the provider integration: one LLM span per model call --------------------------------------------------

def test_chat_openai_is_recorded_once_by_the_provider_layer(cap_both, server):
    chain = ChatPromptTemplate.from_messages([("human", "{q}")]) | chat_openai(server, temperature=0.2)
    result = chain.invoke({"q": "Say hello"})
    assert isinstance(result, AIMessage)
    call = cap_both.assert_llm_call(
        operation="chat", provider="openai", model=MODEL, cost_status="priced",
        attributes={sc.LLMOBS_INTEGRATION: "openai", sc.SERVER_ADDRESS: "api.openai.com"},
    )
    assert call.input_tokens and call.output_tokens
    assert parent_of(cap_both, call.span).name == "invoke_workflow RunnableSequence"
    assert len(server.requests) == 1
    assert len(handler().runs) == 0


def test_chat_openai_async_stream_and_batch_one_span_each(cap_both, server):
    model = chat_openai(server)

    async def main():
        await model.ainvoke("a")
        async for _ in model.astream("b"):
            pass

    asyncio.run(main())
    list(model.stream("c"))
    model.batch(["d", "e"])
    model.generate([[HumanMessage("f")], [HumanMessage("g")]])
    calls = cap_both.llm_calls()
    assert len(calls) == len(server.requests) == 7
    assert {c.attributes[sc.LLMOBS_INTEGRATION] for c in calls} == {"openai"}
    streamed = [c for c in calls if c.stream]
    assert len(streamed) == 2 and all(c.input_tokens for c in streamed)  # stream_usage: usage arrives
    assert len(handler().runs) == 0


def test_langgraph_agent_on_chat_openai(cap_both, server):
    server.add_json(w.chat_completion(MODEL, [None], tool_calls=[w.tool_call("get_weather", {"city": "Paris"})],
                                      usage=w.completion_usage(40, 9)))
    server.add_json(w.chat_completion(MODEL, ["Sunny in Paris."], usage=w.completion_usage(60, 5)))
    graph = agent_graph(chat_openai(server))
    out = graph.invoke({"messages": [("user", "weather in Paris?")]})
    assert out["messages"][-1].content == "Sunny in Paris."
    calls = cap_both.llm_calls()
    assert [(c.provider, c.input_tokens, c.output_tokens) for c in calls] == [("openai", 40, 9), ("openai", 60, 5)]
    assert {c.attributes[sc.LLMOBS_INTEGRATION] for c in calls} == {"openai"}
    assert cap_both.one(name="execute_tool get_weather")
    assert len(handler().runs) == 0


def test_a_failing_provider_call_is_one_error_span(cap_both, server):
    server.add_error(500, "boom")
    with pytest.raises(Exception):
        chat_openai(server).invoke("hi")
    (call,) = cap_both.llm_calls()
    assert call.attributes[sc.LLMOBS_INTEGRATION] == "openai"
    assert call.span.status.status_code is StatusCode.ERROR


# --- robustness ---------------------------------------------------------------------------------------------------

def test_maps_are_empty_after_ten_thousand_runs_with_errors_and_cancellations(cap):
    from llmobs._recorder import _model_scope

    scope_before = _model_scope.get()
    ok = RunnableLambda(lambda x: x + 1)

    def fail(x):
        raise RuntimeError("nope")

    bad = RunnableLambda(lambda x: x) | RunnableLambda(fail)
    model = PricedFake(responses=[answer()] * 4)
    for i in range(1000):
        assert ok.invoke(i) == i + 1
        with pytest.raises(RuntimeError):
            bad.invoke(i)
        stream = (ok | RunnableLambda(str) | GenericFakeChatModel(messages=iter([AIMessage(content="x y z")]))).stream(1)
        next(stream, None)
        stream.close()

    async def slow(x):
        await asyncio.sleep(10)

    async def cancelled_runs():
        chain = RunnableLambda(lambda x: x) | RunnableLambda(slow)
        for _ in range(50):
            tasks = [asyncio.ensure_future(chain.ainvoke(1)) for _ in range(50)]
            await asyncio.sleep(0.01)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await model.ainvoke("x")

    asyncio.run(cancelled_runs())
    assert len(handler().runs) == 0
    assert len(cap.spans) > 10_000
    cancelled = [s for s in cap.spans if str(s.attributes.get(sc.ERROR_TYPE, "")).endswith("CancelledError")]
    assert len(cancelled) >= 2500  # each cancelled chain (and its slow step) ended as an error
    assert _model_scope.get() is scope_before  # every model run's scope was closed


def test_the_run_table_is_bounded_even_if_ends_never_come():
    from llmobs._frameworks import RunTable

    closed = []
    table = RunTable(closed.append, limit=100)
    for i in range(1000):
        table.put(i, f"run {i}")
    assert len(table) == 100
    assert closed[:2] == ["run 0", "run 1"] and len(closed) == 900


def test_a_fault_in_the_handler_never_reaches_the_app(cap, monkeypatch):
    from llmobs.instrumentation import langchain as lc

    def broken(*args, **kwargs):
        raise RuntimeError("llmobs bug")

    monkeypatch.setattr(lc, "_model_call", broken)
    monkeypatch.setattr(lc, "SpanHandle", broken)
    chain = RunnableLambda(lambda x: [SystemMessage("s"), HumanMessage(x)]) | PricedFake(responses=[answer("ok")])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not even a warning from LangChain's callback error logging
        assert chain.invoke("hi").content == "ok"
    assert cap.llm_calls() == []


def test_uninstrument_removes_the_handler(llmobs_capture):
    from langchain_core.tracers.context import _configure_hooks

    before = len(_configure_hooks)
    llmobs.instrument(integrations=["langchain"])
    assert len(_configure_hooks) == before + 1
    llmobs.uninstrument()
    assert len(_configure_hooks) == before
    PricedFake(responses=[answer()]).invoke("hi")
    assert llmobs_capture.spans == []


def test_import_llmobs_does_not_import_langchain():
    import subprocess
    import sys

    code = "import sys, llmobs; llmobs.instrument(integrations=['langchain']); print('langchain_core' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none", "PATH": ""})
    assert out.stdout.strip() == "False"


@pytest.fixture
def cap_anthropic(llmobs_capture):
    yield from _instrument(llmobs_capture, "langchain", "anthropic")


def test_chat_anthropic_is_recorded_once_by_the_provider_layer(cap_anthropic):
    langchain_anthropic = pytest.importorskip("langchain_anthropic")
    from tests.support import anthropic_wire as aw

    server = aw.MockAnthropic()
    server.add_message(aw.message(aw.MODEL, usage_=aw.usage(400, 20, cache_read=100, cache_write=0)))
    server.add_stream(aw.stream_events(aw.message(aw.MODEL, usage_=aw.usage(30, 5))))
    model = langchain_anthropic.ChatAnthropic(model=aw.MODEL, max_tokens=64, api_key="sk-ant-test", max_retries=0,
                                              base_url=aw.BASE_URL)
    model.__dict__["_client"] = aw.client(server)  # fill its cached client: the SDK on the mock transport
    chain = RunnableLambda(lambda x: x) | model
    assert chain.invoke("hi").content
    assert "".join(c.content if isinstance(c.content, str) else "" for c in model.stream("hi")) is not None
    calls = cap_anthropic.llm_calls()
    assert [(c.provider, c.input_tokens, c.cache_read_input_tokens, c.stream) for c in calls] == [
        ("anthropic", 500, 100, False), ("anthropic", 30, 0, True)]
    assert {c.attributes[sc.LLMOBS_INTEGRATION] for c in calls} == {"anthropic"}
    assert parent_of(cap_anthropic, calls[0].span).name == "invoke_workflow RunnableSequence"
    assert len(handler().runs) == 0


def test_parallel_nodes_sync_and_async_nest_their_model_calls(cap_both, server):
    model = chat_openai(server)

    def branch(name):
        def node(state):
            return {"messages": [model.invoke(f"{name} question")]}

        async def anode(state):
            return {"messages": [await model.ainvoke(f"{name} question")]}

        return node, anode

    def build(use_async):
        graph = StateGraph(MessagesState)
        for name in ("left", "right"):
            graph.add_node(name, branch(name)[use_async])
            graph.add_edge(START, name)
            graph.add_edge(name, END)
        return graph.compile(name="fan_out")

    build(False).invoke({"messages": [("user", "go")]})
    asyncio.run(build(True).ainvoke({"messages": [("user", "go")]}))
    calls = cap_both.llm_calls()
    assert len(calls) == len(server.requests) == 4
    for call in calls:  # each model call nests under the node that made it, in threads and in tasks alike
        node = parent_of(cap_both, call.span)
        assert node.attributes[sc.LLMOBS_LANGGRAPH_NODE] in ("left", "right")
        assert parent_of(cap_both, node).name == "invoke_agent fan_out"
        assert node.start_time <= call.span.start_time <= call.span.end_time <= node.end_time
    assert sorted(parent_of(cap_both, c.span).name for c in calls) == ["left", "left", "right", "right"]
    assert len(handler().runs) == 0
