"""Scores and user feedback with ``llmobs.score``: an automatic evaluation attached while the request runs,
and a thumbs-up that arrives later (from a feedback form) by trace and span id. Each score is exported as a
``score <name>`` span in the target's trace, with ``gen_ai.evaluation.score.value`` / ``.label`` and
``gen_ai.evaluation.explanation``, so it sits next to the answer it judges in any backend.

    pip install 'llmobs[openai]'
    python examples/scores.py

Offline without OPENAI_API_KEY.
"""

from __future__ import annotations

import openai
from _offline import local_stack
from opentelemetry import trace

import llmobs


def grade(question: str, answer: str) -> float:
    """A toy evaluator: the share of the question's words the answer repeats (use your own, or an LLM judge)."""
    asked = {w.strip("?.,!").lower() for w in question.split()}
    return round(len(asked & {w.strip('?.,!"').lower() for w in answer.split()}) / len(asked), 2)


@llmobs.workflow(name="answer")
def answer(client: openai.OpenAI, question: str) -> tuple[str, str, str]:
    """Answer, self-grade, and return the ids a feedback form needs to score this answer later."""
    reply = client.chat.completions.create(model="gpt-4o-mini",
                                           messages=[{"role": "user", "content": question}])
    text = reply.choices[0].message.content or ""
    # Attached to the current span (this workflow): a numeric value with an explanation.
    llmobs.score("relevance", grade(question, text), comment="share of the question's words in the answer")
    ids = trace.get_current_span().get_span_context()
    return text, format(ids.trace_id, "032x"), format(ids.span_id, "016x")


def main() -> None:
    with local_stack("scores-example", details=("gen_ai.evaluation.score.value", "gen_ai.evaluation.score.label",
                                                "gen_ai.evaluation.explanation")) as stack:
        offline = {"base_url": stack.openai_base_url, "api_key": "offline"} if stack.offline else {}
        client = openai.OpenAI(**offline)
        text, trace_id, span_id = answer(client, "How often should I oil my bicycle chain?")
        print(f"answer: {text}\n  trace {trace_id}, span {span_id}")

        # ...later, the user clicks a thumb: score that answer by its ids (strings from your database).
        ok = llmobs.score("user-feedback", label="thumbs-up", comment="clear and quick",
                          trace_id=trace_id, span_id=span_id)
        print(f"feedback recorded: {ok}")


if __name__ == "__main__":
    main()
