"""The app under test in examples/testing: a tiny support bot on the openai SDK, traced with llmobs."""

from __future__ import annotations

import openai

import llmobs


class SupportBot:
    def __init__(self, client: openai.OpenAI) -> None:
        self.client = client

    @llmobs.workflow(name="support-bot")
    def answer(self, question: str) -> str:
        return self.reply(question, self.classify(question))

    @llmobs.task
    def classify(self, question: str) -> str:
        """A cheap, short call on the small model."""
        reply = self.client.chat.completions.create(model="gpt-4o-mini", temperature=0, max_tokens=5, messages=[
            {"role": "system", "content": "Classify the request as one word: order, repair or other."},
            {"role": "user", "content": question}])
        return (reply.choices[0].message.content or "").strip()

    @llmobs.task
    def reply(self, question: str, topic: str) -> str:
        """The answer, streamed (with the usage chunk, so the span has tokens and cost)."""
        parts = []
        stream = self.client.chat.completions.create(
            model="gpt-4.1-mini", stream=True, stream_options={"include_usage": True},
            messages=[{"role": "system", "content": f"You answer questions about {topic} for a bicycle shop."},
                      {"role": "user", "content": question}])
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
        return "".join(parts)


def main() -> None:
    llmobs.instrument(service_name="support-bot")  # at startup: export to OTEL_EXPORTER_OTLP_ENDPOINT
    print(SupportBot(openai.OpenAI()).answer("My order A-1042 has not arrived, where is it?"))
    llmobs.shutdown()


if __name__ == "__main__":
    main()
