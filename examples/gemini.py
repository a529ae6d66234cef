"""Google Gemini with the google-genai SDK, traced by llmobs: generate_content, a stream and a chat; thinking
tokens recorded as ``gen_ai.usage.reasoning.output_tokens`` and priced, provider ``gcp.gemini``.

    pip install 'llmobs[google-genai]'
    python examples/gemini.py

Offline (neither GEMINI_API_KEY nor GOOGLE_API_KEY set) the SDK talks to llmobs's fake LLM server, which
speaks the Gemini API. With a key set, the same code calls Google AI Studio.
"""

from __future__ import annotations

from _offline import local_stack
from google import genai
from google.genai import types

MODEL = "gemini-2.5-flash"


def main() -> None:
    with local_stack("gemini-example", ("GEMINI_API_KEY", "GOOGLE_API_KEY"), traces=None,
                     details=("gen_ai.usage.reasoning.output_tokens", "gen_ai.request.max_tokens")) as stack:
        if stack.offline:
            client = genai.Client(api_key="offline", http_options=types.HttpOptions(base_url=stack.fake_url))
        else:
            client = genai.Client()  # reads GEMINI_API_KEY / GOOGLE_API_KEY

        reply = client.models.generate_content(
            model=MODEL, contents="Suggest a name for a bicycle repair cafe.",
            config=types.GenerateContentConfig(max_output_tokens=400),
        )
        print(f"generate_content: {reply.text}")
        usage = reply.usage_metadata
        if usage:
            print(f"  API usage: prompt={usage.prompt_token_count} candidates={usage.candidates_token_count} "
                  f"thoughts={usage.thoughts_token_count}")

        parts = [chunk.text or "" for chunk in client.models.generate_content_stream(
            model=MODEL, contents="One tip for riding in the rain?")]
        print(f"generate_content_stream: {len(parts)} chunks: {''.join(parts)}")

        chat = client.chats.create(model=MODEL)  # a chat is one span per send_message
        chat.send_message("Hi, I need a new bell.")
        print(f"chat: {chat.send_message('A loud one, please.').text}")


if __name__ == "__main__":
    main()
