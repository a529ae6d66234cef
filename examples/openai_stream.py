"""Streaming chat completions with the openai SDK, traced by llmobs: time to first token, the stream's usage.

    pip install 'llmobs[openai]'
    python examples/openai_stream.py

The span of a stream ends when the stream does (exhausted, closed, or broken out of), and carries
``gen_ai.response.time_to_first_chunk``. Token counts come from the usage chunk, which the API sends only
when asked: ``stream_options={"include_usage": True}`` (llmobs never changes your request, and never guesses
tokens). The SDK's ``chat.completions.stream()`` helper is traced too. Offline without OPENAI_API_KEY.
"""

from __future__ import annotations

import openai
from _offline import local_stack

QUESTION = [{"role": "user", "content": "Describe a good commuter bicycle in one sentence."}]


def main() -> None:
    with local_stack("openai-stream-example", traces=None) as stack:
        offline = {"base_url": stack.openai_base_url, "api_key": "offline"} if stack.offline else {}
        client = openai.OpenAI(**offline)

        # 1. create(stream=True): ask for the usage chunk, so the span has tokens and cost.
        chunks, text = 0, []
        stream = client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, stream=True,
                                                stream_options={"include_usage": True})
        for chunk in stream:
            chunks += 1
            if chunk.choices and chunk.choices[0].delta.content:  # the usage chunk has no choices
                text.append(chunk.choices[0].delta.content)
        print(f"create(stream=True): {chunks} chunks: {''.join(text)}")

        # 2. the stream() helper: events, then the final completion, exactly as without llmobs.
        with client.chat.completions.stream(model="gpt-4.1-mini", messages=QUESTION,
                                            stream_options={"include_usage": True}) as helper:
            for event in helper:
                if event.type == "content.delta":
                    pass  # e.g. forward event.delta to the browser
            final = helper.get_final_completion()
        print(f"stream() helper: {final.choices[0].message.content}")

        # 3. without include_usage the API sends no token counts: the span has timing, but no tokens or cost.
        for _ in client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, stream=True):
            pass
        print("stream without include_usage: done (no usage chunk, so no tokens on its span)")


if __name__ == "__main__":
    main()
