"""Tool calling with the openai SDK and llmobs decorators: the model asks for a tool, the app runs it, the
model answers. The trace shows the agent, both model calls (the first finishing with ``tool_call``) and the
tool execution between them.

    pip install 'llmobs[openai]'
    python examples/openai_tools.py

Offline (no OPENAI_API_KEY) the fake LLM server plays the model: it calls the tool named in the question,
with arguments made from the tool's JSON schema, then answers from the tool's result.
"""

from __future__ import annotations

import json

import openai
from _offline import local_stack

import llmobs

TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_stock",
        "description": "How many units of a product a store has in stock.",
        "parameters": {
            "type": "object",
            "properties": {"product_id": {"type": "string"}, "city": {"type": "string"}},
            "required": ["product_id", "city"],
        },
    },
}]


@llmobs.tool  # an execute_tool span; the docstring becomes gen_ai.tool.description
def get_stock(product_id: str, city: str) -> str:
    """How many units of a product a store has in stock."""
    return json.dumps({"product_id": product_id, "city": city, "units": 7})


@llmobs.agent(name="stock-agent")  # an invoke_agent span around the whole loop
def answer(client: openai.OpenAI, question: str) -> str:
    messages: list = [{"role": "user", "content": question}]
    for _ in range(5):  # model -> tools -> model ..., until the model answers in text
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS)
        message = reply.choices[0].message
        if not message.tool_calls:
            return message.content or ""
        messages.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls:
            result = get_stock(**json.loads(call.function.arguments))
            messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    return "(gave up)"


def main() -> None:
    with local_stack("openai-tools-example", capture_content=True,
                     details=("gen_ai.response.finish_reasons", "gen_ai.tool.description",
                              "gen_ai.tool.call.arguments", "gen_ai.tool.call.result")) as stack:
        offline = {"base_url": stack.openai_base_url, "api_key": "offline"} if stack.offline else {}
        client = openai.OpenAI(**offline)
        print("agent answered:", answer(client, "Check get_stock: is product 12345 in stock at the store in Lyon?"))


if __name__ == "__main__":
    main()
