"""Chat completions with the openai SDK, traced by llmobs: one span per call, with tokens, cost and latency.

    pip install 'llmobs[openai]'
    python examples/openai_chat.py

Offline (no OPENAI_API_KEY): the real openai SDK talks to llmobs's fake LLM server and the bundled collector
prints what it stored. With OPENAI_API_KEY set, the same code calls OpenAI and exports to
OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318, e.g. ``llmobs collector``).
"""

from __future__ import annotations

import asyncio

import openai
from _offline import local_stack

MESSAGES = [
    {"role": "system", "content": "You are a terse assistant for a bicycle shop."},
    {"role": "user", "content": "Which tyre pressure suits a city bike?"},
]


def main() -> None:
    # capture_content=True opts in to recording prompts and replies (off by default: see docs/privacy.md).
    with local_stack("openai-chat-example", traces=None, capture_content=True,
                     details=("gen_ai.request.temperature", "gen_ai.response.finish_reasons",
                              "gen_ai.output.messages")) as stack:
        offline = {"base_url": stack.openai_base_url, "api_key": "offline"} if stack.offline else {}
        client = openai.OpenAI(**offline)

        # A plain call: nothing llmobs-specific in the app's code.
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, temperature=0.2,
                                               max_tokens=80)
        usage = reply.usage
        print(f"sync:  {reply.choices[0].message.content}")
        print(f"       the SDK reported {usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens"
              if usage else "")

        # The async client is traced the same way.
        async def ask_async() -> str:
            async with openai.AsyncOpenAI(**offline) as aclient:
                areply = await aclient.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
                return areply.choices[0].message.content or ""

        print(f"async: {asyncio.run(ask_async())}")


if __name__ == "__main__":
    main()
