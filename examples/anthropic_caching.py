"""Anthropic prompt caching, traced by llmobs: the same long system prompt sent twice with a
``cache_control`` breakpoint. The first call writes the cache, the second reads it; llmobs records both as
``gen_ai.usage.cache_write.input_tokens`` / ``cache_read.input_tokens`` (included in input tokens, as the
conventions say) and prices each part at its own rate, so the second call costs a fraction of the first.

    pip install 'llmobs[anthropic]'
    python examples/anthropic_caching.py

Offline (no ANTHROPIC_API_KEY) the real anthropic SDK talks to the fake LLM server, which caches prefixes of
at least 1024 tokens as the API does. With ANTHROPIC_API_KEY set, the same code calls Anthropic.
"""

from __future__ import annotations

import anthropic
from _offline import local_stack

MODEL = "claude-sonnet-4-6"
# Long enough to be cached (the API caches prefixes of 1024 tokens and more).
POLICY = " ".join(f"Rule {i}: be kind, be precise, quote the order number, and never promise a refund date."
                  for i in range(1, 101))
SYSTEM = [{"type": "text", "text": f"You answer for a bicycle shop.\n{POLICY}", "cache_control": {"type": "ephemeral"}}]


def main() -> None:
    with local_stack("anthropic-caching-example", "ANTHROPIC_API_KEY", traces=None,
                     details=("gen_ai.usage.cache_write.input_tokens", "gen_ai.usage.cache_read.input_tokens",
                              "llmobs.cost.total_usd")) as stack:
        offline = {"base_url": stack.fake_url, "api_key": "offline"} if stack.offline else {}
        client = anthropic.Anthropic(**offline)

        for question in ("Where is order A-17?", "Can I return a helmet?"):
            reply = client.messages.create(model=MODEL, max_tokens=200, system=SYSTEM,
                                           messages=[{"role": "user", "content": question}])
            u = reply.usage
            print(f"{question} -> {reply.content[0].text}")
            print(f"  API usage: input={u.input_tokens} cache_creation={u.cache_creation_input_tokens} "
                  f"cache_read={u.cache_read_input_tokens} output={u.output_tokens}")

        # Streams are traced too; the cache is read here as well.
        with client.messages.stream(model=MODEL, max_tokens=200, system=SYSTEM,
                                    messages=[{"role": "user", "content": "Do you fix brakes?"}]) as stream:
            print(f"stream -> {stream.get_final_text()}")


if __name__ == "__main__":
    main()
