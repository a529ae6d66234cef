"""Tracing your own code with llmobs's decorators: ``@llmobs.workflow``, ``@llmobs.agent``, ``@llmobs.task``,
``@llmobs.tool`` and ``llmobs.span(...)`` for a block. Each becomes a span (``invoke_workflow <name>``,
``invoke_agent <name>``, ``execute_tool <name>``, ``retrieval <name>``, or the task's name), the LLM calls
made inside become its children, and they work on sync and async functions, generators and methods.

    pip install 'llmobs[openai]'
    python examples/decorators.py

Content capture is on here, so each span also records its inputs and output (``llmobs.input`` /
``llmobs.output``; a tool's ``gen_ai.tool.call.arguments`` / ``result``). Offline without OPENAI_API_KEY.
"""

from __future__ import annotations

import asyncio

import openai
from _offline import local_stack

import llmobs

CATALOG = ["city bike", "gravel bike", "bike lock", "rain jacket", "helmet"]


@llmobs.tool  # execute_tool search_catalog; the docstring's first line becomes gen_ai.tool.description
def search_catalog(query: str) -> list[str]:
    """Find catalog items sharing a word with the query."""
    words = set(query.lower().split())
    return [item for item in CATALOG if words & set(item.split())]


class ShopAssistant:
    def __init__(self, client: openai.OpenAI, aclient: openai.AsyncOpenAI) -> None:
        self.client, self.aclient = client, aclient

    @llmobs.workflow(name="answer-customer")  # the root of the trace
    def answer(self, question: str) -> str:
        with llmobs.span("catalog", kind="retrieval") as span:  # a span around a block
            products = search_catalog(question)
            span.set_output(products)
        reply = self.draft(question, products)
        reply += " " + asyncio.run(self.upsell(products))  # async: the context follows into the event loop
        return " ".join(self.words(reply))

    @llmobs.task(name="draft-reply")  # `self` is never recorded
    def draft(self, question: str, products: list[str]) -> str:
        reply = self.client.chat.completions.create(model="gpt-4o-mini", messages=[
            {"role": "system", "content": f"Products in stock: {', '.join(products)}"},
            {"role": "user", "content": question}])
        return reply.choices[0].message.content or ""

    @llmobs.agent(name="upsell-agent")
    async def upsell(self, products: list[str]) -> str:
        reply = await self.aclient.chat.completions.create(model="gpt-4o-mini", messages=[
            {"role": "user", "content": f"Suggest one accessory for: {', '.join(products)}"}])
        return reply.choices[0].message.content or ""

    @llmobs.task  # a generator: the span covers the whole iteration, and records what was yielded
    def words(self, text: str):
        yield from text.split()


def main() -> None:
    with local_stack("decorators-example", capture_content=True,
                     details=("llmobs.span.kind", "llmobs.input", "gen_ai.tool.description", "gen_ai.tool.call.arguments",
                              "gen_ai.tool.call.result")) as stack:
        offline = {"base_url": stack.openai_base_url, "api_key": "offline"} if stack.offline else {}
        assistant = ShopAssistant(openai.OpenAI(**offline), openai.AsyncOpenAI(**offline))
        print("reply:", assistant.answer("Do you sell a city bike and a lock?"))


if __name__ == "__main__":
    main()
