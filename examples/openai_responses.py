"""The OpenAI Responses API, traced by llmobs: a reasoning model (its reasoning tokens recorded as a subset of
output tokens and priced), and a streamed response (typed events, usage from ``response.completed``).

    pip install 'llmobs[openai]'
    python examples/openai_responses.py

Offline without OPENAI_API_KEY (the fake LLM server speaks the Responses wire format).
"""

from __future__ import annotations

import openai
from _offline import local_stack


def main() -> None:
    with local_stack("openai-responses-example", traces=None,
                     details=("gen_ai.request.reasoning.level", "gen_ai.usage.reasoning.output_tokens",
                              "gen_ai.response.finish_reasons")) as stack:
        offline = {"base_url": stack.openai_base_url, "api_key": "offline"} if stack.offline else {}
        client = openai.OpenAI(**offline)

        # A reasoning model: usage.output_tokens_details.reasoning_tokens -> gen_ai.usage.reasoning.output_tokens
        response = client.responses.create(
            model="o4-mini", reasoning={"effort": "low"},
            instructions="Answer in one sentence.", input="Why do bicycle chains need oil?",
        )
        details = response.usage.output_tokens_details if response.usage else None
        print(f"create: {response.output_text}")
        print(f"        reasoning tokens reported by the API: {details.reasoning_tokens if details else None}")

        # A stream of typed events; the span ends with the stream, usage read from response.completed.
        with client.responses.stream(model="gpt-4.1-mini", input="Name one benefit of disc brakes.") as stream:
            for event in stream:
                if event.type == "response.output_text.delta":
                    pass  # e.g. forward event.delta to the browser
            final = stream.get_final_response()
        print(f"stream: {final.output_text}")


if __name__ == "__main__":
    main()
