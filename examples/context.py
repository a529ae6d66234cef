"""Users, sessions, tags and metadata with ``llmobs.context(...)``: every span started inside, the LLM spans
of the openai integration included, carries ``user.id``, ``session.id``, ``llmobs.tags`` and
``llmobs.metadata.<key>``. Contexts nest (inner values win, tags add up) and follow ``await`` and tasks.
The collector can then report per user (``llmobs report --group-by user``).

    pip install 'llmobs[openai]'
    python examples/context.py

Offline without OPENAI_API_KEY.
"""

from __future__ import annotations

import asyncio

import openai
from _offline import local_stack

import llmobs


@llmobs.workflow(name="support-turn")
async def handle(client: openai.AsyncOpenAI, message: str) -> str:
    reply = await client.chat.completions.create(model="gpt-4o-mini",
                                                 messages=[{"role": "user", "content": message}])
    return reply.choices[0].message.content or ""


async def serve(client: openai.AsyncOpenAI) -> None:
    # Two users talk at the same time, each request in its own asyncio task: contexts do not mix.
    async def conversation(user: str, session: str, plan: str, messages: list[str]) -> None:
        with llmobs.context(user_id=user, session_id=session, tags=["web"], metadata={"plan": plan}):
            for turn, message in enumerate(messages, 1):
                with llmobs.context(tags=[f"turn-{turn}"]):  # nested: tags add up
                    print(f"{user}: {message!r} -> {await handle(client, message)!r}")

    await asyncio.gather(
        conversation("alice", "s-100", "pro", ["Is my order shipped?", "Thanks! When does it arrive?"]),
        conversation("bob", "s-200", "free", ["Do you repair e-bikes?"]),
    )


def main() -> None:
    with local_stack("context-example", traces=None, report_by=("user", "session"),
                     details=("user.id", "session.id", "llmobs.tags", "llmobs.metadata.plan")) as stack:
        offline = {"base_url": stack.openai_base_url, "api_key": "offline"} if stack.offline else {}
        asyncio.run(serve(openai.AsyncOpenAI(**offline)))


if __name__ == "__main__":
    main()
