"""The llmobs demo: an instrumented app, the offline fake LLM server and the reference collector, end to end.

Run it with ``make demo`` (or ``llmobs demo`` once llmobs is installed with the ``openai`` extra; with the
``anthropic`` extra too, the polishing step uses the real anthropic SDK). No network
and no keys: ``llmobs.fake_llm`` answers the real openai SDK with the API's own wire formats, llmobs exports
over real OTLP/HTTP to a collector on a free port, and the demo prints what the collector stored: the trace
as a tree and the per-model report (``llmobs report`` reads the same data).

The app is a small support bot: a classification call, a tool-calling turn, a streamed answer, an
embedding, a provider that answers 429, a polishing pass by an Anthropic model (the real anthropic SDK, with
a cached system prompt: cache reads and writes priced per part), and a call recorded with ``llmobs.llm_call``
(the manual API for models no integration covers, here a local Ollama model).
"""

from __future__ import annotations

import json
import tempfile
import time
from typing import Any

import llmobs

TOOLS = [{"type": "function", "function": {
    "name": "get_order_status", "description": "Look up an order",
    "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
}}]


@llmobs.tool
def get_order_status(order_id: str) -> str:
    """Look up an order in the shop database."""
    time.sleep(0.005)
    return f"order {order_id}: shipped, arrives Friday"


STYLE_GUIDE = "House style: short sentences, no jargon, always name the next step. " * 120


def build_app(openai_client: Any, xai_client: Any, anthropic_client: Any = None) -> Any:
    @llmobs.task
    def classify(question: str) -> str:
        reply = openai_client.chat.completions.create(
            model="gpt-4o-mini", temperature=0, max_tokens=5,
            messages=[{"role": "system", "content": "Classify the request."}, {"role": "user", "content": question}],
        )
        return reply.choices[0].message.content or ""

    @llmobs.agent(name="order-agent")
    def look_up(question: str) -> str:
        messages: list[Any] = [{"role": "user", "content": question}]
        first = openai_client.chat.completions.create(
            model="gpt-4o-mini", messages=messages, tools=TOOLS,
            tool_choice={"type": "function", "function": {"name": "get_order_status"}},
        )
        message = first.choices[0].message
        messages.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls or []:
            result = get_order_status(**json.loads(call.function.arguments))
            messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
        final = openai_client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS)
        return final.choices[0].message.content or ""

    @llmobs.task
    def answer_streaming(question: str, facts: str) -> str:
        parts = []
        stream = openai_client.chat.completions.create(
            model="gpt-4.1", stream=True, stream_options={"include_usage": True},
            messages=[{"role": "user", "content": f"{question}\nFacts: {facts}"}],
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
        return "".join(parts)

    @llmobs.task
    def remember(text: str) -> int:
        return len(openai_client.embeddings.create(model="text-embedding-3-small", input=text).data[0].embedding)

    @llmobs.task
    def second_opinion(question: str) -> str | None:
        import openai

        try:  # the fake server answers 429 for this model: the span is an ERROR with error.type
            reply = xai_client.chat.completions.create(model="grok-4-error-429",
                                                        messages=[{"role": "user", "content": question}])
            return reply.choices[0].message.content
        except openai.RateLimitError:
            return None

    @llmobs.task
    def polish(text: str) -> str:
        if anthropic_client is not None:  # the long style guide is cached: read from the cache the 2nd time
            for _ in range(2):
                with anthropic_client.messages.stream(
                    model="claude-sonnet-4-6", max_tokens=256,
                    system=[{"type": "text", "text": STYLE_GUIDE, "cache_control": {"type": "ephemeral"}}],
                    messages=[{"role": "user", "content": f"Polish: {text}"}],
                ) as stream:
                    stream.get_final_text()
        # A model no integration covers, recorded by hand with exactly what an integration records.
        with llmobs.llm_call(provider="ollama", model="llama3.2", server_address="localhost",
                             server_port=11434) as call:  # no price known: "unpriced", never $0
            time.sleep(0.02)
            call.record_usage(input_tokens=300, output_tokens=40)
        return text

    @llmobs.workflow(name="support-bot")
    def handle(question: str) -> str:
        classify(question)
        facts = look_up(question)
        reply = answer_streaming(question, facts)
        remember(reply)
        second_opinion(question)
        reply = polish(reply)
        llmobs.score("helpfulness", 0.9, comment="resolved on first reply")
        return reply

    return handle


def main() -> None:
    try:
        import openai
    except ImportError:
        raise SystemExit("the demo drives the real openai SDK: pip install 'llmobs[openai]'") from None
    from llmobs.collector import Collector, queries
    from llmobs.collector.text import report_table, tree_text
    from llmobs.fake_llm import FakeLLMServer
    from llmobs.instrumentation.openai import PROVIDER_HOSTS

    with tempfile.TemporaryDirectory(prefix="llmobs-demo-") as data_dir, \
            Collector(data_dir, http_port=0, grpc_port=None) as collector, \
            FakeLLMServer(latency=0.08, chunk_delay=0.01) as fake:
        print(f"llmobs demo: collector on {collector.http_endpoint}, fake LLM server on {fake.url}")
        # One fake server plays two providers: named by the host the client uses.
        PROVIDER_HOSTS[f"127.0.0.1:{fake.port}"] = "openai"
        PROVIDER_HOSTS[f"localhost:{fake.port}"] = "x_ai"
        openai_client = openai.OpenAI(base_url=f"http://127.0.0.1:{fake.port}/v1", api_key="demo", max_retries=0)
        xai_client = openai.OpenAI(base_url=f"http://localhost:{fake.port}/v1", api_key="demo", max_retries=0)
        try:
            import anthropic

            anthropic_client = anthropic.Anthropic(base_url=f"http://127.0.0.1:{fake.port}", api_key="demo",
                                                   max_retries=0)
        except ImportError:  # installed without the anthropic extra: that step is skipped
            anthropic_client = None
        llmobs.instrument(service_name="llmobs-demo", endpoint=collector.http_endpoint)
        handle = build_app(openai_client, xai_client, anthropic_client)
        with llmobs.context(user_id="user-42", session_id="session-7", tags=["demo"]):
            reply = handle("Where is my order A-1042?")
        print(f"app replied: {reply!r}\n")
        llmobs.flush(timeout=10)
        conn = collector.store.reader()
        deadline = time.monotonic() + 10
        while collector.store.count() < 16 + (anthropic_client is not None) and time.monotonic() < deadline:
            time.sleep(0.05)
        traces = queries.list_traces(conn, queries.Filters(service="llmobs-demo"), limit=1)
        print("The trace, as stored by the collector (llmobs trace <id>):")
        print(tree_text(queries.get_trace(conn, traces[0]["trace_id"]) or []))
        print("\nPer provider and model (llmobs report):")
        print(report_table(queries.report(conn, queries.Filters(service="llmobs-demo")), ("provider", "model")))
        print("\nTo keep a collector running: `llmobs collector`, then point OTEL_EXPORTER_OTLP_ENDPOINT at it.")
        llmobs.shutdown(timeout=5)


if __name__ == "__main__":
    main()
