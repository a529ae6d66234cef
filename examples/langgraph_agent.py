"""A LangGraph tool-using agent, traced by llmobs with no change to the agent's code.

    pip install 'llmobs[langchain]' langgraph langchain-openai
    python examples/langgraph_agent.py

Offline (no OPENAI_API_KEY): the model is llmobs's fake LLM server (it calls the weather tool when asked about
the weather, then answers), and the bundled collector prints the trace: the graph as an ``invoke_agent`` span,
one span per node, the tool as ``execute_tool``, and each model call once, recorded by the openai integration
with its tokens and cost. With OPENAI_API_KEY set, the same code runs against OpenAI.
"""

from __future__ import annotations

from _offline import local_stack
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition


@tool
def get_weather(city: str) -> str:
    """The current weather in a city."""
    return f"Sunny and 21 degrees in {city}"


def build_agent(model: ChatOpenAI):
    tools = [get_weather]
    bound = model.bind_tools(tools)

    def call_model(state: MessagesState) -> dict:
        return {"messages": [bound.invoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("agent", call_model)
    graph.add_node("tools", ToolNode(tools))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)  # tool calls -> "tools", else the end
    graph.add_edge("tools", "agent")
    return graph.compile(name="weather-agent")


def main() -> None:
    with local_stack("langgraph-agent-example") as stack:
        model = ChatOpenAI(model="gpt-4o-mini", base_url=stack.openai_base_url,
                           api_key=None if stack.fake_url is None else "offline", stream_usage=True)
        agent = build_agent(model)
        result = agent.invoke({"messages": [("user", "What is the weather in Paris?")]})
        print("agent answered:", result["messages"][-1].content)


if __name__ == "__main__":
    main()
