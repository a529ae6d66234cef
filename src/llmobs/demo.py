"""The llmobs demo: an instrumented app exports over real OTLP to a local receiver, which prints what it saw.

Run it with ``make demo`` (or ``llmobs demo`` once llmobs is installed). No network, no keys:
the "models" here are simulated with ``llmobs.llm_call``, the manual API for any model an integration does
not cover. The spans, metrics and costs are exactly what an integration produces.
"""

from __future__ import annotations

import time

import llmobs
from llmobs._devserver import DevServer


@llmobs.tool
def get_order_status(order_id: str) -> str:
    """Look up an order in the shop database."""
    time.sleep(0.005)
    return f"order {order_id}: shipped"


@llmobs.task
def classify(question: str) -> str:
    with llmobs.llm_call(provider="openai", model="gpt-4o-mini", temperature=0.0, max_tokens=5,
                         server_address="api.openai.com", server_port=443) as call:
        time.sleep(0.03)
        call.set_response(id="chatcmpl-demo1", model="gpt-4o-mini-2024-07-18", finish_reasons=["stop"])
        call.record_usage(input_tokens=1200, output_tokens=3, cache_read_input_tokens=1024)
    return "order_status"


@llmobs.task
def answer_streaming(question: str, facts: str) -> str:
    words = ["Your", " order", " has", " shipped", " and", " arrives", " Friday."]
    with llmobs.llm_call(provider="anthropic", model="claude-sonnet-4-5", stream=True, max_tokens=256,
                         server_address="api.anthropic.com", server_port=443) as call:
        time.sleep(0.12)  # time to first token
        out = []
        for word in words:
            call.record_chunk()
            out.append(word)
            time.sleep(0.01)
        call.set_response(id="msg_demo", model="claude-sonnet-4-5-20250929", finish_reasons=["stop"])
        call.record_usage(input_tokens=2300, output_tokens=len(words), cache_read_input_tokens=2000,
                          cache_write_input_tokens=200)
    return "".join(out)


@llmobs.task
def second_opinion(question: str) -> str | None:
    try:
        with llmobs.llm_call(provider="x_ai", model="grok-4", server_address="api.x.ai", server_port=443):
            time.sleep(0.02)
            raise TimeoutError("upstream timed out")
    except TimeoutError:
        return None


@llmobs.task
def local_summary(text: str) -> str:
    # A local model through a raw HTTP call: no price is known, so cost says "unpriced", never $0.
    with llmobs.llm_call(provider="ollama", model="llama3.2", server_address="localhost",
                         server_port=11434) as call:
        time.sleep(0.05)
        call.record_usage(input_tokens=300, output_tokens=40)
    return "summary"


@llmobs.workflow(name="support-bot")
def handle(question: str) -> str:
    kind = classify(question)
    facts = get_order_status("A-1042") if kind == "order_status" else ""
    reply = answer_streaming(question, facts)
    second_opinion(question)
    local_summary(reply)
    llmobs.score("helpfulness", 0.9, comment="resolved on first reply")
    return reply


def main() -> None:
    with DevServer() as server:
        print(f"llmobs demo: OTLP receiver on {server.endpoint}")
        llmobs.instrument(service_name="llmobs-demo", endpoint=server.endpoint)
        with llmobs.context(user_id="user-42", session_id="session-7", tags=["demo"]):
            reply = handle("Where is my order A-1042?")
        print(f"app replied: {reply!r}\n")
        llmobs.flush(timeout=10)
        server.sink.wait_for_spans(11, timeout=10)
        print("Trace received over OTLP/HTTP:")
        print(server.sink.tree())
        print("\nPer model (* = some calls unpriced):")
        print(server.sink.summary())
        print(f"\nmetrics received: {', '.join(sorted(server.sink.metric_names)) or '(none yet)'}")
        llmobs.shutdown(timeout=5)


if __name__ == "__main__":
    main()
