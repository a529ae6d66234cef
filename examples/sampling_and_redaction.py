"""Tail sampling, content capture and redaction together, as a production setup might use them.

* **Tail sampling** (``tail_sampling=True``): a trace is exported, all of it, once it has ended, if it had an
  error, cost at least ``tail_sampling_cost_usd``, or lasted at least ``tail_sampling_latency_s``; of the
  other traces only ``tail_sampling_ratio`` are kept (0 here, to make the point). Metrics still count every
  call.
* **Content capture** (``capture_content=True``): prompts and replies are recorded, after
* **redaction**: the built-in ``emails`` and ``api_keys`` redactors chained with your own hook; every
  captured string goes through it before export.
* ``with llmobs.capture_content(False):`` opts one request out of capture entirely.

    pip install 'llmobs[openai]'
    python examples/sampling_and_redaction.py

Offline without OPENAI_API_KEY: four requests, three traces kept (costly, failed, costly-and-private), the
cheap one dropped; no email, key or order number in what the collector stored.
"""

from __future__ import annotations

import re

import openai
from _offline import local_stack

import llmobs
from llmobs import redactors

CONTRACT = " ".join(f"Clause {i}: the rider keeps the bicycle in good repair and returns it on time."
                    for i in range(1, 61))  # a long prompt: this call costs more than the threshold


def hide_order_numbers(text: str, field: str) -> str:
    """Your own rule, chained after the built-ins: order numbers are personal data here."""
    return re.sub(r"\bA-\d{4,}\b", "[order]", text)


@llmobs.workflow(name="support-request")
def handle(client: openai.OpenAI, model: str, message: str) -> str:
    try:
        reply = client.chat.completions.create(model=model, messages=[{"role": "user", "content": message}])
        return reply.choices[0].message.content or ""
    except openai.APIError as exc:  # the app copes; the span is ERROR and the trace is kept
        return f"(failed: {type(exc).__name__})"


def main() -> None:
    with local_stack(
        "sampling-redaction-example", traces=None, details=("gen_ai.input.messages", "error.type"),
        tail_sampling=True, tail_sampling_ratio=0.0, tail_sampling_cost_usd=0.001, tail_sampling_latency_s=30,
        capture_content=True, max_content_length=240,  # captured fields are cut, visibly, past 240 characters
        redact=redactors.chain(redactors.emails, redactors.api_keys, hide_order_numbers),
    ) as stack:
        offline = {"base_url": stack.openai_base_url, "api_key": "offline"} if stack.offline else {}
        client = openai.OpenAI(max_retries=0, **offline)

        # 1. costly (a long contract, on gpt-4.1): kept; the email, the key and the order number are redacted
        handle(client, "gpt-4.1", "I am jane.doe@example.com, order A-10442, my key is "
                                  "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789. Summarise:\n" + CONTRACT)
        # 2. cheap and fine: dropped by the ratio (0)
        handle(client, "gpt-4o-mini", "Hello!")
        # 3. fails (offline the fake server answers 500 for this model name): errors are always kept
        handle(client, "gpt-4o-mini-error-500" if stack.offline else "no-such-model", "Hello again!")
        # 4. costly but private: kept, and nothing of its content is recorded
        with llmobs.capture_content(False):
            handle(client, "gpt-4.1", "My card is 4111 1111 1111 1111. Summarise:\n" + CONTRACT)
        print("sent 4 requests: costly+redacted, cheap, failing, costly+private")


if __name__ == "__main__":
    main()
