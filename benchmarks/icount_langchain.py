"""Instructions the langchain integration adds per chain, per LangGraph agent run and per ChatOpenAI call,
counted by valgrind's callgrind.

    python benchmarks/icount_langchain.py      # needs valgrind (Debian package), a few minutes

Same method as benchmarks/icount_openai.py: for each operation a fresh interpreter runs N=30 and N=90
calls and one call costs (instructions(90) - instructions(30)) / 60. Operations, each uninstrumented
(``*_base``: llmobs not instrumented at all) and instrumented:

* ``chain``: prompt | fake chat model (usage reported) | parser: 4 runs, so 3 task/workflow spans and the
  LLM span llmobs builds from LangChain's report;
* ``graph``: a LangGraph agent (agent node, tool node, agent node; two fake model calls and a tool): 9 spans;
* ``openai``: ``ChatOpenAI.invoke`` on the openai SDK over a mock transport, with the langchain and openai
  integrations on: the provider span is the model's span, the handler only scopes the run.

``*_noop`` runs register a LangChain handler that does nothing: the part of the overhead that is LangChain's
own cost of dispatching callbacks to any handler, which llmobs cannot avoid.

Spans go to an exporter that drops them; the metrics queue is cleared instead of recorded; the garbage
collector is off during the counted calls.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from icount import integration_script, measure, save

SCRIPT = integration_script("""
    import collections, warnings
    warnings.simplefilter("ignore")
    from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI
    from langgraph.graph import START, MessagesState, StateGraph
    from langgraph.prebuilt import ToolNode, tools_condition
    from tests.support import openai_wire as w

    name = os.environ["FN"]
    q = (collections.deque() if name.endswith(("_base", "_noop")) else instrument("langchain") if name != "openai"
         else None)
    if name.endswith("_noop"):  # LangChain's own cost of calling any handler: a handler that does nothing
        from contextvars import ContextVar
        from langchain_core.callbacks import BaseCallbackHandler
        from langchain_core.tracers.context import register_configure_hook

        class Noop(BaseCallbackHandler):
            run_inline = True

        register_configure_hook(ContextVar("noop", default=Noop()), True)
    if name in ("openai", "openai_base"):
        tp = TracerProvider(); tp.add_span_processor(SimpleSpanProcessor(DropExporter()))
        if name == "openai":
            llmobs.instrument(tracer_provider=tp, meter_provider=MeterProvider(), integrations=["langchain", "openai"])
            _cost.wait_ready(600)
            rt = _runtime.get(); rt.metrics.stop(); q = rt.metrics._queue

    class Model(FakeMessagesListChatModel):
        def bind_tools(self, tools, **kwargs):
            return self

    usage = {"input_tokens": 12, "output_tokens": 4, "total_tokens": 16}
    chain = (ChatPromptTemplate.from_messages([("system", "Be brief."), ("human", "{q}")])
             | Model(responses=[AIMessage(content="Paris", usage_metadata=usage)]) | StrOutputParser())

    @tool
    def get_weather(city: str) -> str:
        \"\"\"Weather for a city.\"\"\"
        return "sunny"

    agent_model = Model(responses=[
        AIMessage(content="", tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "c1"}],
                  usage_metadata=usage),
        AIMessage(content="Sunny.", usage_metadata=usage)])
    graph = StateGraph(MessagesState)
    graph.add_node("agent", lambda state: {"messages": [agent_model.invoke(state["messages"])]})
    graph.add_node("tools", ToolNode([get_weather]))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")
    agent = graph.compile(name="agent")

    server = w.MockOpenAI()
    transport = w.HTTP.MockTransport(server.handler)
    chat = ChatOpenAI(model="gpt-4o-mini", api_key="sk", base_url=w.DEFAULT_BASE_URL, max_retries=0,
                      http_client=w.HTTP.Client(transport=transport))

    def run_chat():
        chat.invoke("Say hello")
        server.requests.clear()

    ops = {"chain": lambda: chain.invoke({"q": "Capital of France?"}),
           "graph": lambda: agent.invoke({"messages": [("user", "weather in Paris?")]}),
           "openai": run_chat}
    fn = ops[name.removesuffix("_base").removesuffix("_noop")]
""")

OPS = {
    "chain_base": "prompt | model | parser, uninstrumented",
    "chain": "prompt | model | parser, instrumented",
    "graph_base": "LangGraph agent (2 model calls, 1 tool), uninstrumented",
    "graph": "LangGraph agent (2 model calls, 1 tool), instrumented",
    "chain_noop": "prompt | model | parser, a do-nothing LangChain handler",
    "graph_noop": "LangGraph agent, a do-nothing LangChain handler",
    "openai_base": "ChatOpenAI.invoke, uninstrumented",
    "openai": "ChatOpenAI.invoke, langchain + openai instrumented",
}


def main() -> None:
    results = measure(SCRIPT, OPS, 30, 90)
    lines = []
    for op, spans in (("chain", 4), ("graph", 9), ("openai", 1)):
        added = results[op] - results[f"{op}_base"]
        results[f"{op}_overhead"] = added
        line = f"{op}: +{added:,.0f} ({added / results[f'{op}_base']:.1%}"
        if f"{op}_noop" in results:  # what llmobs adds beyond LangChain's dispatch to a handler
            own = results[op] - results[f"{op}_noop"]
            results[f"{op}_llmobs_own"] = own
            line += f"; llmobs's own share {own:,.0f}, {own / spans:,.0f} per span"
        lines.append(line + ")")
    print("\n" + "; ".join(lines))
    save("icount_langchain", results)


if __name__ == "__main__":
    main()
